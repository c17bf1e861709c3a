//! Prometheus scrape targets for local pods, written as file-based service discovery files
//! (one per Deployment) into the directory the test bed's Prometheus watches.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// One replica's metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub pod: String,
    pub port: u16,
    pub path: String,
    /// The pod's labels, offered for relabelling as Kubernetes discovery offers them.
    pub pod_labels: BTreeMap<String, String>,
}

/// The meta label under which Prometheus' Kubernetes discovery offers a pod label: its name
/// with every character that is not a letter, digit or underscore made an underscore.
fn pod_label_meta(name: &str) -> String {
    let sanitized: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("__meta_kubernetes_pod_label_{sanitized}")
}

/// The file_sd document for a Deployment's pods; labels say which pod a series came from, and the
/// pods' own labels are there for the scrape configuration to relabel, as in a cluster.
pub fn file_sd_document(namespace: &str, deployment: &str, targets: &[Target]) -> Value {
    let groups: Vec<Value> = targets
        .iter()
        .map(|target| {
            let mut labels = serde_json::Map::new();
            for (name, value) in &target.pod_labels {
                labels.insert(pod_label_meta(name), json!(value));
            }
            labels.insert("namespace".into(), json!(namespace));
            labels.insert("deployment".into(), json!(deployment));
            labels.insert("pod".into(), json!(target.pod));
            labels.insert("__metrics_path__".into(), json!(target.path));
            json!({ "targets": [format!("127.0.0.1:{}", target.port)], "labels": labels })
        })
        .collect();
    Value::Array(groups)
}

fn file_for(dir: &Path, namespace: &str, deployment: &str) -> PathBuf {
    dir.join(format!("runtime_{namespace}_{deployment}.json"))
}

/// Replaces the Deployment's targets file atomically, so Prometheus never reads half a file.
pub fn write(dir: &Path, namespace: &str, deployment: &str, targets: &[Target]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = file_for(dir, namespace, deployment);
    let temporary = path.with_extension("json.tmp");
    let document = file_sd_document(namespace, deployment, targets);
    std::fs::write(&temporary, serde_json::to_vec_pretty(&document)?)?;
    std::fs::rename(&temporary, &path)
}

/// Removes the Deployment's targets file; a file that is already gone is fine.
pub fn remove(dir: &Path, namespace: &str, deployment: &str) -> io::Result<()> {
    match std::fs::remove_file(file_for(dir, namespace, deployment)) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(pod: &str, port: u16) -> Target {
        Target {
            pod: pod.into(),
            port,
            path: "/metrics".into(),
            pod_labels: BTreeMap::from([(
                "app.kubernetes.io/instance".to_owned(),
                "espresso".to_owned(),
            )]),
        }
    }

    #[test]
    fn every_pod_is_a_labelled_loopback_target() {
        let document = file_sd_document(
            "shop",
            "web",
            &[target("web-1", 4000), target("web-2", 4001)],
        );
        assert_eq!(document[1]["targets"][0], "127.0.0.1:4001");
        assert_eq!(document[1]["labels"]["pod"], "web-2");
        assert_eq!(document[1]["labels"]["namespace"], "shop");
        assert_eq!(document[0]["labels"]["__metrics_path__"], "/metrics");
    }

    #[test]
    fn pod_labels_are_offered_as_kubernetes_discovery_meta_labels() {
        let document = file_sd_document("shop", "web", &[target("web-1", 4000)]);
        assert_eq!(
            document[0]["labels"]["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
            "espresso"
        );
    }

    #[test]
    fn write_then_remove_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("coffee-targets-test-{}", std::process::id()));
        write(&dir, "shop", "web", &[target("web-1", 4000)]).unwrap();
        let written: Value =
            serde_json::from_slice(&std::fs::read(file_for(&dir, "shop", "web")).unwrap()).unwrap();
        assert_eq!(written[0]["targets"][0], "127.0.0.1:4000");
        remove(&dir, "shop", "web").unwrap();
        remove(&dir, "shop", "web").unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir(&dir).unwrap();
    }
}
