//! The one harness for running our services as processes in tests: a free local port, output
//! to a log file under the test bed's log directory, readiness polled over HTTP (failing at
//! once, with the log's tail, if the process exits), signals, and the metrics text. The
//! producer's, the consumer's and the operator's tests each wrap it with their own flags.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::Signal;
use tokio::process::{Child, Command};

use crate::testbed::TestBed;

/// How often readiness is asked.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// How long a process may take to exit after SIGTERM.
const EXIT_WITHIN: Duration = Duration::from_secs(30);

/// A running service process, killed when dropped.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    log: PathBuf,
}

impl ServiceProcess {
    /// Starts `binary` with the free local port it should listen on appended as `--port
    /// <port>`, its output going to `<log dir>/<group>/<stem>-<port>.log`. `configure` adds
    /// the service's own arguments and environment.
    pub fn spawn(
        bed: &TestBed,
        binary: &Path,
        group: &str,
        stem: &str,
        configure: impl FnOnce(&mut Command),
    ) -> anyhow::Result<Self> {
        Self::spawn_command(bed, Command::new(binary), group, stem, configure)
    }

    /// Like [`ServiceProcess::spawn`], for `binary` inside the root file system `root` (an
    /// image's, laid out by `images/rootfs.sh`), run there as the images' user 65532 with only
    /// the environment `configure` gives, as a container gets only what its pod spec sets (this
    /// machine's own, such as `SSL_CERT_FILE`, would hide what the image lacks).
    pub fn spawn_chrooted(
        bed: &TestBed,
        root: &Path,
        binary: &str,
        group: &str,
        stem: &str,
        configure: impl FnOnce(&mut Command),
    ) -> anyhow::Result<Self> {
        let mut command = Command::new("/usr/sbin/chroot");
        command
            .env_clear()
            .arg("--userspec=65532:65532")
            .arg(root)
            .arg(binary);
        Self::spawn_command(bed, command, group, stem, configure)
    }

    fn spawn_command(
        bed: &TestBed,
        mut command: Command,
        group: &str,
        stem: &str,
        configure: impl FnOnce(&mut Command),
    ) -> anyhow::Result<Self> {
        let port = crate::ports::free_local_port()?;
        let log = PathBuf::from(&bed.log_dir)
            .join(group)
            .join(format!("{stem}-{port}.log"));
        std::fs::create_dir_all(log.parent().context("a log directory")?)?;
        let file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        command.args(["--port", &port.to_string()]);
        configure(&mut command);
        let program = command
            .as_std()
            .get_program()
            .to_string_lossy()
            .into_owned();
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        Ok(Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        })
    }

    /// Polls `path` until it answers `status`; fails at once if the process exits, and after
    /// `timeout` with the last answer and the log's tail.
    pub async fn wait_for(
        &mut self,
        path: &str,
        status: u16,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let url = format!("{}{path}", self.base);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(exit) = self.child.try_wait()? {
                bail!(
                    "{} exited with {exit}\n{}",
                    self.log.display(),
                    self.log_tail()
                );
            }
            let last = match reqwest::get(&url).await {
                Ok(r) if r.status().as_u16() == status => return Ok(()),
                Ok(r) => format!("{} {}", r.status(), r.text().await.unwrap_or_default()),
                Err(e) => e.to_string(),
            };
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{url} did not answer {status} within {timeout:?}; last: {last}\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// The last 30 lines of the process's output.
    pub fn log_tail(&self) -> String {
        crate::fixtures::log_tail(&self.log, 30)
    }

    /// Where the process's output goes.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(reqwest::get(format!("{}/metrics", self.base))
            .await?
            .text()
            .await?)
    }

    /// The value of an unlabelled metric, or the sum over its labels.
    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        Ok(self
            .metrics()
            .await?
            .lines()
            .filter(|line| {
                line.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with([' ', '{']))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum())
    }

    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = self.child.id().context("the process already exited")?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(i32::try_from(pid)?), signal)?;
        Ok(())
    }

    /// SIGKILL and wait for the exit: no shutdown, no commit, no Lease release.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.signal(Signal::SIGKILL)?;
        self.child.wait().await?;
        Ok(())
    }

    /// SIGTERM, then the exit status.
    pub async fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        self.signal(Signal::SIGTERM)?;
        match tokio::time::timeout(EXIT_WITHIN, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => bail!(
                "no exit within {EXIT_WITHIN:?} of SIGTERM\n{}",
                self.log_tail()
            ),
        }
    }
}
