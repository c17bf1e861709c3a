//! A service under benchmark (`coffee-producer`, `coffee-consumer`, the HTTP ceiling) started as a
//! local process on a free port, its output in the test bed's log directory, ready when its
//! readiness endpoint answers.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use e2e::poll::eventually;
use tokio::process::{Child, Command};

pub struct Target {
    pub name: String,
    /// Its order endpoint.
    pub url: String,
    pub child: Child,
}

/// Starts `binary` with `--port` and `args` (and `env`), logging to `bench-<name>.log` in
/// `log_dir`, and waits until it is ready (`/readyz`; the ceiling has none, so any answer).
pub async fn start(
    name: &str,
    binary: &Path,
    args: &[String],
    log_dir: &Path,
    env: &[(&str, &str)],
) -> anyhow::Result<Target> {
    let port = e2e::ports::free_local_port().context("choosing a port")?;
    let log = std::fs::File::create(log_dir.join(format!("bench-{name}.log")))?;
    let child = Command::new(binary)
        .args(["--port", &port.to_string()])
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    let ready = if name == "ceiling" {
        format!("{base}/order")
    } else {
        format!("{base}/readyz")
    };
    eventually(
        &format!("{name} to be ready"),
        Duration::from_secs(60),
        || async {
            match reqwest::get(&ready).await {
                Ok(r) if r.status().as_u16() == 200 || name == "ceiling" => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await?;
    Ok(Target {
        name: name.to_owned(),
        url: format!("{base}/order"),
        child,
    })
}
