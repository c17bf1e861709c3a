//! What the runtime needs from a Deployment's pod template to start its pods, checked up front so
//! that an unsupported template is reported once, clearly, instead of failing at every start.

use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, PodTemplateSpec, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::LaunchError;

/// Kubernetes' default when a pod template does not set `terminationGracePeriodSeconds`.
const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30);

/// A pod template reduced to what a local process needs.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchTemplate {
    pub image: String,
    /// The container's `command` (which overrides the image's binary) and `args`, unexpanded.
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub env: Vec<EnvVar>,
    pub env_from: Vec<EnvFromSource>,
    pub ports: Vec<ContainerPort>,
    pub readiness: Option<ProbeSpec>,
    pub grace_period: Duration,
    pub scrape: Option<ScrapeSpec>,
    /// The pod template's labels, which Prometheus' Kubernetes discovery would offer for
    /// relabelling.
    pub labels: BTreeMap<String, String>,
    /// The ServiceAccount whose identity the pod's process gets, as a kubelet mounts its token;
    /// `None` when the template turns `automountServiceAccountToken` off.
    pub service_account: Option<String>,
    /// Changes whenever the pod template changes; pods of an older hash are rolled.
    pub hash: String,
}

/// A port the container declares; the runtime gives every replica its own local port for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub number: i32,
}

/// A port as probes and annotations refer to it: by number or by the container port's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(i32),
    Name(String),
}

/// How readiness is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAction {
    Http { port: PortRef, path: String },
    Tcp { port: PortRef },
}

/// A readiness probe with Kubernetes' defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub action: ProbeAction,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

/// Where Prometheus should scrape each replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeSpec {
    pub port: PortRef,
    pub path: String,
}

impl LaunchTemplate {
    /// Reads the first container of the Deployment's pod template.
    pub fn from_deployment(deployment: &Deployment) -> Result<Self, LaunchError> {
        let name = deployment.metadata.name.clone().unwrap_or_default();
        let invalid = |reason: String| LaunchError::Template {
            deployment: name.clone(),
            reason,
        };
        let template = deployment
            .spec
            .as_ref()
            .map(|spec| &spec.template)
            .ok_or_else(|| invalid("has no spec".to_owned()))?;
        let pod_spec = template
            .spec
            .as_ref()
            .ok_or_else(|| invalid("has no pod spec".to_owned()))?;
        let container = match pod_spec.containers.as_slice() {
            [container] => container,
            [] => return Err(invalid("has no container".to_owned())),
            more => {
                return Err(invalid(format!(
                    "has {} containers; the local runtime runs exactly one",
                    more.len()
                )));
            }
        };
        let image = container
            .image
            .clone()
            .ok_or_else(|| invalid(format!("container {} has no image", container.name)))?;
        let ports: Vec<ContainerPort> = container
            .ports
            .iter()
            .flatten()
            .map(|port| ContainerPort {
                name: port.name.clone(),
                number: port.container_port,
            })
            .collect();
        let readiness = container
            .readiness_probe
            .as_ref()
            .map(|probe| probe_spec(probe).map_err(&invalid))
            .transpose()?;
        if let Some(probe) = &readiness {
            let (ProbeAction::Http { port, .. } | ProbeAction::Tcp { port }) = &probe.action;
            if declared_port(&ports, port).is_none() {
                return Err(invalid(format!(
                    "has a readiness probe on port {port}, which is not a declared container \
                     port; the local runtime can only give replicas their own declared ports"
                )));
            }
        }
        let annotations = template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.as_ref());
        let labels = template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let service_account =
            (pod_spec.automount_service_account_token != Some(false)).then(|| {
                pod_spec
                    .service_account_name
                    .clone()
                    .unwrap_or_else(|| "default".to_owned())
            });
        let annotation = |key: &str| annotations.and_then(|a| a.get(key)).cloned();
        let scrape = scrape_spec(
            &ports,
            annotation("prometheus.io/scrape"),
            annotation("prometheus.io/port"),
            annotation("prometheus.io/path"),
        );
        let grace_period = pod_spec
            .termination_grace_period_seconds
            .map(|seconds| Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
            .unwrap_or(DEFAULT_GRACE_PERIOD);
        Ok(Self {
            image,
            command: container.command.clone().unwrap_or_default(),
            args: container.args.clone().unwrap_or_default(),
            env: container.env.clone().unwrap_or_default(),
            env_from: container.env_from.clone().unwrap_or_default(),
            ports,
            readiness,
            grace_period,
            scrape,
            labels,
            service_account,
            hash: template_hash(template),
        })
    }

