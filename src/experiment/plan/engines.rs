//! The engines as data: per engine, where its set-up scripts live, which set-ups it offers,
//! the suffix of its results directories and its defaults. A new engine (Kubernetes, on
//! paper in `docs/kubernetes.md`) is one [`Engine`] variant, one row of [`ENGINES`], one
//! scripts folder and, where its tools run somewhere new, one `place::Place`.

use super::kinds::Engine;

/// The folder of an engine's set-up scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptsDir {
    /// A folder of `experiments/`.
    Experiments(&'static str),
    /// A folder of the repository's `docker/` (or of `$PKTMMAP_DOCKER`).
    Docker(&'static str),
}

/// One engine's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineSpec {
    /// The engine.
    pub engine: Engine,
    /// Where its scripts are.
    pub scripts: ScriptsDir,
    /// The set-ups it offers, in the order the runner visits them.
    pub setups: &'static [&'static str],
    /// Appended to a results directory's default name (`results/<time>-<profile><suffix>`).
    pub out_suffix: &'static str,
    /// `--reflect-every` when not given: round trips are the only latency that holds when
    /// the two ends may sit on machines with different clocks (swarm).
    pub reflect_every: Option<u64>,
}

/// Every engine, in [`Engine`] order.
pub const ENGINES: [EngineSpec; 3] = [
    EngineSpec {
        engine: Engine::Netns,
        scripts: ScriptsDir::Experiments("setups"),
        setups: &[
            "native",
            "bridge",
            "bridge-conntrack",
            "ovs",
            "macvlan",
            "macvlan-trunk",
            "overlay",
        ],
        out_suffix: "",
        reflect_every: None,
    },
    EngineSpec {
        engine: Engine::Docker,
        scripts: ScriptsDir::Docker("setups"),
        setups: &["bridge", "ovs", "macvlan", "macvlan-trunk"],
        out_suffix: "-docker",
        reflect_every: None,
    },
    EngineSpec {
        engine: Engine::Swarm,
        scripts: ScriptsDir::Docker("swarm"),
        setups: &["overlay", "macvlan"],
        out_suffix: "-swarm",
        reflect_every: Some(1000),
    },
];

impl Engine {
    /// The engine's row of [`ENGINES`].
    pub fn spec(self) -> &'static EngineSpec {
        ENGINES
            .iter()
            .find(|s| s.engine == self)
            .expect("every engine has a row in ENGINES")
    }

    /// The set-ups this engine offers, in the order the runner visits them.
    pub fn setups(self) -> &'static [&'static str] {
        self.spec().setups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engines_scripts_folder_has_a_script_per_setup() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for (i, spec) in ENGINES.iter().enumerate() {
            assert_eq!(spec.engine as usize, i, "ENGINES is in Engine order");
            let dir = match spec.scripts {
                ScriptsDir::Experiments(d) => repo.join("experiments").join(d),
                ScriptsDir::Docker(d) => repo.join("docker").join(d),
            };
            assert!(dir.join("lib.sh").is_file(), "{}", dir.display());
            for s in spec.setups {
                assert!(
                    dir.join(format!("{s}.sh")).is_file(),
                    "{}: {s}",
                    spec.engine
                );
            }
        }
    }
}
