//! The command-line faces of the kernel-level option types: the TX and RX ring shapes and the
//! AF_XDP socket's shape as clap arguments, and the command-line values of the kernel-level
//! enums. `ring`, `xdp`, `pcap` and `sys` know nothing of clap; the tools turn what a user
//! typed into their plain types here.

use clap::builder::PossibleValue;
use clap::ValueEnum;

use crate::pcap::Format;
use crate::ring::{RxRingOptions, SkbLayout, TxRingOptions};
use crate::sys::TpacketVersion;
use crate::xdp::{BindMode, XdpMode, XskOptions};

/// A TX ring's shape and behaviour as a user gives them (mmap-tx's ring options).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct TxRingArgs {
    /// TX ring header version; v3 falls back to v2 (with a note) where the kernel lacks it.
    #[arg(long, value_enum, default_value_t = TxRingOptions::default().ring_version)]
    pub ring_version: TpacketVersion,
    /// Ring block size in bytes (a multiple of the page size) [default: 65536, grown to hold
    /// one frame]
    #[arg(long)]
    pub block_size: Option<u32>,
    /// Number of ring blocks.
    #[arg(long, default_value_t = TxRingOptions::default().block_count)]
    pub block_count: u32,
    /// Frame slot size in bytes (multiple of 16; must hold a full-MTU frame plus the header)
    /// [default: 2048, or what the interface's MTU needs (jumbo frames)]
    #[arg(long)]
    pub frame_size: Option<u32>,
    /// Total frames; if given, must equal block_size / frame_size * block_count.
    #[arg(long)]
    pub frame_count: Option<u32>,
    /// Bypass the qdisc layer (PACKET_QDISC_BYPASS).
    #[arg(long)]
    pub qdisc_bypass: bool,
    /// How the kernel builds each packet's skb from a ring frame. `linear` (a virtio_net_hdr
    /// before each frame) copies the frame into the skb head; `fragments` attaches ring pages,
    /// which veth and namespace crossings then copy again.
    #[arg(long, value_enum, default_value_t = TxRingOptions::default().skb)]
    pub skb: SkbLayout,
}

impl TxRingArgs {
    /// The ring options these arguments ask for.
    pub fn options(&self) -> TxRingOptions {
        TxRingOptions {
            ring_version: self.ring_version,
            block_size: self.block_size,
            block_count: self.block_count,
            frame_size: self.frame_size,
            frame_count: self.frame_count,
            qdisc_bypass: self.qdisc_bypass,
            skb: self.skb,
        }
    }
}

/// An RX ring's shape as a user gives it (mmap-rx's ring options).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct RxRingArgs {
    /// Ring block size in bytes (a multiple of the page size) [default: 1048576, grown to hold
    /// one frame]
    #[arg(long)]
    pub block_size: Option<u32>,
    /// Number of ring blocks.
    #[arg(long, default_value_t = RxRingOptions::default().block_count)]
    pub block_count: u32,
    /// Frame size in bytes (multiple of 16; must hold a full-MTU frame plus the header)
    /// [default: 2048, or what the interface's MTU needs (jumbo frames)]
    #[arg(long)]
    pub frame_size: Option<u32>,
    /// Total frames; if given, must equal block_size / frame_size * block_count.
    #[arg(long)]
    pub frame_count: Option<u32>,
    /// Milliseconds after which a partly filled block is handed over.
    #[arg(long, default_value_t = RxRingOptions::default().block_timeout_ms)]
    pub block_timeout_ms: u32,
}

impl RxRingArgs {
    /// The ring options these arguments ask for.
    pub fn options(&self) -> RxRingOptions {
        RxRingOptions {
            block_size: self.block_size,
            block_count: self.block_count,
            frame_size: self.frame_size,
            frame_count: self.frame_count,
            block_timeout_ms: self.block_timeout_ms,
        }
    }
}

/// An AF_XDP socket's shape as a user gives it (the xdp tools' options).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct XskArgs {
    /// Interface queue to bind (veth has one: 0).
    #[arg(long, default_value_t = XskOptions::default().queue)]
    pub queue: u32,
    /// UMEM frames (a power of two).
    #[arg(long, default_value_t = XskOptions::default().frames)]
    pub frames: u32,
    /// UMEM frame size in bytes: 2048 or 4096 (a power of two, at most the page size).
    #[arg(long, default_value_t = XskOptions::default().frame_size)]
    pub frame_size: u32,
    /// Entries in each ring (a power of two); as many as --frames lends the kernel every
    /// frame at once.
    #[arg(long, default_value_t = XskOptions::default().ring_size)]
    pub ring_size: u32,
    /// Copy or zero-copy.
    #[arg(long, value_enum, default_value_t = XskOptions::default().bind_mode)]
    pub bind_mode: BindMode,
}

impl XskArgs {
    /// The socket options these arguments ask for.
    pub fn options(&self) -> XskOptions {
        XskOptions {
            queue: self.queue,
            frames: self.frames,
            frame_size: self.frame_size,
            ring_size: self.ring_size,
            bind_mode: self.bind_mode,
        }
    }
}

