//! The shared operator harness (`e2e::operator`), bound to this crate's build of
//! `coffee-operator`.

use std::path::Path;

use e2e::fixtures::RuntimeScene;
use e2e::operator::OperatorProcess;
use e2e::testbed::TestBed;

/// The `coffee-operator` these tests run.
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_coffee-operator"))
}

/// An operator with its own ServiceAccount token and Lease, watching `scene`'s namespace.
pub async fn start_operator(
    bed: &TestBed,
    scene: &RuntimeScene,
) -> anyhow::Result<OperatorProcess> {
    OperatorProcess::start_watching(bed, binary(), scene).await
}

/// A namespace with a pod runtime for the operator's Deployments.
pub async fn scene(prefix: &str) -> anyhow::Result<RuntimeScene> {
    e2e::operator::scene(prefix, binary()).await
}
