//! The Kafka admin API as the reconciler needs it: observe a topic, carry out a
//! [`TopicAction`], delete topics. One admin client per bootstrap list, shared by every
//! pipeline on that cluster.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigSource, NewPartitions, NewTopic,
    ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use coffee_kafka::security::Security;

use crate::reconcile::topic::{ObservedTopic, TopicAction};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a topic operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaAdminError {
    /// The cluster did not answer (or the client could not be created).
    #[error("Kafka at {brokers} is unreachable: {source}")]
    Unreachable { brokers: String, source: KafkaError },
    /// The cluster answered and refused the operation.
    #[error("Kafka refused to {operation} topic {topic}: {reason}")]
    Refused {
        operation: &'static str,
        topic: String,
        reason: String,
    },
    /// The cluster refused the operation for want of an ACL.
    #[error(
        "Kafka refuses the pipeline's principal the {acl} ACL on topic {topic}, needed to {operation} it (README: Kafka ACLs)"
    )]
    NotAuthorized {
        operation: &'static str,
        topic: String,
        acl: &'static str,
    },
    /// A topic to create existed already (someone created it since it was observed absent).
    #[error("topic {topic} already exists")]
    AlreadyExists { topic: String },
}

impl KafkaAdminError {
    /// A short label for metrics and condition reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            KafkaAdminError::Unreachable { .. } => "KafkaUnreachable",
            KafkaAdminError::Refused { .. } => "KafkaRefused",
            KafkaAdminError::NotAuthorized { .. } => "KafkaNotAuthorized",
            KafkaAdminError::AlreadyExists { .. } => "TopicAlreadyExists",
        }
    }
}

type Admin = AdminClient<DefaultClientContext>;

#[derive(Default)]
pub struct KafkaAdmin {
    clients: Mutex<HashMap<(String, Security), Arc<Admin>>>,
}

impl KafkaAdmin {
    /// Keyed by everything that makes a connection, so a rotated password gets a new client.
    fn key(brokers: &str, security: &Security) -> (String, Security) {
        (brokers.to_owned(), security.clone())
    }

