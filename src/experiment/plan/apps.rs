//! The registry of our tools and apps: the one place outside `src/tool/` that names a tool
//! binary, and the one table that says, per app, its sender and receiver, what each needs,
//! the fate its packets get regardless of what is asked, and its chart colour. The runner,
//! the benchmark, the charts and the set-up scripts' capabilities all read it; a new app is
//! one [`App`] variant and one row of [`APPS`].

use std::fmt;

use super::kinds::{App, Fate};

/// One of our six tool binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ToolBin {
    /// `mmap-tx`: a packet_mmap TX ring.
    MmapTx,
    /// `mmap-rx`: a packet_mmap RX ring.
    MmapRx,
    /// `udp-tx`: a UDP socket.
    UdpTx,
    /// `udp-rx`: a UDP socket.
    UdpRx,
    /// `xdp-tx`: an AF_XDP socket's TX ring.
    XdpTx,
    /// `xdp-rx`: an AF_XDP socket and its XDP program.
    XdpRx,
}

/// What a tool is pointed at: an interface (raw frames) or an address (a socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `--interface`: the tool sends or captures frames on a device.
    Interface,
    /// A socket address (`--dst-ip`, `--bind`): the kernel's routing picks the device.
    Address,
}

/// Capabilities a tool needs beyond none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: an ordinary UDP socket.
    Nothing,
    /// CAP_NET_RAW (a packet socket), dropped once the ring exists.
    NetRaw,
    /// CAP_NET_RAW plus what AF_XDP needs: CAP_BPF and CAP_NET_ADMIN to load and attach the
    /// program, CAP_IPC_LOCK (or a large RLIMIT_MEMLOCK) for the UMEM.
    Xdp,
}

impl ToolBin {
    /// Every tool, senders first.
    pub const ALL: [ToolBin; 6] = [
        ToolBin::MmapTx,
        ToolBin::UdpTx,
        ToolBin::XdpTx,
        ToolBin::MmapRx,
        ToolBin::UdpRx,
        ToolBin::XdpRx,
    ];

    /// The binary's file name.
    pub fn name(self) -> &'static str {
        match self {
            ToolBin::MmapTx => "mmap-tx",
            ToolBin::MmapRx => "mmap-rx",
            ToolBin::UdpTx => "udp-tx",
            ToolBin::UdpRx => "udp-rx",
            ToolBin::XdpTx => "xdp-tx",
            ToolBin::XdpRx => "xdp-rx",
        }
    }

    /// The plain app the tool belongs to (the GSO apps use the same binaries with options).
    pub fn app(self) -> App {
        match self {
            ToolBin::MmapTx | ToolBin::MmapRx => App::Mmap,
            ToolBin::UdpTx | ToolBin::UdpRx => App::Udp,
            ToolBin::XdpTx | ToolBin::XdpRx => App::Xdp,
        }
    }

    /// What the tool is pointed at.
    pub fn endpoint(self) -> Endpoint {
        match self {
            ToolBin::UdpTx | ToolBin::UdpRx => Endpoint::Address,
            _ => Endpoint::Interface,
        }
    }

    /// The capabilities it needs.
    pub fn needs(self) -> Needs {
        match self {
            ToolBin::UdpTx | ToolBin::UdpRx => Needs::Nothing,
            ToolBin::MmapTx | ToolBin::MmapRx => Needs::NetRaw,
            ToolBin::XdpTx | ToolBin::XdpRx => Needs::Xdp,
        }
    }

    /// Whether the tool can busy poll its socket (`--busy-poll`): xdp-rx. A packet socket's
    /// ring has no busy polling, and a UDP socket on veth gets no NAPI id to poll (veth
    /// hands its frames to the backlog, not to a NAPI of its own, unless XDP or GRO is on).
    pub fn busy_polls(self) -> bool {
        self == ToolBin::XdpRx
    }

    /// Whether the tool sends (else it receives).
    pub fn sends(self) -> bool {
        matches!(self, ToolBin::MmapTx | ToolBin::UdpTx | ToolBin::XdpTx)
    }

    /// Whether a receiver counts frames on a device (its summary has `kernel_packets` and
    /// its rows a receive mode), as opposed to datagrams read from a socket.
    pub fn counts_frames(self) -> bool {
        self.endpoint() == Endpoint::Interface
    }
}

