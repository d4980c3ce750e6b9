//! Network namespaces for a test: a private copy of the native set-up, and `ip`.

use super::*;
/// Runs `ip` with `args`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The namespaces of the [`VethPair`]s this test process holds now: not leftovers.
static HELD: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The namespaces of the pairs alive in this process.
pub fn held_namespaces() -> Vec<String> {
    HELD.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A private copy of the `native` set-up, brought up by its script
/// (`experiments/setups/native.sh`, with `PKTMMAP_NS_PREFIX` naming this copy's namespaces):
/// namespaces `tx` and `rx` joined by a veth pair, `pkm0` 10.77.1.1/24 and 10.77.1.2/24.
/// Torn down by the script on drop, also when the test fails.
pub struct VethPair {
    pub tx_ns: String,
    pub rx_ns: String,
    pub tx_if: String,
    pub rx_if: String,
    pub tx_ip: String,
    pub rx_ip: String,
    pub tx_ip6: String,
    pub rx_ip6: String,
    prefix: String,
}

const NATIVE_SH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/setups/native.sh");

fn native_sh(prefix: &str, verb: &str, queues: u32) -> Output {
    let out = Command::new("bash")
        .args([NATIVE_SH, verb])
        .env("PKTMMAP_NS_PREFIX", prefix)
        .env("PKTMMAP_QUEUES", queues.to_string())
        .env_remove("PKTMMAP_RPS")
        .output()
        .expect("run native.sh");
    assert!(
        out.status.success(),
        "native.sh {verb} ({prefix}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl VethPair {
    pub fn new() -> Self {
        Self::with_queues(1)
    }

    /// A private native set-up whose veth ends have `queues` transmit and receive queues each.
    pub fn with_queues(queues: u32) -> Self {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("pktmmap-t{}{n}", std::process::id() % 100_000);
        native_sh(&prefix, "up", queues);
        // Read with the runner's own parser: unknown or missing keys fail here too.
        let text = String::from_utf8_lossy(&native_sh(&prefix, "env", queues).stdout).into_owned();
        let env = pktmmap::experiment::place::setup::parse_env(&text)
            .unwrap_or_else(|e| panic!("native.sh env: {e}: {text}"));
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend([env.tx_ns.clone(), env.rx_ns.clone()]);
        VethPair {
            tx_ns: env.tx_ns,
            rx_ns: env.rx_ns,
            tx_if: env.tx_if,
            rx_if: env.rx_if,
            tx_ip: env.tx_ip,
            rx_ip: env.rx_ip,
            tx_ip6: env.tx_ip6.expect("native.sh is dual-stack"),
            rx_ip6: env.rx_ip6.expect("native.sh is dual-stack"),
            prefix,
        }
    }

    /// A command running `tool` inside namespace `ns`.
    pub fn cmd(ns: &str, tool: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, tool]).args(args);
        c
    }

    /// Turns IPv6 off on the sending device, so that nothing but a test's own frames leaves
    /// it: the set-up's MLD reports and router solicitations go out at random times in its
    /// first seconds (CI once counted one among 1,000 frames). For IPv4 tests that count
    /// every frame the device passes.
    pub fn quiet_sender(&self) {
        let o = Self::cmd(
            &self.tx_ns,
            "sysctl",
            &[
                "-w",
                &format!("net.ipv6.conf.{}.disable_ipv6=1", self.tx_if),
            ],
        )
        .output()
        .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Not native_sh(): a failed tear-down must not panic inside a panicking test.
        let _ = Command::new("bash")
            .args([NATIVE_SH, "down"])
            .env("PKTMMAP_NS_PREFIX", &self.prefix)
            .output();
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n| *n != self.tx_ns && *n != self.rx_ns);
    }
}