/// `impl ValueEnum` for a kernel-level enum: each variant's command-line name and help.
macro_rules! command_line_values {
    ($ty:ty { $($variant:path => $name:literal: $help:literal),+ $(,)? }) => {
        impl ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($variant),+]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                // A pattern per variant: the compiler checks that every one is listed.
                let (name, help) = match self {
                    $($variant => ($name, $help),)+
                };
                Some(PossibleValue::new(name).help(help))
            }
        }
    };
}

command_line_values!(TpacketVersion {
    TpacketVersion::V2 => "v2": "TPACKET_V2: fixed-size frames, one status word per frame",
    TpacketVersion::V3 => "v3": "TPACKET_V3: variable-size packets packed into blocks on RX; fixed frames on TX (>= 4.11)",
});

command_line_values!(SkbLayout {
    SkbLayout::Fragments => "fragments": "The kernel's default: the link-layer header is copied into the skb head and the rest is attached as fragments pointing at the ring's pages; forwarding the skb to another namespace must then copy them",
    SkbLayout::Linear => "linear": "Every frame is prefixed with a virtio_net_hdr (PACKET_VNET_HDR) whose hdr_len covers the whole frame, so the kernel copies the frame into the skb head: one small copy and no page references",
});

command_line_values!(BindMode {
    BindMode::Auto => "auto": "Zero-copy if the driver supports it, otherwise copy",
    BindMode::Copy => "copy": "Copy mode (XDP_COPY): frames are copied between the UMEM and the kernel's buffers",
    BindMode::ZeroCopy => "zero-copy": "Zero-copy mode (XDP_ZEROCOPY): refused where the driver lacks it",
});

command_line_values!(XdpMode {
    XdpMode::Auto => "auto": "Native where the driver supports it, else generic (with a note)",
    XdpMode::Native => "native": "In the driver, before an skb exists (veth supports it)",
    XdpMode::Generic => "generic": "On the skb, after the driver (works on any interface; slower)",
});

command_line_values!(Format {
    Format::Pcap => "pcap": "Classic pcap with nanosecond timestamps (magic a1b23c4d)",
    Format::Pcapng => "pcapng": "pcapng, one interface with if_tsresol 9 (nanoseconds)",
});

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Tx {
        #[command(flatten)]
        tx: TxRingArgs,
    }

    #[derive(Debug, clap::Parser)]
    struct Xsk {
        #[command(flatten)]
        xsk: XskArgs,
    }

    #[derive(Debug, clap::Parser)]
    struct Rx {
        #[command(flatten)]
        rx: RxRingArgs,
    }

    #[test]
    fn no_options_give_the_kernel_level_defaults() {
        let tx = Tx::try_parse_from(["t"]).unwrap().tx.options();
        assert_eq!(tx, TxRingOptions::default());
        let xsk = Xsk::try_parse_from(["t"]).unwrap().xsk.options();
        assert_eq!(xsk, XskOptions::default());
        let rx = Rx::try_parse_from(["t"]).unwrap().rx.options();
        assert_eq!(rx, RxRingOptions::default());
    }

    #[test]
    fn every_field_reaches_the_kernel_level_options() {
        let tx = Tx::try_parse_from([
            "t",
            "--ring-version",
            "v2",
            "--block-size",
            "131072",
            "--block-count",
            "7",
            "--frame-size",
            "4096",
            "--frame-count",
            "224",
            "--qdisc-bypass",
            "--skb",
            "fragments",
        ])
        .unwrap()
        .tx
        .options();
        assert_eq!(
            tx,
            TxRingOptions {
                ring_version: TpacketVersion::V2,
                block_size: Some(131072),
                block_count: 7,
                frame_size: Some(4096),
                frame_count: Some(224),
                qdisc_bypass: true,
                skb: SkbLayout::Fragments,
            }
        );
        let xsk = Xsk::try_parse_from([
            "t",
            "--queue",
            "3",
            "--frames",
            "1024",
            "--frame-size",
            "4096",
            "--ring-size",
            "512",
            "--bind-mode",
            "zero-copy",
        ])
        .unwrap()
        .xsk
        .options();
        assert_eq!(
            (xsk.queue, xsk.frames, xsk.frame_size, xsk.ring_size),
            (3, 1024, 4096, 512)
        );
        assert_eq!(xsk.bind_mode, BindMode::ZeroCopy);
        let rx = Rx::try_parse_from(["t", "--block-timeout-ms", "3", "--frame-count", "64"])
            .unwrap()
            .rx
            .options();
        assert_eq!((rx.block_timeout_ms, rx.frame_count), (3, Some(64)));
    }

    #[test]
    fn each_variant_has_its_documented_command_line_name() {
        fn names<T: ValueEnum>() -> Vec<String> {
            T::value_variants()
                .iter()
                .map(|v| v.to_possible_value().unwrap().get_name().to_string())
                .collect()
        }
        assert_eq!(names::<TpacketVersion>(), ["v2", "v3"]);
        assert_eq!(names::<SkbLayout>(), ["fragments", "linear"]);
        assert_eq!(names::<BindMode>(), ["auto", "copy", "zero-copy"]);
        assert_eq!(names::<XdpMode>(), ["auto", "native", "generic"]);
        assert_eq!(names::<Format>(), ["pcap", "pcapng"]);
        assert_eq!(
            XdpMode::from_str("generic", false).unwrap(),
            XdpMode::Generic
        );
        assert!(BindMode::from_str("zerocopy", false).is_err());
    }
}