impl fmt::Display for ToolBin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// One app: its two tools and their options, the fate it forces, its chart colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSpec {
    /// The app.
    pub app: App,
    /// Its sender.
    pub sender: ToolBin,
    /// Options the sender always gets (`--batch 8`).
    pub sender_options: &'static [&'static str],
    /// Datagrams per GSO super-packet the sender asks for (`--gso N`), as many as fit one UDP
    /// datagram at smaller sizes ([`AppSpec::gso_segments`]); `None`: no GSO.
    pub gso: Option<u16>,
    /// Its receiver.
    pub receiver: ToolBin,
    /// Options the receiver always gets (`--gro`).
    pub receiver_options: &'static [&'static str],
    /// The fate its packets get whatever `--fate` asks (a UDP socket consumes them; xdp-rx's
    /// program redirects them before the stack); `None`: the asked fate applies.
    pub fixed_fate: Option<Fate>,
    /// Whether the app bypasses the socket stack (packet_mmap, AF_XDP) or is a socket path:
    /// the ratio table sets each bypass against the plain and the strongest socket path.
    pub bypass: bool,
    /// Its colour in charts, RGB.
    pub colour: (u8, u8, u8),
}

/// Every app, in [`App`] order.
pub const APPS: [AppSpec; 5] = [
    AppSpec {
        app: App::Mmap,
        sender: ToolBin::MmapTx,
        sender_options: &[],
        gso: None,
        receiver: ToolBin::MmapRx,
        receiver_options: &[],
        fixed_fate: None,
        bypass: true,
        colour: (0x1f, 0x77, 0xb4),
    },
    AppSpec {
        app: App::Udp,
        sender: ToolBin::UdpTx,
        sender_options: &[],
        gso: None,
        receiver: ToolBin::UdpRx,
        receiver_options: &[],
        fixed_fate: Some(Fate::Socket),
        bypass: false,
        colour: (0xff, 0x7f, 0x0e),
    },
    AppSpec {
        app: App::Xdp,
        sender: ToolBin::XdpTx,
        sender_options: &[],
        gso: None,
        receiver: ToolBin::XdpRx,
        receiver_options: &[],
        fixed_fate: Some(Fate::XdpRedirect),
        bypass: true,
        colour: (0x2c, 0xa0, 0x2c),
    },
    AppSpec {
        app: App::UdpGso,
        sender: ToolBin::UdpTx,
        sender_options: &["--batch", "8"],
        gso: Some(GSO_SEGMENTS),
        receiver: ToolBin::UdpRx,
        receiver_options: &["--gro", "--batch", "8"],
        fixed_fate: Some(Fate::Socket),
        bypass: false,
        colour: (0xd6, 0x27, 0x28),
    },
    AppSpec {
        app: App::MmapGso,
        sender: ToolBin::MmapTx,
        sender_options: &[],
        gso: Some(GSO_SEGMENTS),
        receiver: ToolBin::MmapRx,
        receiver_options: &[],
        fixed_fate: None,
        bypass: true,
        colour: (0x94, 0x67, 0xbd),
    },
];

/// Datagrams per super-packet of the GSO apps: 64, as the kernel's udpgso_bench and QUIC
/// stacks send.
pub const GSO_SEGMENTS: u16 = 64;

/// The most UDP payload one IPv4 datagram carries, hence one GSO super-packet.
pub const MAX_UDP_PAYLOAD: usize = 65_507;