    /// Drops the client after a failure to reach the cluster: a fresh client starts with fresh
    /// connections (a broker restarted behind the same address was seen to leave an old admin
    /// client timing out for minutes).
    fn forget_if_unreachable<T>(
        &self,
        brokers: &str,
        security: &Security,
        result: Result<T, KafkaAdminError>,
    ) -> Result<T, KafkaAdminError> {
        if let Err(KafkaAdminError::Unreachable { .. }) = &result {
            self.clients
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&Self::key(brokers, security));
        }
        result
    }

    fn client(&self, brokers: &str, security: &Security) -> Result<Arc<Admin>, KafkaAdminError> {
        let key = Self::key(brokers, security);
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(&key) {
            return Ok(Arc::clone(client));
        }
        let client: Admin = client_config(brokers, security)
            .create()
            .map_err(|source| KafkaAdminError::Unreachable {
                brokers: brokers.to_owned(),
                source,
            })?;
        let client = Arc::new(client);
        clients.insert(key, Arc::clone(&client));
        Ok(client)
    }

    /// The topic's partitions and configuration; `None` when it does not exist.
    pub async fn observe(
        &self,
        brokers: &str,
        security: &Security,
        topic: &str,
    ) -> Result<Option<ObservedTopic>, KafkaAdminError> {
        let result = self.try_observe(brokers, security, topic).await;
        self.forget_if_unreachable(brokers, security, result)
    }

    async fn try_observe(
        &self,
        brokers: &str,
        security: &Security,
        topic: &str,
    ) -> Result<Option<ObservedTopic>, KafkaAdminError> {
        let client = self.client(brokers, security)?;
        let unreachable = |source| KafkaAdminError::Unreachable {
            brokers: brokers.to_owned(),
            source,
        };
        let for_metadata = Arc::clone(&client);
        let name = topic.to_owned();
        let metadata = tokio::task::spawn_blocking(move || {
            for_metadata.inner().fetch_metadata(Some(&name), TIMEOUT)
        })
        .await
        .map_err(|_| unreachable(KafkaError::Canceled))?
        .map_err(unreachable)?;
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Ok(None);
        };
        match found.error() {
            None => {}
            Some(code)
                if RDKafkaErrorCode::from(code) == RDKafkaErrorCode::UnknownTopicOrPartition =>
            {
                return Ok(None);
            }
            Some(code) => {
                return Err(refused("describe", topic, RDKafkaErrorCode::from(code)));
            }
        }
        let partitions = i32::try_from(found.partitions().len()).unwrap_or(i32::MAX);
        let described = client
            .describe_configs([&ResourceSpecifier::Topic(topic)], &options())
            .await
            .map_err(unreachable)?;
        let (mut config, mut set_on_topic) = (BTreeMap::new(), BTreeMap::new());
        for resource in described {
            // A refused description is not an empty one: drift correction would then rewrite
            // the topic's configs without the keys an administrator set.
            let resource = match resource {
                Ok(resource) => resource,
                // Deleted since its metadata was read: absent, as the metadata would say now.
                Err(RDKafkaErrorCode::UnknownTopicOrPartition) => return Ok(None),
                Err(code) if is_unreachable(code) => {
                    return Err(unreachable(KafkaError::AdminOp(code)));
                }
                Err(code) => return Err(refused("describe the configs of", topic, code)),
            };
            for entry in resource.entries {
                if let Some(value) = entry.value {
                    if entry.source == ConfigSource::DynamicTopic {
                        set_on_topic.insert(entry.name.clone(), value.clone());
                    }
                    config.insert(entry.name, value);
                }
            }
        }
        Ok(Some(ObservedTopic {
            partitions,
            config,
            set_on_topic,
        }))
    }

    /// Carries out `action` (a refused decrease is not an action on Kafka and does nothing).
    pub async fn apply(
        &self,
        brokers: &str,
        security: &Security,
        action: &TopicAction,
    ) -> Result<(), KafkaAdminError> {
        let result = self.try_apply(brokers, security, action).await;
        self.forget_if_unreachable(brokers, security, result)
    }

    async fn try_apply(
        &self,
        brokers: &str,
        security: &Security,
        action: &TopicAction,
    ) -> Result<(), KafkaAdminError> {
        let client = self.client(brokers, security)?;
        let unreachable = |source| KafkaAdminError::Unreachable {
            brokers: brokers.to_owned(),
            source,
        };
        let (operation, topic, results) = match action {
            TopicAction::Create(desired) => {
                let replication = desired
                    .replication_factor
                    .map_or(TopicReplication::Fixed(-1), |r| {
                        TopicReplication::Fixed(i32::from(r))
                    });
                let mut new = NewTopic::new(&desired.name, desired.partitions, replication);
                for (key, value) in &desired.config {
                    new = new.set(key, value);
                }
                let results = client
                    .create_topics([&new], &options())
                    .await
                    .map_err(unreachable)?;
                ("create", &desired.name, results)
            }
            TopicAction::AddPartitions { name, to, .. } => {
                let total = usize::try_from(*to).unwrap_or(0);
                let results = client
                    .create_partitions([&NewPartitions::new(name, total)], &options())
                    .await
                    .map_err(unreachable)?;
                ("add partitions to", name, results)
            }
            TopicAction::SetConfig { name, config } => {
                let mut alter = AlterConfig::new(ResourceSpecifier::Topic(name));
                for (key, value) in config {
                    alter = alter.set(key, value);
                }
                let results = client
                    .alter_configs([&alter], &options())
                    .await
                    .map_err(unreachable)?
                    .into_iter()
                    .map(|r| {
                        r.map(|_| name.clone())
                            .map_err(|(_, code)| (name.clone(), code))
                    })
                    .collect();
                ("configure", name, results)
            }
            TopicAction::RefuseDecrease { .. } => return Ok(()),
        };
        for result in results {
            match result {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) if operation == "create" => {
                    return Err(KafkaAdminError::AlreadyExists {
                        topic: topic.clone(),
                    });
                }
                Err((_, code)) if is_unreachable(code) => {
                    return Err(KafkaAdminError::Unreachable {
                        brokers: brokers.to_owned(),
                        source: KafkaError::AdminOp(code),
                    });
                }
                Err((_, code)) => return Err(refused(operation, topic, code)),
            }
        }
        Ok(())
    }

    /// Deletes `topics`; topics already gone count as deleted.
    pub async fn delete(
        &self,
        brokers: &str,
        security: &Security,
        topics: &[&str],
    ) -> Result<(), KafkaAdminError> {
        let result = self.try_delete(brokers, security, topics).await;
        self.forget_if_unreachable(brokers, security, result)
    }

    async fn try_delete(
        &self,
        brokers: &str,
        security: &Security,
        topics: &[&str],
    ) -> Result<(), KafkaAdminError> {
        let client = self.client(brokers, security)?;
        let results = client
            .delete_topics(topics, &options())
            .await
            .map_err(|source| KafkaAdminError::Unreachable {
                brokers: brokers.to_owned(),
                source,
            })?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
                Err((_, code)) if is_unreachable(code) => {
                    return Err(KafkaAdminError::Unreachable {
                        brokers: brokers.to_owned(),
                        source: KafkaError::AdminOp(code),
                    });
                }
                Err((topic, code)) => return Err(refused("delete", &topic, code)),
            }
        }
        Ok(())
    }
}

