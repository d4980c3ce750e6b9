//! What a results row records about a run, as types: which app, which receive-side fate,
//! which engine, and how the run ended. Each serialises as its CSV name and parses from the
//! command line under the same name.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Defines a kind: the enum with its derives (serde under its CSV name) and `as_str`/Display.
macro_rules! kind {
    ($(#[$m:meta])* pub enum $t:ident { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[derive(Serialize, Deserialize)]
        pub enum $t {
            $($(#[$vm])* #[serde(rename = $s)] $v),+
        }
        impl $t {
            /// The name in the CSV and on the command line.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),+ }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

kind! {
    /// Which pair of tools a run uses.
    #[derive(clap::ValueEnum)]
    pub enum App {
        /// mmap-tx and mmap-rx.
        #[default]
        Mmap => "mmap",
        /// udp-tx and udp-rx.
        Udp => "udp",
        /// xdp-tx and xdp-rx (AF_XDP).
        Xdp => "xdp",
        /// The strongest socket path: udp-tx with UDP GSO and sendmmsg(), udp-rx with UDP_GRO
        /// and recvmmsg().
        UdpGso => "udp-gso",
        /// mmap-tx sending GSO super-packets through its TX ring, into mmap-rx.
        MmapGso => "mmap-gso",
    }
}

kind! {
    /// What happens to test packets in the receiving namespace after the receiver has them.
    ///
    /// On veth the receiving namespace's softirq runs on the sending core, so this changes the
    /// sender's rate; it is recorded in every row, and runs under different fates must not be
    /// compared without saying so.
    #[derive(clap::ValueEnum)]
    pub enum Fate {
        /// The kernel stack also processes every captured packet (IP, UDP, a closed port).
        #[default]
        Stack => "stack",
        /// An nftables netdev ingress rule drops the test flow right after the packet tap, as
        /// a real bypass would leave the stack alone.
        IngressDrop => "ingress-drop",
        /// The packets end in the receiving UDP socket (every udp run; not a choice).
        #[value(skip)]
        Socket => "socket",
        /// xdp-rx's program redirects the test flow into its socket before the stack sees it
        /// (every xdp run; not a choice).
        #[value(skip)]
        XdpRedirect => "xdp-redirect",
    }
}

kind! {
    /// Where the tools run.
    #[derive(clap::ValueEnum)]
    pub enum Engine {
        /// Network namespaces made by `ip netns`; no Docker needed.
        #[default]
        Netns => "netns",
        /// Docker containers of the `pktmmap` image on Docker networks (or OVS ports).
        Docker => "docker",
        /// Docker Swarm services of the `pktmmap` image, placed on chosen nodes, on swarm
        /// overlay and macvlan networks.
        Swarm => "swarm",
    }
}

kind! {
    /// The IP version of a run's test traffic.
    pub enum Family {
        /// IPv4 (the set-ups' 10.77.N.0/24).
        #[default]
        V4 => "ipv4",
        /// IPv6 (the set-ups' ULA fd00:77:N::/64).
        V6 => "ipv6",
    }
}

impl Family {
    /// The same IP version as the frame builders know it.
    pub fn wire(self) -> crate::wire::ip::Family {
        match self {
            Family::V4 => crate::wire::ip::Family::V4,
            Family::V6 => crate::wire::ip::Family::V6,
        }
    }
}

/// The name a set-up goes by in tables and charts: its own for IPv4 (as before families
/// were recorded), `<set-up> ipv6` for IPv6, so that the two are never drawn or compared as one.
pub fn setup_label(setup: &str, family: Family) -> String {
    match family {
        Family::V4 => setup.to_string(),
        Family::V6 => format!("{setup} {family}"),
    }
}

/// The runner's `--family`: which IP versions every point runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Families {
    /// IPv4 only.
    #[default]
    #[value(name = "4")]
    V4,
    /// IPv6 only.
    #[value(name = "6")]
    V6,
    /// Both, alternating within every repetition of every point (IPv4 first).
    #[value(name = "both")]
    Both,
}

impl Families {
    /// The families, in the order each point runs them.
    pub fn list(self) -> &'static [Family] {
        match self {
            Families::V4 => &[Family::V4],
            Families::V6 => &[Family::V6],
            Families::Both => &[Family::V4, Family::V6],
        }
    }
}

kind! {
    /// How a run ended.
    pub enum Status {
        /// Both tools finished normally.
        Ok => "ok",
        /// Interrupted by the user: the figures cover only part of the run.
        Partial => "partial",
        /// A tool failed, or its summary is missing; see the reason.
        #[default]
        Failed => "failed",
        /// The set-up cannot exist on this machine; see the reason.
        Skipped => "skipped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_as_their_csv_names() {
        #[derive(Serialize, Deserialize)]
        struct R {
            a: App,
            f: Fate,
            e: Engine,
            s: Status,
            i: Family,
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(R {
            a: App::Udp,
            f: Fate::IngressDrop,
            e: Engine::Docker,
            s: Status::Skipped,
            i: Family::V6,
        })
        .unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text, "a,f,e,s,i\nudp,ingress-drop,docker,skipped,ipv6\n");
        let back: R = csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(back.f, Fate::IngressDrop);
        assert_eq!(App::Mmap.to_string(), "mmap");
        // Tables pad them like strings.
        assert_eq!(format!("[{:<8}]", Engine::Netns), "[netns   ]");
    }
}