impl AppSpec {
    /// Datagrams per super-packet for payloads of `size` bytes: [`AppSpec::gso`], or as many
    /// as fit one UDP datagram; `None` without GSO or when fewer than two fit.
    pub fn gso_segments(&self, size: usize) -> Option<u16> {
        let fit = MAX_UDP_PAYLOAD / size.max(1);
        let n = usize::from(self.gso?).min(fit);
        (n >= 2).then_some(n as u16)
    }

    /// The sender's own options for payloads of `size` bytes: [`AppSpec::sender_options`],
    /// then `--gso N`.
    pub fn sender_extra(&self, size: usize) -> Vec<String> {
        let mut v: Vec<String> = self.sender_options.iter().map(|o| o.to_string()).collect();
        if let Some(n) = self.gso_segments(size) {
            v.extend(["--gso".to_string(), n.to_string()]);
        }
        v
    }

    /// The receiver's own options.
    pub fn receiver_extra(&self) -> Vec<String> {
        self.receiver_options
            .iter()
            .map(|o| o.to_string())
            .collect()
    }
}

impl App {
    /// Every app, in order.
    pub const ALL: [App; 5] = [App::Mmap, App::Udp, App::Xdp, App::UdpGso, App::MmapGso];

    /// The app's row of the registry.
    pub fn spec(self) -> &'static AppSpec {
        APPS.iter()
            .find(|s| s.app == self)
            .expect("every app has a row in APPS")
    }

    /// The sender and the receiver.
    pub fn tools(self) -> (ToolBin, ToolBin) {
        let s = self.spec();
        (s.sender, s.receiver)
    }
}

impl Fate {
    /// The fate a run of `app` gets when `self` is asked for (see [`AppSpec::fixed_fate`]).
    pub fn for_app(self, app: App) -> Fate {
        app.spec().fixed_fate.unwrap_or(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_app_has_one_row_whose_tools_belong_to_it() {
        for app in App::ALL {
            let s = app.spec();
            assert_eq!(s.app, app);
            assert!(s.sender.sends() && !s.receiver.sends(), "{app}");
            assert_eq!(s.sender.app(), s.receiver.app(), "{app}");
        }
        let names: std::collections::BTreeSet<&str> =
            ToolBin::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), 6, "six distinct binaries");
        assert_eq!(Fate::IngressDrop.for_app(App::Udp), Fate::Socket);
        assert_eq!(Fate::IngressDrop.for_app(App::Mmap), Fate::IngressDrop);
        assert_eq!(Fate::Stack.for_app(App::Xdp), Fate::XdpRedirect);
        assert_eq!(Fate::IngressDrop.for_app(App::UdpGso), Fate::Socket);
    }

    #[test]
    fn gso_apps_send_as_many_segments_as_fit_one_udp_datagram() {
        let s = App::MmapGso.spec();
        assert_eq!(s.sender_extra(64), ["--gso", "64"]);
        // 64 x 1024 B = 65,536 B is over 65,507 B: 63 fit.
        assert_eq!(s.gso_segments(1024), Some(63));
        assert_eq!(s.gso_segments(1472), Some(44));
        assert_eq!(
            s.gso_segments(40_000),
            None,
            "one does not make a super-packet"
        );
        assert_eq!(
            App::UdpGso.spec().sender_extra(1024),
            ["--batch", "8", "--gso", "63"]
        );
        assert_eq!(
            App::UdpGso.spec().receiver_extra(),
            ["--gro", "--batch", "8"]
        );
        assert!(App::Mmap.spec().sender_extra(64).is_empty());
        assert_eq!(App::Mmap.spec().gso_segments(64), None);
    }

    #[test]
    fn tool_names_are_the_binaries_cargo_builds() {
        let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .expect("Cargo.toml");
        let bins = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin");
        for t in ToolBin::ALL {
            let declared = manifest.contains(&format!("name = \"{}\"", t.name()));
            let file = bins.join(format!("{}.rs", t.name())).exists();
            assert!(declared || file, "{t} is not a binary of this crate");
        }
    }
}
