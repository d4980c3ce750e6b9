//! The exit-code vocabulary every layer shares: a kind of failure ([`Failure`], one exit code
//! each, documented in the README) and a failure with its one-line message ([`CliError`]).
//! This module is the ground floor: it imports nothing of the crate. Which error of a lower
//! layer becomes which kind is decided by the tools' layer ([`crate::cli`]).

use std::fmt;

/// Exit codes, one per kind of failure (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 1: a runtime I/O error (the summary printed is partial).
    Runtime = 1,
    /// 2: a bad command line (clap's own code).
    Usage = 2,
    /// 3: missing privilege: `CAP_NET_RAW`.
    Privilege = 3,
    /// 4: unknown or down interface, or one without the address needed.
    Interface = 4,
    /// 5: impossible ring geometry.
    Geometry = 5,
    /// 6: size below the probe header or above the MTU.
    Size = 6,
    /// 7: unparseable rate.
    Rate = 7,
    /// 8: destination not resolvable.
    Neighbour = 8,
    /// 9: another pktmmap holds this host's set-ups (the runner's set-up lock).
    Busy = 9,
    /// 10: the capture file (`--write`) cannot be created or written.
    Output = 10,
    /// 11: the capture to replay (`--pcap`) cannot be read, or holds nothing replayable.
    Capture = 11,
    /// 130: interrupted by SIGINT or SIGTERM (the summary printed is partial).
    Interrupted = 130,
}

/// A failure with its one-line message.
#[derive(Debug)]
pub struct CliError {
    /// The kind, which selects the exit code.
    pub kind: Failure,
    /// One line for the user.
    pub message: String,
}

impl CliError {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: Failure, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A runtime failure (exit 1) of `what`, saying why: `what: e`.
    pub fn runtime(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Self {
        Self::new(Failure::Runtime, format!("{what}: {e}"))
    }

    /// The process exit code.
    pub fn code(&self) -> i32 {
        self.kind as i32
    }

    /// Prints `TOOL: error: MESSAGE` to stderr and exits with the kind's code.
    pub fn exit(&self, tool: &str) -> ! {
        eprintln!("{tool}: error: {}", self.message);
        std::process::exit(self.code())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}
