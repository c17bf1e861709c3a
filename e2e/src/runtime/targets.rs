//! Prometheus scrape targets for local pods, written as file-based service discovery files
//! (one per Deployment) into the directory the test bed's Prometheus watches.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// One replica's metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub pod: String,
    pub port: u16,
    pub path: String,
}

/// The file_sd document for a Deployment's pods; labels say which pod a series came from.
pub fn file_sd_document(namespace: &str, deployment: &str, targets: &[Target]) -> Value {
    let groups: Vec<Value> = targets
        .iter()
        .map(|target| {
            json!({
                "targets": [format!("127.0.0.1:{}", target.port)],
                "labels": {
                    "namespace": namespace,
                    "deployment": deployment,
                    "pod": target.pod,
                    "__metrics_path__": target.path,
                },
            })
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
