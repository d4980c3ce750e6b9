//! The experiments' one error type. Its variant says whose move it is, which the runner's exit
//! code reports: [`Error::Request`] is the user's (exit 2), everything else the machine's or
//! a tool's (exit 1).

use std::io;
use std::path::{Path, PathBuf};

/// What went wrong in the runner, a set-up, the benchmark or the output.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be created, read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done: "read", "create", "append to", ...
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// A results file, profile or tool configuration whose content does not parse.
    #[error("{}: {what}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// What was asked cannot be done as asked: an unknown set-up or engine, a profile that
    /// names nothing runnable, a directory without results, rows that cannot be compared.
    #[error("{0}")]
    Request(String),
    /// A set-up script, a tool or another program failed, or said something unreadable.
    #[error("{0}")]
    Tool(String),
    /// A chart or report could not be drawn.
    #[error("{0}")]
    Render(String),
}

impl Error {
    /// For `map_err`: an I/O failure while doing `action` to `path`.
    pub fn io(action: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> Error {
        let path = path.as_ref().to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// A file whose content is wrong.
    pub fn malformed(path: impl AsRef<Path>, what: impl std::fmt::Display) -> Error {
        Error::Malformed {
            path: path.as_ref().to_path_buf(),
            what: what.to_string(),
        }
    }

    /// Whether the user can mend this by asking differently (the runner exits 2, not 1).
    pub fn is_request(&self) -> bool {
        matches!(self, Error::Request(_))
    }
}

/// A result with an experiment [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for crate::exit::CliError {
    /// What the user asked for wrongly exits 2 ([`crate::exit::Failure::Usage`]); everything else 1.
    fn from(e: Error) -> Self {
        let kind = if e.is_request() {
            crate::exit::Failure::Usage
        } else {
            crate::exit::Failure::Runtime
        };
        crate::exit::CliError::new(kind, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_the_reason() {
        let e = Error::io("read", "/nowhere/runs-v4.csv")(io::Error::from(io::ErrorKind::NotFound));
        assert!(
            e.to_string()
                .starts_with("cannot read /nowhere/runs-v4.csv: "),
            "{e}"
        );
        assert!(!e.is_request());
        let e = Error::malformed("p.toml", "scenario count has no values");
        assert_eq!(e.to_string(), "p.toml: scenario count has no values");
        assert!(Error::Request("unknown set-up x".into()).is_request());
    }
}
