//! One measurement per host: the set-ups a runner, the benchmark or `pktmmap setup` brings up
//! belong to it until it ends. A second one refuses to start, naming the holder, instead of
//! tearing the first one's namespaces down (and concurrent measurements on one host would
//! spoil each other's numbers anyway).
//!
//! The lock is `flock(2)` on a file (`/run/pktmmap.lock`, or `$PKTMMAP_LOCK_FILE`) that also
//! holds the holder's pid and command line for the message. The kernel releases the lock when
//! the holder dies, however it dies; a file still naming a dead holder is taken over, and said.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// Where the lock lives unless `PKTMMAP_LOCK_FILE` says otherwise.
pub const DEFAULT_LOCK_FILE: &str = "/run/pktmmap.lock";

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LockError {
    /// Another live process holds it.
    #[error("another pktmmap is using this host's set-ups: pid {pid} ({command}); wait for it to finish or stop it first")]
    Held {
        /// The holder's pid.
        pid: u32,
        /// The holder's command line.
        command: String,
    },
    /// Another process holds it but has not written who it is: a pktmmap between taking the
    /// lock and writing its pid, or another program locking the file.
    #[error("another process holds this host's set-up lock {path} without naming itself (a pktmmap just starting, or another program: `fuser {path}` names it); wait for it to finish or stop it first")]
    HeldUnnamed {
        /// The lock file.
        path: String,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot use the lock file {path}: {reason}")]
    Io {
        /// The lock file.
        path: String,
        /// What failed.
        reason: String,
    },
}

/// The host's set-up lock, held until dropped.
#[derive(Debug)]
pub struct HostLock {
    file: Flock<File>,
    path: PathBuf,
    /// Set when the lock was taken over from a holder that died without releasing the file.
    pub took_over: Option<String>,
}

/// The lock file in use.
pub fn lock_path() -> PathBuf {
    std::env::var_os("PKTMMAP_LOCK_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_LOCK_FILE))
}

fn holder(text: &str) -> Option<(u32, String)> {
    let (pid, command) = text.trim_end().split_once('\t')?;
    Some((pid.parse().ok()?, command.to_string()))
}

impl HostLock {
    /// Takes the lock at `path` for this process, recording `command` for others to see.
    pub fn acquire(path: &Path, command: &str) -> Result<Self, LockError> {
        let io = |e: &dyn std::fmt::Display| LockError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io(&e))?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(match holder(&text) {
                    Some((pid, command)) => LockError::Held { pid, command },
                    None => LockError::HeldUnnamed {
                        path: path.display().to_string(),
                    },
                });
            }
            Err((_, e)) => return Err(io(&e)),
        };
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        let took_over = holder(&previous).map(|(pid, command)| {
            format!("took over the set-up lock left by pid {pid} ({command}), which is no longer running")
        });
        file.set_len(0).map_err(|e| io(&e))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| io(&e))?;
        file.write_all(format!("{}\t{command}\n", std::process::id()).as_bytes())
            .map_err(|e| io(&e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            took_over,
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for HostLock {
    /// Empties the file (so the next holder sees a clean release); closing it unlocks.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// Checks that this process may change the network (CAP_NET_ADMIN for links, CAP_SYS_ADMIN
/// for `ip netns`; read from /proc/self/status, not guessed from the uid) and takes the host's
/// set-up lock for this command (exit 9 if another holds it; `force` goes on with a note).
pub fn take_host(force: bool) -> Result<Option<HostLock>, crate::exit::CliError> {
    use crate::exit::{CliError, Failure};
    use crate::process::{has_capability, Capability};
    if !has_capability(Capability::NetAdmin) || !has_capability(Capability::SysAdmin) {
        return Err(CliError::new(
            Failure::Privilege,
            "pktmmap needs CAP_NET_ADMIN to create links and CAP_SYS_ADMIN for network namespaces (ip netns): run it as root",
        ));
    }
    let command: Vec<String> = std::env::args().collect();
    match HostLock::acquire(&lock_path(), &command.join(" ")) {
        Ok(lock) => {
            if let Some(note) = &lock.took_over {
                eprintln!("pktmmap: {note}");
            }
            Ok(Some(lock))
        }
        Err(e) if force => {
            eprintln!("pktmmap: --force: going on although {e}");
            Ok(None)
        }
        Err(e) => Err(CliError::new(Failure::Busy, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_and_command() {
        let path = std::env::temp_dir().join(format!("pktmmap-lock-test-{}", std::process::id()));
        let first = HostLock::acquire(&path, "pktmmap run --setup native").unwrap();
        assert_eq!(first.took_over, None);
        // flock locks belong to the open file description: a second open conflicts even in
        // the same process, as a second runner's would.
        let e = HostLock::acquire(&path, "pktmmap setup down --all").unwrap_err();
        assert_eq!(
            e,
            LockError::Held {
                pid: std::process::id(),
                command: "pktmmap run --setup native".into()
            }
        );
        assert!(e.to_string().contains("pid"), "{e}");
        drop(first);
        let again = HostLock::acquire(&path, "pktmmap bench").unwrap();
        assert_eq!(again.took_over, None, "a clean release is not a take-over");
        drop(again);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_holder_that_wrote_nothing_is_refused_without_a_made_up_pid() {
        let path = std::env::temp_dir().join(format!("pktmmap-lock-bare-{}", std::process::id()));
        // Another program's lock on the file, with nothing written in it.
        let bare = Flock::lock(
            File::create(&path).unwrap(),
            FlockArg::LockExclusiveNonblock,
        )
        .map_err(|(_, e)| e)
        .unwrap();
        let e = HostLock::acquire(&path, "pktmmap run").unwrap_err();
        assert_eq!(
            e,
            LockError::HeldUnnamed {
                path: path.display().to_string()
            }
        );
        assert!(!e.to_string().contains("pid 0"), "{e}");
        drop(bare);
        drop(HostLock::acquire(&path, "pktmmap run").unwrap());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_lock_file_left_by_a_dead_holder_is_taken_over_and_said() {
        let path = std::env::temp_dir().join(format!("pktmmap-lock-dead-{}", std::process::id()));
        std::fs::write(&path, "4194301\tpktmmap run --profile thesis\n").unwrap();
        let lock = HostLock::acquire(&path, "pktmmap run").unwrap();
        let note = lock.took_over.clone().unwrap();
        assert!(
            note.contains("4194301") && note.contains("no longer running"),
            "{note}"
        );
        drop(lock);
        let _ = std::fs::remove_file(&path);
    }
}
