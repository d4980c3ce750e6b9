//! What happens to test packets after the receiver has them: the nftables rule that drops
//! the test flow at netdev ingress, right after the packet tap.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::experiment::Error;
use crate::net::validate_interface_name;

/// An nftables table in the receiving namespace dropping the test flow at netdev ingress,
/// after the packet tap; removed when dropped.
#[derive(Debug)]
pub struct IngressDrop<'a> {
    ns: &'a str,
}

/// The nft table the runner's and the benchmark's ingress drop live in.
pub const FATE_TABLE: &str = "pktmmap_fate";

/// The nft rules (for `nft -f -`) of table [`FATE_TABLE`]: at netdev ingress of `interface`,
/// after the packet tap, count and drop UDP to `port`; with `udp_len`, only datagrams of at
/// least that UDP length (header and payload), so that a tool's own small control datagrams
/// (iperf3's) still pass while GSO super-packets of test datagrams (whose UDP length covers
/// every segment) are dropped too. The one place the rule is written: the runner, the benchmark and the scripts
/// (through `pktmmap fate-rule`) all use it.
pub fn drop_rules(interface: &str, port: u16, udp_len: Option<usize>) -> Result<String, Error> {
    validate_interface_name(interface).map_err(|e| Error::Request(e.to_string()))?;
    let length = udp_len.map_or(String::new(), |l| format!(" udp length >= {l}"));
    Ok(format!(
        "table netdev {FATE_TABLE} {{\n chain ingress {{\n  type filter hook ingress device \"{interface}\" priority 0; policy accept;\n  udp dport {port}{length} counter drop\n }}\n}}\n"
    ))
}

impl<'a> IngressDrop<'a> {
    /// Drops UDP to `port`; with `udp_len`, only datagrams of at least that UDP length (header
    /// and payload), so that a tool's own small control datagrams (iperf3's) still pass.
    pub fn install(
        ns: &'a str,
        interface: &str,
        port: u16,
        udp_len: Option<usize>,
    ) -> Result<Self, Error> {
        validate_interface_name(interface).map_err(|e| Error::Request(e.to_string()))?;
        if !Path::new("/run/netns").join(ns).exists() {
            // A swarm task on another machine: its namespace cannot be entered from here.
            return Err(Error::Request(format!(
                "--fate ingress-drop sets its nft rule in the receiver's network namespace from this host, and there is no namespace {ns} here (does the receiver run on another machine?)"
            )));
        }
        let rules = drop_rules(interface, port, udp_len)?;
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Tool(format!("cannot run nft (apt-get install nftables): {e}")))?;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(rules.as_bytes())
            .map_err(|e| Error::Tool(format!("nft: {e}")))?;
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Tool(format!("nft: {e}")))?;
        if !out.status.success() {
            return Err(Error::Tool(format!(
                "nft ingress drop: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(Self { ns })
    }

    /// Packets the rule has dropped so far (its nft counter).
    pub fn dropped(&self) -> Result<u64, Error> {
        let out = Command::new("ip")
            .args([
                "netns", "exec", self.ns, "nft", "list", "table", "netdev", FATE_TABLE,
            ])
            .output()
            .map_err(|e| Error::Tool(format!("nft: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        parse_counter(&text)
            .ok_or_else(|| Error::Tool(format!("no counter in the nft table: {text}")))
    }
}

/// The packet count of the first `counter packets N bytes M` in nft's listing.
fn parse_counter(listing: &str) -> Option<u64> {
    let rest = &listing[listing.find("counter packets ")? + "counter packets ".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

impl Drop for IngressDrop<'_> {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args([
                "netns", "exec", self.ns, "nft", "delete", "table", "netdev", FATE_TABLE,
            ])
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drop_rule_names_the_device_port_and_length_and_refuses_a_bad_name() {
        let r = drop_rules("pkm1b", 9000, Some(72)).unwrap();
        assert!(r.starts_with("table netdev pktmmap_fate {"), "{r}");
        assert!(r.contains("hook ingress device \"pkm1b\""), "{r}");
        assert!(
            r.contains("udp dport 9000 udp length >= 72 counter drop"),
            "{r}"
        );
        assert!(!drop_rules("pkm1b", 9000, None).unwrap().contains("length"));
        let e = drop_rules("a\"; flush ruleset", 9000, None).unwrap_err();
        assert!(matches!(e, Error::Request(_)), "{e:?}");
    }

    #[test]
    fn the_drop_rules_counter_is_read_from_nfts_listing() {
        let listing = "table netdev pktmmap_fate {\n\tchain ingress {\n\t\ttype filter hook ingress device \"pkt1b\" priority filter; policy accept;\n\t\tudp dport 9000 counter packets 5000 bytes 530000 drop\n\t}\n}\n";
        assert_eq!(parse_counter(listing), Some(5000));
        assert_eq!(parse_counter("table netdev x {}"), None);
    }

    #[test]
    fn an_ingress_drop_in_a_namespace_not_on_this_host_is_refused_saying_why() {
        let e = IngressDrop::install("pktmmap-no-such-ns", "pkm0", 9000, None).unwrap_err();
        assert!(matches!(e, Error::Request(_)), "{e:?}");
        let e = e.to_string();
        assert!(e.contains("no namespace pktmmap-no-such-ns here"), "{e}");
    }
}
