//! The operator as these tests install it: `helm install` into a namespace of its own
//! (`e2e::install`), watching a second namespace where another runtime runs the pipelines.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::install::{Installed, Placement};

/// The `coffee-operator` these tests run; the runtime finds the workloads' binaries beside it.
pub fn binary() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_coffee-operator"))
}

/// How long the operator's pods may take to start and elect a leader.
const START: Duration = Duration::from_secs(90);

/// `helm install` with unique names and `extra_values`.
pub async fn install(prefix: &str, extra_values: &[&str]) -> Installed {
    let bin_dir = binary().parent().expect("bin dir");
    Installed::helm(&Placement::unique(prefix), bin_dir, extra_values)
        .await
        .expect("helm install on the test bed (start it with `e2e/testbed up`)")
}

/// Waits until `replicas` operator pods, none of them `replaced`, are ready and one leads;
/// returns the pods' names and the leader's.
pub async fn leader(
    installed: &Installed,
    replicas: usize,
    replaced: &BTreeSet<String>,
) -> (BTreeSet<String>, String) {
    installed
        .wait_for_leader(replicas, replaced, START)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}
