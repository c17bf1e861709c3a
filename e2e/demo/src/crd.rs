//! The CRD as the demo found it, and put back so when the demo ends.
//!
//! The demo's release installs the CRD (or takes over the one it finds, as the chart's README
//! tells a platform team moving to Helm). The chart keeps the CRD on `helm uninstall`, so without
//! this the CRD outlived the release still labelled as `coffee-demo`'s, and Helm refused to hand it
//! to any other release: the README's `helm install coffee-operator …` after a demo failed with
//! "invalid ownership metadata". What the demo saw is written to a file before it changes
//! anything, so that a kept demo's `--down`, or the next run after a demo stopped by force, can
//! still put it back.

use std::path::PathBuf;

use anyhow::Context;
use e2e::install::CRD;
use e2e::operator::{kubectl, repo, succeed};
use e2e::testbed::TestBed;
use serde::{Deserialize, Serialize};

use crate::system::RELEASE;

/// The label and annotations by which Helm tells which release owns an object.
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
const RELEASE_NAME: &str = "meta.helm.sh/release-name";
const RELEASE_NAMESPACE: &str = "meta.helm.sh/release-namespace";

/// What the demo found before its release touched the CRD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// Whether the CRD existed at all.
    pub existed: bool,
    pub managed_by: Option<String>,
    pub release_name: Option<String>,
    pub release_namespace: Option<String>,
}

/// What to do to the CRD once the demo's release is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restore {
    /// The demo created it and nothing else uses it: delete it.
    Delete,
    /// Set each ownership key to its value (`None` removes it).
    Metadata(Found),
    /// The CRD no longer names the demo's release (someone else took it over): leave it.
    Leave,
}

/// What putting the CRD back means, from what the demo found (`None`: no record, as after a
/// demo of an earlier version), whether the CRD still names the demo's release, and whether any
/// pipeline is left in the cluster (deleting the CRD would delete those too).
pub fn plan(found: Option<&Found>, names_demo: bool, pipelines_left: bool) -> Restore {
    if !names_demo {
        return Restore::Leave;
    }
    match found {
        Some(found) if !found.existed && !pipelines_left => Restore::Delete,
        Some(found) if found.existed => Restore::Metadata(found.clone()),
        // Created by the demo but in use, or no record: the demo's release no longer owns it.
        _ => Restore::Metadata(Found::default()),
    }
}

fn record_file() -> PathBuf {
    repo().join("target/demo/crd-found.json")
}

/// Records the CRD as it is now, unless a record of an unfinished demo is still waiting to be
/// restored (then that earlier state is the one to come back to); says whether it exists.
pub fn remember(bed: &TestBed) -> anyhow::Result<bool> {
    let found = read(bed)?;
    let file = record_file();
    if !file.is_file() {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&file, serde_json::to_vec(&found)?)
            .with_context(|| format!("writing {}", file.display()))?;
    }
    Ok(found.existed)
}

/// Puts the CRD back as [`remember`] found it; call once the demo's release is uninstalled.
/// Returns what was done, for the person to read.
pub fn restore(bed: &TestBed) -> anyhow::Result<&'static str> {
    let file = record_file();
    let found: Option<Found> = std::fs::read(&file)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let now = read(bed)?;
    let names_demo = now.existed && now.release_name.as_deref() == Some(RELEASE);
    // Only a CRD that exists can have pipelines to ask about (kubectl knows no `cop` without it).
    let pipelines_left = names_demo && pipelines_left(bed)?;
    let said = match plan(found.as_ref(), names_demo, pipelines_left) {
        Restore::Leave => "the CRD is not the demo's release's; left as it is",
        Restore::Delete => {
            let args = [
                "delete",
                "crd",
                CRD,
                "--ignore-not-found",
                "--wait",
                "--timeout=60s",
            ];
            succeed(kubectl(bed, &args, None)?, "deleting the demo's CRD")?;
            "deleted the CRD the demo created"
        }
        Restore::Metadata(found) => {
            set_ownership(bed, &found)?;
            "the CRD's Helm ownership is back as the demo found it"
        }
    };
    std::fs::remove_file(&file).ok();
    Ok(said)
}

