//! `pktmmap docs`: completions and man pages generated from the tools' real command lines.
//! Needs no privilege.

mod common;

use std::process::Command;

use common::{pktmmap, tmp};

/// Asks bash, with `script` sourced, what `function` completes for `words` (the last one is
/// the word being completed).
fn bash_complete(script: &std::path::Path, function: &str, words: &[&str]) -> Vec<String> {
    let line = format!(
        "source {}; COMP_WORDS=({}); COMP_CWORD={}; {function} {} {} {}; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
        words.len() - 1,
        words[0],
        format_args!("'{}'", words[words.len() - 1]),
        words[words.len().saturating_sub(2)],
    );
    let o = Command::new("bash").arg("-c").arg(line).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn docs_writes_completions_and_man_pages_that_match_the_tools() {
    let dir = tmp("docs");
    let o = pktmmap(&["docs", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("wrote 28 files"));
    let tools = [
        "pktmmap", "mmap-tx", "mmap-rx", "udp-tx", "udp-rx", "xdp-tx", "xdp-rx",
    ];
    for tool in tools {
        for f in [
            format!("completions/bash/{tool}.bash"),
            format!("completions/zsh/_{tool}"),
            format!("completions/fish/{tool}.fish"),
        ] {
            assert!(dir.join(&f).is_file(), "{f}");
        }
        let page = std::fs::read_to_string(dir.join(format!("man/{tool}.1"))).unwrap();
        assert!(
            page.contains(&format!(".TH {tool} 1")),
            "{tool}.1 is a man page"
        );
    }
    // The man pages carry the real options and subcommands.
    let tx = std::fs::read_to_string(dir.join("man/mmap-tx.1")).unwrap();
    assert!(
        tx.contains("ring\\-version") && tx.contains("skb"),
        "mmap-tx.1"
    );
    let runner = std::fs::read_to_string(dir.join("man/pktmmap.1")).unwrap();
    for sub in ["run", "setup", "bench", "ratios", "docs"] {
        assert!(
            runner.contains(&format!("pktmmap\\-{sub}")),
            "pktmmap.1 lists {sub}"
        );
    }
    // Bash completes option names and their values.
    let bash = dir.join("completions/bash/mmap-tx.bash");
    assert_eq!(
        bash_complete(&bash, "_mmap__tx", &["mmap-tx", "--ring-v"]),
        ["--ring-version"]
    );
    assert_eq!(
        bash_complete(&bash, "_mmap__tx", &["mmap-tx", "--skb", ""]),
        ["fragments", "linear"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
