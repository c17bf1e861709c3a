//! One local pod: a supervised process that is started with its resolved environment, probed for
//! readiness, restarted with back-off when it exits, and stopped with SIGTERM then SIGKILL.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::config::Cluster;
use kube::{Api, Client};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior, interval_at, sleep, timeout};
use tracing::{info, warn};

use super::LaunchError;
use super::env::{
    PodIdentity, PortAssignment, ReferencedData, expand_args, referenced_names, resolve_env,
};
use super::identity;
use super::image::resolve_binary;
use super::probe::{Check, Readiness};
use super::template::{LaunchTemplate, ProbeAction, ProbeSpec};

/// What a pod looks like from outside, published on every change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodState {
    pub pid: Option<u32>,
    pub ready: bool,
    /// How often the process exited and was started again.
    pub restarts: u32,
    pub last_error: Option<String>,
}

/// Restart back-off: doubles from `initial` up to `max`, and starts over after a process has
/// run for `reset_after`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub reset_after: Duration,
}

/// Everything one pod needs that does not change while it lives.
#[derive(Clone)]
pub struct PodContext {
    pub client: Client,
    pub name: String,
    pub namespace: String,
    pub template: Arc<LaunchTemplate>,
    pub ports: Vec<PortAssignment>,
    pub bin_dir: PathBuf,
    pub log_path: PathBuf,
    pub backoff: Backoff,
    /// Probes run at least this often, whatever the template's period, to keep tests quick.
    pub max_probe_period: Duration,
    /// Where pods reach the API server as their ServiceAccount; no identity when `None`.
    pub api_server: Option<Cluster>,
}

impl PodContext {
    /// The pod's own directory for its token and kubeconfig, beside its log.
    fn identity_dir(&self) -> PathBuf {
        self.log_path.with_extension("identity")
    }
}

enum Ended {
    Stopped,
    /// The process exited by itself; how, in words.
    Exited(String),
}

/// Runs the pod until `stop` fires or its sender is dropped; then its token goes with it.
pub async fn supervise(
    ctx: PodContext,
    state: watch::Sender<PodState>,
    stop: oneshot::Receiver<()>,
) {
    keep_running(&ctx, &state, stop).await;
    let dir = ctx.identity_dir();
    if let Err(error) = std::fs::remove_dir_all(&dir)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        warn!(pod = %ctx.name, dir = %dir.display(), %error, "removing the pod's token failed");
    }
}

async fn keep_running(
    ctx: &PodContext,
    state: &watch::Sender<PodState>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut backoff = ctx.backoff.initial;
    loop {
        let started = Instant::now();
        match start(ctx).await {
            Ok(child) => match run(ctx, child, state, &mut stop).await {
                Ended::Stopped => return,
                Ended::Exited(status) => {
                    warn!(pod = %ctx.name, namespace = %ctx.namespace, %status, "process exited; restarting after {backoff:?}");
                    state.send_modify(|s| {
                        s.pid = None;
                        s.ready = false;
                        s.restarts += 1;
                        s.last_error = Some(format!("process exited: {status}"));
                    });
                }
            },
            Err(error) => {
                warn!(pod = %ctx.name, namespace = %ctx.namespace, %error, "cannot start; retrying after {backoff:?}");
                state.send_modify(|s| s.last_error = Some(error.to_string()));
            }
        }
        if started.elapsed() >= ctx.backoff.reset_after {
            backoff = ctx.backoff.initial;
        }
        tokio::select! {
            _ = &mut stop => return,
            () = sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(ctx.backoff.max);
    }
}

async fn start(ctx: &PodContext) -> Result<Child, LaunchError> {
    let template = &ctx.template;
    let data = fetch_referenced(&ctx.client, &ctx.namespace, template).await?;
    let pod = PodIdentity {
        name: &ctx.name,
        namespace: &ctx.namespace,
    };
    let env = resolve_env(template, pod, &ctx.ports, &data)?;
    // A fresh token at every start, as a kubelet mounts one into every new container.
    let kubeconfig = match (&template.service_account, &ctx.api_server) {
        (Some(account), Some(cluster)) => Some(
            identity::issue(
                &ctx.client,
                &ctx.namespace,
                account,
                cluster,
                &ctx.identity_dir(),
            )
            .await?,
        ),
        _ => None,
    };
    // A `command` replaces the image's binary, as it replaces the image's entrypoint.
    let (binary, mut args) = match template.command.split_first() {
        Some((first, rest)) => (resolve_binary(&ctx.bin_dir, first)?, rest.to_vec()),
        None => (resolve_binary(&ctx.bin_dir, &template.image)?, Vec::new()),
    };
    args.extend(template.args.iter().cloned());
    let args = expand_args(&args, &env);
    let log = open_log(&ctx.log_path, &binary, &args).map_err(|source| LaunchError::Spawn {
        binary: ctx.log_path.display().to_string(),
        source,
    })?;
    let spawn_error = |source| LaunchError::Spawn {
        binary: binary.display().to_string(),
        source,
    };
    let child = Command::new(&binary)
        .args(&args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .envs(kubeconfig.map(|path| ("KUBECONFIG", path)))
        .envs(env)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(spawn_error)?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_error)?;
    info!(pod = %ctx.name, namespace = %ctx.namespace, pid = child.id(), binary = %binary.display(), "started");
    Ok(child)
}

async fn run(
    ctx: &PodContext,
    mut child: Child,
    state: &watch::Sender<PodState>,
    stop: &mut oneshot::Receiver<()>,
) -> Ended {
    let mut prober = ctx
        .template
        .readiness
        .as_ref()
        .and_then(|spec| Prober::new(ctx, spec));
    // Without a readiness probe a running process is ready, as in Kubernetes.
    state.send_modify(|s| {
        s.pid = child.id();
        s.ready = prober.is_none();
        s.last_error = None;
    });
    let (delay, period) = prober
        .as_ref()
        .map_or((Duration::ZERO, Duration::MAX), |p| {
            (
                p.spec.initial_delay,
                p.spec.period.min(ctx.max_probe_period),
            )
        });
    let mut ticks = interval_at(
        Instant::now() + delay,
        period.min(Duration::from_secs(3600)),
    );
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut *stop => {
                terminate(ctx, &mut child).await;
                state.send_modify(|s| { s.pid = None; s.ready = false; });
                return Ended::Stopped;
            }
            status = child.wait() => {
                return Ended::Exited(status.map_or_else(|e| format!("waiting for it failed: {e}"), |s| s.to_string()));
            }
            _ = ticks.tick(), if prober.is_some() => {
                if let Some(prober) = prober.as_mut() {
                    let ready = prober.probe().await;
                    state.send_if_modified(|s| std::mem::replace(&mut s.ready, ready) != ready);
                }
            }
        }
    }
}