/// The settings every Kafka client of the operator starts from: the cluster, how to reach it,
/// and a client id that names the operator in the brokers' logs and quotas.
pub fn client_config(brokers: &str, security: &Security) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "coffee-operator");
    security.apply(&mut config);
    config
}

fn options() -> AdminOptions {
    AdminOptions::new()
        .operation_timeout(Some(TIMEOUT))
        .request_timeout(Some(TIMEOUT))
}

/// Kafka's "no" to `operation` on `topic`: for want of an ACL, named, or for another reason.
fn refused(operation: &'static str, topic: &str, code: RDKafkaErrorCode) -> KafkaAdminError {
    let topic = topic.to_owned();
    match acl_for(operation) {
        Some(acl) if is_not_authorized(code) => KafkaAdminError::NotAuthorized {
            operation,
            topic,
            acl,
        },
        _ => KafkaAdminError::Refused {
            operation,
            topic,
            reason: code.to_string(),
        },
    }
}

/// The ACL operation on a topic that Kafka checks for each of ours.
fn acl_for(operation: &str) -> Option<&'static str> {
    match operation {
        "describe" => Some("Describe"),
        "describe the configs of" => Some("DescribeConfigs"),
        "create" => Some("Create"),
        "add partitions to" => Some("Alter"),
        "configure" => Some("AlterConfigs"),
        "delete" => Some("Delete"),
        _ => None,
    }
}

/// Only the topic's own refusal: a cluster-level one would need a cluster ACL, which the
/// message would misname.
fn is_not_authorized(code: RDKafkaErrorCode) -> bool {
    code == RDKafkaErrorCode::TopicAuthorizationFailed
}

/// Codes that mean "no answer" rather than "no".
fn is_unreachable(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::NetworkException
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_for_want_of_an_acl_names_the_acl() {
        let error = refused(
            "create",
            "orders",
            RDKafkaErrorCode::TopicAuthorizationFailed,
        );
        assert_eq!(error.kind(), "KafkaNotAuthorized");
        assert_eq!(
            error.to_string(),
            "Kafka refuses the pipeline's principal the Create ACL on topic orders, needed to create it (README: Kafka ACLs)"
        );
    }

    #[test]
    fn every_operation_names_the_acl_kafka_checks() {
        for (operation, acl) in [
            ("describe", "Describe"),
            ("describe the configs of", "DescribeConfigs"),
            ("create", "Create"),
            ("add partitions to", "Alter"),
            ("configure", "AlterConfigs"),
            ("delete", "Delete"),
        ] {
            let error = refused(operation, "t", RDKafkaErrorCode::TopicAuthorizationFailed);
            assert!(
                matches!(error, KafkaAdminError::NotAuthorized { acl: named, .. } if named == acl),
                "{operation}: {error}"
            );
        }
    }

    #[test]
    fn other_refusals_keep_kafka_s_reason() {
        let error = refused("create", "t", RDKafkaErrorCode::InvalidReplicationFactor);
        assert_eq!(error.kind(), "KafkaRefused");
        assert!(error.to_string().contains("replication"), "{error}");
    }
}
