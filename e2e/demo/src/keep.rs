//! `--keep` and `--down`: a demo left running after `coffee-demo` exits. Its pods move from the
//! demo's in-process runtime to two `coffee-runtime` processes of their own (one for the
//! operator's namespace, one for the pipeline's), recorded in a file, so that a later
//! `--down` (or the next demo) can finish the pipeline while its operator still runs, uninstall
//! the chart, and stop them.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use e2e::operator::{kubectl, repo, succeed};
use e2e::testbed::TestBed;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::system::{self, NAMESPACE, OPERATOR_NAMESPACE, System};

/// Where the kept runtimes' pids are recorded.
fn pid_file() -> PathBuf {
    repo().join("target/demo/kept.pids")
}

/// Whether a demo was left running.
pub fn kept() -> bool {
    pid_file().is_file()
}

/// Stops the demo's own runtimes (their pods stop) and starts `coffee-runtime` from `bin_dir`
/// for the same namespaces, detached; returns the log directory.
pub async fn hand_over(bed: &TestBed, system: System, bin_dir: &Path) -> anyhow::Result<PathBuf> {
    let System { installed, .. } = system;
    installed.operator.runtime.shutdown().await;
    installed.pipelines.runtime.shutdown().await;
    let log_dir = repo().join("target/demo/kept-pods");
    // Logs of an earlier kept demo would look like this one's pods.
    let _ = std::fs::remove_dir_all(&log_dir);
    std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
    let mut pids = Vec::new();
    for (namespace, selector) in [
        (OPERATOR_NAMESPACE, "app.kubernetes.io/name=coffee-operator"),
        (NAMESPACE, "app.kubernetes.io/managed-by=coffee-operator"),
    ] {
        let log = std::fs::File::create(log_dir.join(format!("runtime-{namespace}.log")))?;
        let child = Command::new(bin_dir.join("coffee-runtime"))
            .args(["--namespace", namespace, "--selector", selector])
            .arg("--bin-dir")
            .arg(bin_dir)
            .arg("--log-dir")
            .arg(&log_dir)
            .env("KUBECONFIG", &bed.kubeconfig)
            .env("PROMETHEUS_TARGETS_DIR", &bed.prometheus_targets_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C in the terminal that started the demo does
            // not reach it.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting coffee-runtime from {}", bin_dir.display()))?;
        pids.push(child.id().to_string());
    }
    std::fs::write(pid_file(), pids.join("\n"))
        .with_context(|| format!("writing {}", pid_file().display()))?;
    Ok(log_dir)
}

/// Tears down a kept demo: deletes the pipeline while its operator runs (so its finalizer
/// deletes the topics), uninstalls the chart, puts the CRD back as the demo found it, stops the
/// kept runtimes, deletes the namespaces.
pub fn down(bed: &TestBed) -> anyhow::Result<()> {
    let delete = [
        "delete",
        "coffeeorderpipelines",
        "--all",
        "-n",
        NAMESPACE,
        "--wait",
        "--timeout=90s",
    ];
    succeed(kubectl(bed, &delete, None)?, "deleting the kept pipeline")?;
    system::uninstall(bed)?;
    crate::crd::restore(bed)?;
    let pids = std::fs::read_to_string(pid_file()).unwrap_or_default();
    for pid in pids.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        // Only a process that still is a coffee-runtime (pids are reused); one that is gone
        // already is what we want.
        let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&command).contains("coffee-runtime") {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
    std::fs::remove_file(pid_file()).ok();
    system::delete_namespaces(bed)
}
