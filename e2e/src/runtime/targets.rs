//! Prometheus scrape targets for local pods, written as file-based service discovery files
//! (one per Deployment) into the directory the test bed's Prometheus watches. Each file names
//! the runtime process that wrote it, so that the files of a runtime that was killed (and so
//! never removed them) are swept away by the next one instead of being scraped forever.

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
    let pid = std::process::id();
    dir.join(format!("runtime_{pid}_{namespace}_{deployment}.json"))
}

/// The pid of the runtime that wrote a targets file named `name`, if it is one.
fn writer_of(name: &str) -> Option<u32> {
    name.strip_prefix("runtime_")?
        .split('_')
        .next()?
        .parse()
        .ok()
}

/// Removes the targets files no running runtime owns: those whose writer has exited, and those
/// of the older format that named no writer.
pub fn sweep_orphans(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        other => other?,
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("runtime_") || !name.ends_with(".json") {
            continue;
        }
        let alive = writer_of(&name).is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
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
    fn the_files_of_runtimes_that_exited_are_swept_and_ours_kept() {
        let dir = std::env::temp_dir().join(format!("coffee-targets-sweep-{}", std::process::id()));
        write(&dir, "shop", "web", &[target("web-1", 4000)]).unwrap();
        // No process has pid 0 here, and the old format named no writer.
        std::fs::write(dir.join("runtime_0_gone_web.json"), "[]").unwrap();
        std::fs::write(dir.join("runtime_gone_web.json"), "[]").unwrap();
        assert_eq!(sweep_orphans(&dir).unwrap(), 2);
        assert!(file_for(&dir, "shop", "web").exists());
        remove(&dir, "shop", "web").unwrap();
        std::fs::remove_dir(&dir).unwrap();
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
