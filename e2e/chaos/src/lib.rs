//! The chaos suite: nothing acknowledged is lost and nothing brewed twice while servers fail.
//!
//! Each run starts the whole pipeline on the test bed under steady load ([`stage`]), injects
//! one fault ([`faults`]), lets the pipeline recover and settle, and checks every order the
//! load generator saw against an independent ledger of the status topic ([`figures`]). How
//! soon it recovered is read from the backlog ([`recovery`]). The tests in `tests/` run each
//! fault briefly; `coffee-chaos` runs them longer and writes a report.

pub mod faults;
pub mod figures;
pub mod recovery;
pub mod settle;
pub mod stage;
pub mod tenant;

use std::path::Path;
use std::time::Duration;

use faults::Fault;
use figures::Figures;
use stage::Stage;

/// How long the load runs around a fault.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Steady load before the fault.
    pub before: Duration,
    /// Load after the fault cleared, at least (longer until the pipeline recovered).
    pub after: Duration,
    /// How long after the fault cleared the pipeline may take to recover.
    pub recover_within: Duration,
}

impl Timing {
    /// The tests' timing: enough load around the fault to see it and the recovery, and time
    /// for a consumer whose Kafka clients stay wedged to restart itself (a minute, then the
    /// rejoin) before the pipeline counts as not recovered.
    pub const BRIEF: Timing = Timing {
        before: Duration::from_secs(10),
        after: Duration::from_secs(5),
        recover_within: Duration::from_secs(180),
    };
}

/// Runs `fault` once at `rate` orders per second, with the binaries in `bin_dir`.
pub async fn run(
    fault: Fault,
    rate: f64,
    timing: Timing,
    bin_dir: &Path,
) -> anyhow::Result<Figures> {
    let mut stage = Stage::start(bin_dir, fault.shape(rate)).await?;
    stage.run_for(timing.before).await;
    let injected = fault.inject(&mut stage).await?;
    stage
        .finish(fault.name(), injected, timing.after, timing.recover_within)
        .await
}

/// Where `coffee-operator`, `coffee-producer` and `coffee-consumer` are: next to `binary`
/// (cargo builds every binary of the workspace into one directory).
pub fn bin_dir_of(binary: &Path) -> anyhow::Result<std::path::PathBuf> {
    let dir = binary
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no directory", binary.display()))?;
    e2e::binaries::require_binaries(dir, e2e::binaries::PRODUCT_BINARIES)?;
    Ok(dir.to_path_buf())
}
