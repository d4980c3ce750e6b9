//! Shell completions and man pages for the tools, generated from their command-line
//! definitions (clap), so they never drift from what the tools accept.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

/// The six tools' command lines, named as their binaries.
pub fn tool_commands() -> Vec<clap::Command> {
    vec![
        super::mmap_tx::Args::command().name(super::mmap_tx::TOOL),
        super::mmap_rx::Args::command().name(super::mmap_rx::TOOL),
        super::udp_tx::Args::command().name(super::udp_tx::TOOL),
        super::udp_rx::Args::command().name(super::udp_rx::TOOL),
        super::xdp_tx::Args::command().name(super::xdp_tx::TOOL),
        super::xdp_rx::Args::command().name(super::xdp_rx::TOOL),
    ]
}

/// The shells completions are written for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Writes, for each command, completions under `dir/completions/<shell>/` and a man page
/// `dir/man/<name>.1`; returns the files written.
pub fn write(commands: Vec<clap::Command>, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let man = dir.join("man");
    std::fs::create_dir_all(&man)?;
    for mut command in commands {
        let name = command.get_name().to_string();
        for shell in SHELLS {
            let out = dir.join("completions").join(shell.to_string());
            std::fs::create_dir_all(&out)?;
            written.push(clap_complete::generate_to(
                shell,
                &mut command,
                &name,
                &out,
            )?);
        }
        let path = man.join(format!("{name}.1"));
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        std::fs::write(&path, page)?;
        written.push(path);
    }
    Ok(written)
}
