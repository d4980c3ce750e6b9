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

#[test]
fn the_kubernetes_manifests_are_well_formed_and_least_privileged() {
    use yaml_rust2::{Yaml, YamlLoader};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/kubernetes");
    let load = |name: &str| -> Yaml {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(docs.len(), 1, "{name}: one object");
        docs.remove(0)
    };
    let nad = load("macvlan-network.yaml");
    assert_eq!(nad["apiVersion"].as_str(), Some("k8s.cni.cncf.io/v1"));
    assert_eq!(nad["kind"].as_str(), Some("NetworkAttachmentDefinition"));
    let config: serde_json::Value = serde_json::from_str(nad["spec"]["config"].as_str().unwrap())
        .expect("the CNI config is JSON");
    assert_eq!(
        (config["type"].as_str(), config["mode"].as_str()),
        (Some("macvlan"), Some("bridge"))
    );
    assert_ne!(config["master"], "eth0", "never the node's uplink");
    let network = nad["metadata"]["name"].as_str().unwrap();

    for (side, ip) in [("tx", "10.77.74.1/24"), ("rx", "10.77.74.2/24")] {
        let name = format!("pktmmap-{side}.yaml");
        let pod = load(&name);
        assert_eq!(
            (pod["apiVersion"].as_str(), pod["kind"].as_str()),
            (Some("v1"), Some("Pod")),
            "{name}"
        );
        let networks: serde_json::Value = serde_json::from_str(
            pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            networks[0]["name"], network,
            "{name}: the pod joins the network above"
        );
        assert_eq!(networks[0]["ips"][0], ip, "{name}");
        let term = &pod["spec"]["affinity"]["nodeAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
            ["matchExpressions"][0];
        assert_eq!(
            term["key"].as_str(),
            Some("kubernetes.io/hostname"),
            "{name}: placed on a node"
        );
        let c = &pod["spec"]["containers"][0];
        assert_eq!(
            c["imagePullPolicy"].as_str(),
            Some("Never"),
            "{name}: no registry"
        );
        assert_eq!(c["command"][0].as_str(), Some("pktmmap-idle"));
        let sc = &c["securityContext"];
        assert_eq!(sc["privileged"].as_bool(), Some(false), "{name}");
        assert_eq!(
            sc["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{name}"
        );
        assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true), "{name}");
        assert_eq!(
            sc["capabilities"]["drop"],
            Yaml::Array(vec![Yaml::String("ALL".into())])
        );
        assert_eq!(
            sc["capabilities"]["add"],
            Yaml::Array(vec![Yaml::String("NET_RAW".into())])
        );
        assert_eq!(
            pod["spec"]["automountServiceAccountToken"].as_bool(),
            Some(false)
        );
    }
}
