//! Where and how a pipeline's pods run: scheduling, labels and annotations, pull secrets. The
//! same shape is the operator's default for every pipeline (flag `--pod-defaults`, chart value
//! `pipelineDefaults`), so a platform team sets it once and a pipeline overrides what it must.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference, Toleration, TopologySpreadConstraint,
};
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Scheduling, metadata and pull secrets of a workload's pods. A pipeline's settings are
/// merged over the operator's defaults: maps key by key, lists and single values replaced
/// when the pipeline gives them, pull secrets joined.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodOptions {
    /// Extra labels of the pods. The `app.kubernetes.io/` labels are the operator's: it selects
    /// the pods by them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 64))]
    #[x_kube(validation = Rule::new("self.all(k, !k.startsWith('app.kubernetes.io/'))").message("pod labels must not use the app.kubernetes.io/ prefix: the operator sets those labels and selects its pods by them"))]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations of the pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 64))]
    pub annotations: BTreeMap<String, String>,
    /// Node labels the pods must match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 64))]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations of the pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub tolerations: Vec<Toleration>,
    /// Node and pod (anti-)affinity of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// How the pods spread across zones or nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// PriorityClass of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub priority_class_name: Option<String>,
    /// Secrets for pulling the images from a private registry, joined with the operator's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub image_pull_secrets: Vec<LocalObjectReference>,
}

impl PodOptions {
    /// These options (a pipeline's) over `defaults` (the operator's).
    pub fn over(&self, defaults: &PodOptions) -> PodOptions {
        let map = |mine: &BTreeMap<String, String>, base: &BTreeMap<String, String>| {
            let mut merged = base.clone();
            merged.extend(mine.iter().map(|(k, v)| (k.clone(), v.clone())));
            merged
        };
        let mut pull_secrets = defaults.image_pull_secrets.clone();
        for secret in &self.image_pull_secrets {
            if !pull_secrets.iter().any(|s| s.name == secret.name) {
                pull_secrets.push(secret.clone());
            }
        }
        PodOptions {
            labels: map(&self.labels, &defaults.labels),
            annotations: map(&self.annotations, &defaults.annotations),
            node_selector: map(&self.node_selector, &defaults.node_selector),
            tolerations: given_or(&self.tolerations, &defaults.tolerations),
            affinity: self.affinity.clone().or_else(|| defaults.affinity.clone()),
            topology_spread_constraints: given_or(
                &self.topology_spread_constraints,
                &defaults.topology_spread_constraints,
            ),
            priority_class_name: self
                .priority_class_name
                .clone()
                .or_else(|| defaults.priority_class_name.clone()),
            image_pull_secrets: pull_secrets,
        }
    }
}

/// `given` unless it is empty.
fn given_or<T: Clone>(given: &[T], default: &[T]) -> Vec<T> {
    if given.is_empty() { default } else { given }.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: serde_json::Value) -> PodOptions {
        serde_json::from_value(json).expect("pod options")
    }

    #[test]
    fn maps_merge_key_by_key_with_the_pipeline_winning() {
        let defaults = options(serde_json::json!({
            "labels": {"team": "platform", "tier": "batch"},
            "nodeSelector": {"pool": "shared"},
        }));
        let pipeline = options(serde_json::json!({"labels": {"tier": "web"}}));
        let merged = pipeline.over(&defaults);
        assert_eq!(merged.labels["team"], "platform");
        assert_eq!(merged.labels["tier"], "web");
        assert_eq!(merged.node_selector["pool"], "shared");
    }

    #[test]
    fn lists_and_single_values_given_by_the_pipeline_replace_the_defaults() {
        let defaults = options(serde_json::json!({
            "tolerations": [{"key": "shared", "operator": "Exists"}],
            "priorityClassName": "low",
            "affinity": {"nodeAffinity": {}},
        }));
        let pipeline = options(serde_json::json!({
            "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        }));
        let merged = pipeline.over(&defaults);
        assert_eq!(merged.tolerations.len(), 1);
        assert_eq!(merged.tolerations[0].key.as_deref(), Some("dedicated"));
        assert_eq!(merged.priority_class_name.as_deref(), Some("low"));
        assert!(merged.affinity.is_some(), "the default affinity stays");
        let own = options(serde_json::json!({"priorityClassName": "high"})).over(&defaults);
        assert_eq!(own.priority_class_name.as_deref(), Some("high"));
    }

    #[test]
    fn pull_secrets_are_joined_without_repeats() {
        let defaults = options(serde_json::json!({"imagePullSecrets": [{"name": "registry"}]}));
        let pipeline = options(serde_json::json!({
            "imagePullSecrets": [{"name": "team-registry"}, {"name": "registry"}],
        }));
        let names: Vec<_> = pipeline
            .over(&defaults)
            .image_pull_secrets
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["registry", "team-registry"]);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = serde_json::from_value::<PodOptions>(serde_json::json!({"nodeSelectr": {}}))
            .expect_err("a misspelt field");
        assert!(error.to_string().contains("nodeSelectr"), "{error}");
    }
}
