//! Netlink dumps without unsafe code: a request sent on a netlink socket of the caller's
//! network namespace, the answer read datagram by datagram until the kernel says it is done,
//! and walkers over the messages and attributes that check every length (the bytes are the
//! kernel's, but a parser that trusts lengths is one bad offset away from a panic).

use nix::sys::socket::{
    recv, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType,
};
use std::os::fd::AsRawFd;

/// Bytes of a netlink message header (`struct nlmsghdr`).
pub const HEADER: usize = 16;
/// `NLMSG_ERROR`: the request failed (or an acknowledgement).
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST | NLM_F_DUMP`.
pub const DUMP_FLAGS: u16 = 0x1 | 0x300;

/// A netlink datagram that is not one the kernel could have sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedNetlink;

impl std::fmt::Display for MalformedNetlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed netlink message")
    }
}

impl std::error::Error for MalformedNetlink {}

/// A dump request: a header of type `kind` with the dump flags and sequence number 1,
/// followed by `body` (the family's request structure).
pub fn dump_request(kind: u16, body: &[u8]) -> Vec<u8> {
    let len = HEADER + body.len();
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&DUMP_FLAGS.to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
    m.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    m.extend_from_slice(body);
    m
}

/// Sends `request` on a new netlink socket of `protocol` and hands every datagram of the
/// answer to `datagram` until it returns true (it saw `NLMSG_DONE` or `NLMSG_ERROR`) or the
/// kernel sends nothing more.
pub fn dump(
    protocol: SockProtocol,
    request: &[u8],
    datagram: &mut dyn FnMut(&[u8]) -> Result<bool, MalformedNetlink>,
) -> std::io::Result<()> {
    let sock = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        protocol,
    )?;
    sendto(
        sock.as_raw_fd(),
        request,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty())?;
        let done = datagram(&buf[..n])
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if done || n == 0 {
            return Ok(());
        }
    }
}

/// The errno an `NLMSG_ERROR` message's `body` carries (the kernel writes it negated), or
/// `None` for an acknowledgement (0); a body too short or an errno of `i32::MIN` (no
/// negation) is malformed.
pub fn refusal(body: &[u8]) -> Result<Option<i32>, MalformedNetlink> {
    let error = body.get(..4).ok_or(MalformedNetlink)?;
    let errno = i32::from_ne_bytes([error[0], error[1], error[2], error[3]])
        .checked_neg()
        .ok_or(MalformedNetlink)?;
    Ok((errno != 0).then_some(errno))
}

fn align(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// A native-endian `u16` at `at` of `b`, which must hold it.
pub fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

/// A native-endian `u32` at `at` of `b`, which must hold it.
pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The messages of one datagram as (type, body after the header); a length that does not
/// fit is an error.
pub fn messages(datagram: &[u8]) -> Result<Vec<(u16, &[u8])>, MalformedNetlink> {
    let mut out = Vec::new();
    let mut rest = datagram;
    while rest.len() >= HEADER {
        let len = u32_at(rest, 0) as usize;
        if len < HEADER || len > rest.len() {
            return Err(MalformedNetlink);
        }
        out.push((u16_at(rest, 4), &rest[HEADER..len]));
        rest = rest.get(align(len)..).unwrap_or(&[]);
    }
    Ok(out)
}

/// The attributes in `bytes` (after a message's fixed part) as (type, payload); a length
/// that does not fit is an error.
pub fn attributes(bytes: &[u8]) -> Result<Vec<(u16, &[u8])>, MalformedNetlink> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 {
        let len = usize::from(u16_at(rest, 0));
        if len < 4 || len > rest.len() {
            return Err(MalformedNetlink);
        }
        out.push((u16_at(rest, 2), &rest[4..len]));
        rest = rest.get(align(len)..).unwrap_or(&[]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut m = dump_request(kind, body);
        m.resize(align(m.len()), 0);
        m
    }

    #[test]
    fn messages_and_attributes_are_walked_with_their_padding() {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&5u16.to_ne_bytes());
        attrs.extend_from_slice(&1u16.to_ne_bytes());
        attrs.extend_from_slice(&[7, 0, 0, 0]); // one byte, padded to four
        attrs.extend_from_slice(&8u16.to_ne_bytes());
        attrs.extend_from_slice(&2u16.to_ne_bytes());
        attrs.extend_from_slice(&42u32.to_ne_bytes());
        let mut d = message(20, &attrs);
        d.extend(message(NLMSG_DONE, &[0; 4]));
        let m = messages(&d).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].0, m[1].0), (20, NLMSG_DONE));
        let a = attributes(m[0].1).unwrap();
        assert_eq!(a, vec![(1, &[7u8][..]), (2, &42u32.to_ne_bytes()[..])]);
    }

    #[test]
    fn lengths_that_do_not_fit_are_errors_at_every_cut() {
        let d = message(20, &[8, 0, 1, 0, 1, 2, 3, 4]);
        for n in 0..d.len() {
            // A cut datagram either parses (the cut fell before a header) or is refused.
            if let Ok(m) = messages(&d[..n]) {
                assert!(m.is_empty(), "{n}");
            }
        }
        let mut bad = d.clone();
        bad[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert_eq!(messages(&bad), Err(MalformedNetlink));
        bad[0..4].copy_from_slice(&3u32.to_ne_bytes());
        assert_eq!(messages(&bad), Err(MalformedNetlink));
        assert_eq!(attributes(&[9, 0, 1, 0, 0]), Err(MalformedNetlink));
        assert_eq!(attributes(&[2, 0, 1, 0]), Err(MalformedNetlink));
    }
}
