//! Facts about the host a row was measured on: kernel, CPU, the tools' commit, emulation.

use std::path::Path;

/// Facts about this machine recorded in every row.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// Kernel release.
    pub kernel: String,
    /// CPU model.
    pub cpu_model: String,
    /// Git commit of the tools, or `unknown`.
    pub git_commit: String,
    /// `tcg` under software emulation (from `$PKTMMAP_EMULATED`, set by the guest harness).
    pub emulated: String,
}

impl Machine {
    /// Reads the kernel release and CPU model, and asks git (in `repo`) for the commit unless
    /// `$PKTMMAP_GIT_COMMIT` gives it (a guest has the tools but not the repository).
    pub fn probe(repo: &Path) -> Self {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default();
        let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let git_commit = from_env("PKTMMAP_GIT_COMMIT").or_else(|| {
            std::process::Command::new("git")
                .arg("-C")
                .arg(repo)
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        });
        Self {
            kernel,
            cpu_model,
            git_commit: git_commit.unwrap_or_else(|| "unknown".into()),
            emulated: from_env("PKTMMAP_EMULATED").unwrap_or_default(),
        }
    }
}