fn read(bed: &TestBed) -> anyhow::Result<Found> {
    let output = kubectl(
        bed,
        &["get", "crd", CRD, "--ignore-not-found", "-o", "json"],
        None,
    )?;
    let text = succeed(output, "reading the CRD")?;
    if text.trim().is_empty() {
        return Ok(Found::default());
    }
    let crd: serde_json::Value = serde_json::from_str(&text).context("the CRD as JSON")?;
    let metadata = &crd["metadata"];
    let field = |section: &str, key: &str| metadata[section][key].as_str().map(str::to_owned);
    Ok(Found {
        existed: true,
        managed_by: field("labels", MANAGED_BY),
        release_name: field("annotations", RELEASE_NAME),
        release_namespace: field("annotations", RELEASE_NAMESPACE),
    })
}

fn pipelines_left(bed: &TestBed) -> anyhow::Result<bool> {
    let output = kubectl(bed, &["get", "cop", "-A", "-o", "name"], None)?;
    Ok(!succeed(output, "listing pipelines")?.trim().is_empty())
}

/// `key=value`, or `key-` (remove) where the value is `None`.
fn setting(key: &str, value: Option<&String>) -> String {
    value.map_or_else(|| format!("{key}-"), |v| format!("{key}={v}"))
}

fn set_ownership(bed: &TestBed, found: &Found) -> anyhow::Result<()> {
    let label = setting(MANAGED_BY, found.managed_by.as_ref());
    let args = ["label", "--overwrite", "crd", CRD, &label];
    succeed(kubectl(bed, &args, None)?, "restoring the CRD's label")?;
    let name = setting(RELEASE_NAME, found.release_name.as_ref());
    let namespace = setting(RELEASE_NAMESPACE, found.release_namespace.as_ref());
    let args = ["annotate", "--overwrite", "crd", CRD, &name, &namespace];
    succeed(
        kubectl(bed, &args, None)?,
        "restoring the CRD's annotations",
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found_owned_by(release: &str) -> Found {
        Found {
            existed: true,
            managed_by: Some("Helm".to_owned()),
            release_name: Some(release.to_owned()),
            release_namespace: Some("elsewhere".to_owned()),
        }
    }

    #[test]
    fn a_crd_the_demo_created_is_deleted_when_no_pipeline_is_left() {
        assert_eq!(plan(Some(&Found::default()), true, false), Restore::Delete);
    }

    #[test]
    fn a_crd_the_demo_created_but_others_use_only_loses_the_demos_ownership() {
        assert_eq!(
            plan(Some(&Found::default()), true, true),
            Restore::Metadata(Found::default())
        );
    }

    #[test]
    fn a_crd_that_existed_gets_its_ownership_back() {
        let found = found_owned_by("coffee-operator");
        assert_eq!(
            plan(Some(&found), true, true),
            Restore::Metadata(found.clone())
        );
        assert_eq!(plan(Some(&found), true, false), Restore::Metadata(found));
    }

    #[test]
    fn a_crd_taken_over_by_another_release_is_left_alone() {
        assert_eq!(plan(Some(&Found::default()), false, false), Restore::Leave);
        assert_eq!(plan(None, false, false), Restore::Leave);
    }

    #[test]
    fn without_a_record_the_crd_is_never_deleted() {
        assert_eq!(plan(None, true, false), Restore::Metadata(Found::default()));
    }

    #[test]
    fn a_missing_ownership_key_is_removed() {
        assert_eq!(setting(MANAGED_BY, None), "app.kubernetes.io/managed-by-");
        assert_eq!(
            setting(RELEASE_NAME, Some(&"x".to_owned())),
            "meta.helm.sh/release-name=x"
        );
    }
}