/// A readiness probe aimed at this replica's own local port.
struct Prober<'a> {
    check: Check,
    spec: &'a ProbeSpec,
    readiness: Readiness,
    http: reqwest::Client,
}

impl<'a> Prober<'a> {
    fn new(ctx: &PodContext, spec: &'a ProbeSpec) -> Option<Self> {
        let local = |port| {
            let container_port = ctx.template.container_port(port)?;
            let assigned = ctx
                .ports
                .iter()
                .find(|p| p.container_port == container_port);
            assigned.map(|p| p.local_port)
        };
        let check = match &spec.action {
            ProbeAction::Http { port, path } => Check::Http {
                port: local(port)?,
                path: path.clone(),
            },
            ProbeAction::Tcp { port } => Check::Tcp { port: local(port)? },
        };
        let readiness = Readiness::new(spec.success_threshold, spec.failure_threshold);
        Some(Self {
            check,
            spec,
            readiness,
            http: reqwest::Client::new(),
        })
    }

    async fn probe(&mut self) -> bool {
        let passed = self.check.passes(&self.http, self.spec.timeout).await;
        self.readiness.observe(passed)
    }
}

/// SIGTERM, then SIGKILL once the grace period has passed.
async fn terminate(ctx: &PodContext, child: &mut Child) {
    let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) else {
        return;
    };
    if let Err(error) = kill(Pid::from_raw(pid), Signal::SIGTERM) {
        warn!(pod = %ctx.name, pid, %error, "SIGTERM failed");
    }
    match timeout(ctx.template.grace_period, child.wait()).await {
        Ok(status) => info!(pod = %ctx.name, pid, ?status, "stopped"),
        Err(_) => {
            warn!(pod = %ctx.name, pid, "still running after the grace period; sending SIGKILL");
            if let Err(error) = child.kill().await {
                warn!(pod = %ctx.name, pid, %error, "SIGKILL failed");
            }
        }
    }
}

async fn fetch_referenced(
    client: &Client,
    namespace: &str,
    template: &LaunchTemplate,
) -> Result<ReferencedData, LaunchError> {
    let (config_map_names, secret_names) = referenced_names(template);
    let mut data = ReferencedData::default();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    for name in config_map_names {
        let api_error = |source| LaunchError::Api {
            kind: "ConfigMap",
            name: name.clone(),
            source,
        };
        if let Some(map) = config_maps.get_opt(&name).await.map_err(api_error)? {
            data.config_maps.insert(name, map.data.unwrap_or_default());
        }
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for name in secret_names {
        let api_error = |source| LaunchError::Api {
            kind: "Secret",
            name: name.clone(),
            source,
        };
        if let Some(secret) = secrets.get_opt(&name).await.map_err(api_error)? {
            let decoded: BTreeMap<String, String> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| (key, String::from_utf8_lossy(&value.0).into_owned()))
                .collect();
            data.secrets.insert(name, decoded);
        }
    }
    Ok(data)
}

fn open_log(
    path: &std::path::Path,
    binary: &std::path::Path,
    args: &[String],
) -> std::io::Result<std::fs::File> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(
        file,
        "=== coffee-runtime starts {} {}",
        binary.display(),
        args.join(" ")
    )?;
    Ok(file)
}
