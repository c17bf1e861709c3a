//! A pod's environment, resolved the way the kubelet does it: `envFrom` first, then `env` in
//! order with `$(VAR)` expansion, ConfigMap and Secret references, and the downward-API fields a
//! local process can have. Container ports are then remapped to the replica's own local ports.

use std::collections::BTreeMap;

use super::LaunchError;
use super::template::LaunchTemplate;

/// The ConfigMaps and Secrets a template refers to, as fetched from the API server (Secret
/// values already decoded). A name that is absent here does not exist.
#[derive(Debug, Default, Clone)]
pub struct ReferencedData {
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
}

/// The identity of one local pod, for `fieldRef`s and `HOSTNAME`.
#[derive(Debug, Clone, Copy)]
pub struct PodIdentity<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
}

/// A container port and the local port this replica listens on instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortAssignment {
    pub container_port: i32,
    pub local_port: u16,
}

/// Names of the ConfigMaps and Secrets the template reads, to fetch before resolving.
pub fn referenced_names(template: &LaunchTemplate) -> (Vec<String>, Vec<String>) {
    let mut config_maps = Vec::new();
    let mut secrets = Vec::new();
    for source in &template.env_from {
        if let Some(r) = &source.config_map_ref {
            config_maps.push(r.name.clone());
        }
        if let Some(r) = &source.secret_ref {
            secrets.push(r.name.clone());
        }
    }
    for var in &template.env {
        let Some(from) = &var.value_from else {
            continue;
        };
        if let Some(r) = &from.config_map_key_ref {
            config_maps.push(r.name.clone());
        }
        if let Some(r) = &from.secret_key_ref {
            secrets.push(r.name.clone());
        }
    }
    config_maps.sort();
    config_maps.dedup();
    secrets.sort();
    secrets.dedup();
    (config_maps, secrets)
}

/// Resolves the environment of one replica. Every container port must reach the process through
/// some variable, or replicas would all listen on the same port.
pub fn resolve_env(
    template: &LaunchTemplate,
    pod: PodIdentity<'_>,
    ports: &[PortAssignment],
    data: &ReferencedData,
) -> Result<Vec<(String, String)>, LaunchError> {
    let mut env = Environment::default();
    env.set("HOSTNAME", pod.name.to_owned());
    for source in &template.env_from {
        let prefix = source.prefix.as_deref().unwrap_or("");
        let (kind, name, optional, map) = if let Some(r) = &source.config_map_ref {
            (
                "ConfigMap",
                &r.name,
                r.optional,
                data.config_maps.get(&r.name),
            )
        } else if let Some(r) = &source.secret_ref {
            ("Secret", &r.name, r.optional, data.secrets.get(&r.name))
        } else {
            continue;
        };
        match map {
            Some(map) => map
                .iter()
                .for_each(|(k, v)| env.set(&format!("{prefix}{k}"), v.clone())),
            None if optional == Some(true) => {}
            None => return Err(missing(kind, name, None)),
        }
    }
    for var in &template.env {
        let value = match (&var.value, &var.value_from) {
            (_, Some(from)) => {
                if let Some(r) = &from.config_map_key_ref {
                    lookup(&data.config_maps, "ConfigMap", &r.name, &r.key, r.optional)?
                } else if let Some(r) = &from.secret_key_ref {
                    lookup(&data.secrets, "Secret", &r.name, &r.key, r.optional)?
                } else if let Some(r) = &from.field_ref {
                    Some(field_value(&var.name, &r.field_path, pod)?)
                } else {
                    return Err(unsupported(&var.name, "resourceFieldRef is not supported"));
                }
            }
            (Some(value), None) => Some(env.expand(value)),
            (None, None) => Some(String::new()),
        };
        if let Some(value) = value {
            env.set(&var.name, value);
        }
    }
    env.remap_ports(ports)?;
    Ok(env.vars)
}

/// The container's command line for one replica, with `$(VAR)` expanded from its environment.
pub fn expand_args(args: &[String], env: &[(String, String)]) -> Vec<String> {
    let env = Environment { vars: env.to_vec() };
    args.iter().map(|arg| env.expand(arg)).collect()
}

#[derive(Debug, Default)]
struct Environment {
    vars: Vec<(String, String)>,
}

impl Environment {
    fn set(&mut self, name: &str, value: String) {
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value,
            None => self.vars.push((name.to_owned(), value)),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `$(NAME)` becomes NAME's value if defined, and stays as written otherwise; `$$` escapes.
    fn expand(&self, input: &str) -> String {
        let mut out = String::with_capacity(input.len());
        let mut rest = input;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
            } else if let Some(inner) = after.strip_prefix('(')
                && let Some(close) = inner.find(')')
            {
                let name = &inner[..close];
                match self.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[at..at + 2 + close + 1]),
                }
                rest = &inner[close + 1..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }

    fn remap_ports(&mut self, ports: &[PortAssignment]) -> Result<(), LaunchError> {
        for assignment in ports {
            let container_port = assignment.container_port.to_string();
            let mut passed = false;
            for (_, value) in self.vars.iter_mut().filter(|(_, v)| *v == container_port) {
                *value = assignment.local_port.to_string();
                passed = true;
            }
            if !passed {
                return Err(LaunchError::PortNotPassed {
                    port: assignment.container_port,
                });
            }
        }
        Ok(())
    }
}

fn lookup(
    maps: &BTreeMap<String, BTreeMap<String, String>>,
    kind: &'static str,
    name: &str,
    key: &str,
    optional: Option<bool>,
) -> Result<Option<String>, LaunchError> {
    match maps.get(name).and_then(|map| map.get(key)) {
        Some(value) => Ok(Some(value.clone())),
        None if optional == Some(true) => Ok(None),
        None => Err(missing(kind, name, Some(key))),
    }
}

fn field_value(var: &str, path: &str, pod: PodIdentity<'_>) -> Result<String, LaunchError> {
    match path {
        "metadata.name" => Ok(pod.name.to_owned()),
        "metadata.namespace" => Ok(pod.namespace.to_owned()),
        "status.podIP" | "status.hostIP" => Ok("127.0.0.1".to_owned()),
        "spec.nodeName" => Ok("localhost".to_owned()),
        other => Err(unsupported(
            var,
            &format!("fieldRef {other} is not supported"),
        )),
    }
}

fn missing(kind: &'static str, name: &str, key: Option<&str>) -> LaunchError {
    LaunchError::MissingReference {
        kind,
        name: name.to_owned(),
        key: key.map(str::to_owned),
    }
}

fn unsupported(var: &str, reason: &str) -> LaunchError {
    LaunchError::Env {
        var: var.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
