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

    /// The app the tool belongs to.
    pub fn app(self) -> App {
        match self {
            ToolBin::MmapTx | ToolBin::MmapRx => App::Mmap,
            ToolBin::UdpTx | ToolBin::UdpRx => App::Udp,
            ToolBin::XdpTx | ToolBin::XdpRx => App::Xdp,
        }
    }

    /// What the tool is pointed at.
    pub fn endpoint(self) -> Endpoint {
        match self.app() {
            App::Udp => Endpoint::Address,
            App::Mmap | App::Xdp => Endpoint::Interface,
        }
    }

    /// The capabilities it needs.
    pub fn needs(self) -> Needs {
        match self.app() {
            App::Udp => Needs::Nothing,
            App::Mmap => Needs::NetRaw,
            App::Xdp => Needs::Xdp,
        }
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

/// One app: its two tools, the fate it forces, its chart colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSpec {
    /// The app.
    pub app: App,
    /// Its sender.
    pub sender: ToolBin,
    /// Its receiver.
    pub receiver: ToolBin,
    /// The fate its packets get whatever `--fate` asks (a UDP socket consumes them; xdp-rx's
    /// program redirects them before the stack); `None`: the asked fate applies.
    pub fixed_fate: Option<Fate>,
    /// Its colour in charts, RGB.
    pub colour: (u8, u8, u8),
}

/// Every app, in [`App`] order.
pub const APPS: [AppSpec; 3] = [
    AppSpec {
        app: App::Mmap,
        sender: ToolBin::MmapTx,
        receiver: ToolBin::MmapRx,
        fixed_fate: None,
        colour: (0x1f, 0x77, 0xb4),
    },
    AppSpec {
        app: App::Udp,
        sender: ToolBin::UdpTx,
        receiver: ToolBin::UdpRx,
        fixed_fate: Some(Fate::Socket),
        colour: (0xff, 0x7f, 0x0e),
    },
    AppSpec {
        app: App::Xdp,
        sender: ToolBin::XdpTx,
        receiver: ToolBin::XdpRx,
        fixed_fate: Some(Fate::XdpRedirect),
        colour: (0x2c, 0xa0, 0x2c),
    },
];

impl App {
    /// Every app, in order.
    pub const ALL: [App; 3] = [App::Mmap, App::Udp, App::Xdp];

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
            assert_eq!((s.sender.app(), s.receiver.app()), (app, app));
        }
        let names: std::collections::BTreeSet<&str> =
            ToolBin::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), 6, "six distinct binaries");
        assert_eq!(Fate::IngressDrop.for_app(App::Udp), Fate::Socket);
        assert_eq!(Fate::IngressDrop.for_app(App::Mmap), Fate::IngressDrop);
        assert_eq!(Fate::Stack.for_app(App::Xdp), Fate::XdpRedirect);
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