    /// The number of a probe or scrape port, which may name a container port.
    pub fn container_port(&self, port: &PortRef) -> Option<i32> {
        match port {
            PortRef::Number(number) => Some(*number),
            PortRef::Name(_) => declared_port(&self.ports, port),
        }
    }
}

fn declared_port(ports: &[ContainerPort], port: &PortRef) -> Option<i32> {
    ports
        .iter()
        .find(|p| match port {
            PortRef::Number(number) => p.number == *number,
            PortRef::Name(name) => p.name.as_deref() == Some(name.as_str()),
        })
        .map(|p| p.number)
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(number) => write!(f, "{number}"),
            PortRef::Name(name) => write!(f, "{name:?}"),
        }
    }
}

fn port_ref(port: &IntOrString) -> PortRef {
    match port {
        IntOrString::Int(number) => PortRef::Number(*number),
        IntOrString::String(name) => match name.parse() {
            Ok(number) => PortRef::Number(number),
            Err(_) => PortRef::Name(name.clone()),
        },
    }
}

fn seconds(value: Option<i32>, default: u64) -> Duration {
    Duration::from_secs(value.and_then(|v| u64::try_from(v).ok()).unwrap_or(default))
}

fn threshold(value: Option<i32>, default: u32) -> u32 {
    value
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

fn probe_spec(probe: &Probe) -> Result<ProbeSpec, String> {
    let action = if let Some(http) = &probe.http_get {
        if http
            .scheme
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case("http"))
        {
            return Err(
                "has an HTTPS readiness probe; the local runtime probes plain HTTP".to_owned(),
            );
        }
        ProbeAction::Http {
            port: port_ref(&http.port),
            path: http.path.clone().unwrap_or_else(|| "/".to_owned()),
        }
    } else if let Some(tcp) = &probe.tcp_socket {
        ProbeAction::Tcp {
            port: port_ref(&tcp.port),
        }
    } else {
        return Err("has a readiness probe that is neither httpGet nor tcpSocket".to_owned());
    };
    Ok(ProbeSpec {
        action,
        initial_delay: seconds(probe.initial_delay_seconds, 0),
        period: seconds(probe.period_seconds, 10),
        timeout: seconds(probe.timeout_seconds, 1),
        success_threshold: threshold(probe.success_threshold, 1),
        failure_threshold: threshold(probe.failure_threshold, 3),
    })
}

/// Scrape the `prometheus.io/port` annotation's port, else a port named `metrics` or `http`;
/// `prometheus.io/scrape: "false"` opts out.
fn scrape_spec(
    ports: &[ContainerPort],
    scrape: Option<String>,
    port: Option<String>,
    path: Option<String>,
) -> Option<ScrapeSpec> {
    if scrape.as_deref() == Some("false") {
        return None;
    }
    let port = match port {
        Some(port) => port_ref(&IntOrString::String(port)),
        None => ["metrics", "http"].iter().find_map(|wanted| {
            ports
                .iter()
                .find(|p| p.name.as_deref() == Some(wanted))
                .map(|p| PortRef::Number(p.number))
        })?,
    };
    Some(ScrapeSpec {
        port,
        path: path.unwrap_or_else(|| "/metrics".to_owned()),
    })
}

fn template_hash(template: &PodTemplateSpec) -> String {
    let mut hasher = DefaultHasher::new();
    serde_json::to_string(template)
        .unwrap_or_default()
        .hash(&mut hasher);
    format!("{:010x}", hasher.finish() & 0xff_ffff_ffff)
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
