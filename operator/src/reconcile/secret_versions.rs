//! Rolling the pods when a Secret they read changes. The workloads read credentials from env
//! (`secretKeyRef`), which a running pod never sees change; so each pod template carries the
//! `resourceVersion` of every Secret its pod reads, and a rotation changes the template, which
//! rolls the Deployment. Versions rather than a hash of the contents: a hash of a short
//! password would put something guessable into every reader's view of the Deployment, a
//! version tells nothing about the contents.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use super::names::Workload;
use crate::crd::CoffeeOrderPipelineSpec;

/// The pod template annotation holding the versions.
pub const ANNOTATION: &str = "coffee-pipeline.io/secret-versions";

/// Stands in for the version of a Secret that does not exist (yet): its creation changes the
/// template once more, though a pod waiting for it would start without a roll.
const ABSENT: &str = "absent";

/// The `resourceVersion` of each Secret a pipeline's pods read, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretVersions(BTreeMap<String, String>);

/// The Secrets the pods of `workload` read: the Kafka credentials for both, the listing
/// token for the order intake only (so that rotating it does not rebalance the consumers).
pub fn read_by(spec: &CoffeeOrderPipelineSpec, workload: Workload) -> Vec<String> {
    let kafka = &spec.kafka;
    let mut names: Vec<String> = kafka
        .tls
        .iter()
        .flat_map(|tls| [&tls.ca_secret, &tls.cert_secret, &tls.key_secret])
        .flatten()
        .map(|r| r.name.clone())
        .chain(kafka.sasl.iter().map(|s| s.secret_name.clone()))
        .collect();
    if workload == Workload::Producer
        && let Some(token) = &spec.producer.orders_list_token_secret
    {
        names.push(token.name.clone());
    }
    names.sort();
    names.dedup();
    names
}

impl SecretVersions {
    /// The annotation's value for a pod that reads `names`: `name=version` joined by commas,
    /// or `None` when it reads no Secret. A Secret never read yet has no version: the value
    /// is only as old as the last successful read.
    pub fn annotation(&self, names: &[String]) -> Option<String> {
        let pairs: Vec<String> = names
            .iter()
            .filter_map(|name| Some(format!("{name}={}", self.0.get(name)?)))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join(","))
    }

    /// Reads the current versions of `names` (metadata only: the operator needs no Secret's
    /// contents for this).
    pub async fn read(
        client: &Client,
        namespace: &str,
        names: &[String],
    ) -> Result<Self, kube::Error> {
        let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let mut versions = BTreeMap::new();
        for name in names {
            let version = match secrets.get_metadata_opt(name).await? {
                Some(secret) => secret.metadata.resource_version.unwrap_or_default(),
                None => ABSENT.to_owned(),
            };
            versions.insert(name.clone(), version);
        }
        Ok(Self(versions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{SaslSpec, SecretKeyRef, TlsSpec};

    fn spec() -> CoffeeOrderPipelineSpec {
        serde_json::from_value(serde_json::json!({
            "kafka": {"bootstrapServers": "k:9092", "partitions": 1},
        }))
        .expect("a spec")
    }

    fn versions(pairs: &[(&str, &str)]) -> SecretVersions {
        SecretVersions(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_pipeline_without_secrets_reads_none() {
        assert!(read_by(&spec(), Workload::Consumer).is_empty());
        assert_eq!(versions(&[]).annotation(&[]), None);
    }

    #[test]
    fn kafka_secrets_are_read_by_both_workloads_once_each() {
        let mut spec = spec();
        let key = |name: &str| {
            Some(SecretKeyRef {
                name: name.into(),
                key: "k".into(),
            })
        };
        spec.kafka.tls = Some(TlsSpec {
            ca_secret: key("kafka-tls"),
            cert_secret: key("kafka-tls"),
            key_secret: key("kafka-tls"),
        });
        spec.kafka.sasl = Some(SaslSpec {
            mechanism: crate::crd::SaslMechanism::ScramSha512,
            secret_name: "kafka-user".into(),
            username_key: "username".into(),
            password_key: "password".into(),
        });
        for workload in [Workload::Producer, Workload::Consumer] {
            assert_eq!(read_by(&spec, workload), ["kafka-tls", "kafka-user"]);
        }
    }

    #[test]
    fn the_listing_token_is_read_by_the_order_intake_only() {
        let mut spec = spec();
        spec.producer.orders_list_token_secret = Some(SecretKeyRef {
            name: "support".into(),
            key: "token".into(),
        });
        assert_eq!(read_by(&spec, Workload::Producer), ["support"]);
        assert!(read_by(&spec, Workload::Consumer).is_empty());
    }

    #[test]
    fn the_annotation_names_each_secret_with_its_version() {
        let known = versions(&[("kafka-user", "812"), ("support", "absent")]);
        let names = ["kafka-user".to_owned(), "support".to_owned()];
        assert_eq!(
            known.annotation(&names).as_deref(),
            Some("kafka-user=812,support=absent")
        );
    }

    #[test]
    fn a_secret_not_read_yet_is_left_out() {
        let known = versions(&[("kafka-user", "812")]);
        let names = ["kafka-user".to_owned(), "support".to_owned()];
        assert_eq!(known.annotation(&names).as_deref(), Some("kafka-user=812"));
    }
}
