//! What to do about a pipeline's topics, decided from what Kafka reports (pure). Partitions
//! only grow: Kafka cannot remove partitions without losing their data and order, so a
//! decrease is refused and reported, never attempted.

use std::collections::BTreeMap;

use super::names::topics_of;
use crate::crd::CoffeeOrderPipeline;

/// A topic as the pipeline wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredTopic {
    pub name: String,
    pub partitions: i32,
    /// `None`: the broker's default.
    pub replication_factor: Option<i16>,
    /// Only these keys are managed; others stay as the cluster has them.
    pub config: BTreeMap<String, String>,
}

/// A topic as Kafka reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTopic {
    pub partitions: i32,
    /// Every setting in effect, defaults included.
    pub config: BTreeMap<String, String>,
    /// The settings set on the topic itself, by the operator or anyone else.
    pub set_on_topic: BTreeMap<String, String>,
}

/// One step towards the desired topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicAction {
    Create(DesiredTopic),
    AddPartitions {
        name: String,
        from: i32,
        to: i32,
    },
    /// Refused: reported as `TopicReady=False`, reason `PartitionDecreaseNotSupported`.
    RefuseDecrease {
        name: String,
        from: i32,
        to: i32,
    },
    /// Makes these the topic's own settings (drift or a spec change): the spec's keys at their
    /// desired values and every other key set on the topic as it is. The whole set, because
    /// AlterConfigs replaces it (IncrementalAlterConfigs, which would not need that, is not in
    /// rust-rdkafka, and FFI is not ours to write): a key the spec never named, set by an
    /// administrator, survives.
    SetConfig {
        name: String,
        config: BTreeMap<String, String>,
    },
}

/// The order, status, dead-letter and control topics of `pipeline`.
pub fn desired(pipeline: &CoffeeOrderPipeline) -> Vec<DesiredTopic> {
    let names = topics_of(pipeline);
    let kafka = &pipeline.spec.kafka;
    vec![
        DesiredTopic {
            name: names.orders,
            partitions: kafka.partitions,
            replication_factor: kafka.replication_factor,
            config: kafka.topic_config.clone(),
        },
        // One status record per order, forever: compaction keeps the latest per order id. As
        // many partitions as the order topic, so each consumer's statuses spread the same way.
        DesiredTopic {
            name: names.statuses,
            partitions: kafka.partitions,
            replication_factor: kafka.replication_factor,
            config: BTreeMap::from([("cleanup.policy".to_owned(), "compact".to_owned())]),
        },
        DesiredTopic {
            name: names.dead_letters,
            partitions: 1,
            replication_factor: kafka.replication_factor,
            config: BTreeMap::new(),
        },
        // One record per consumer group (the worker count): compaction keeps the latest, which
        // a consumer started later reads first.
        DesiredTopic {
            name: names.control,
            partitions: 1,
            replication_factor: kafka.replication_factor,
            config: BTreeMap::from([("cleanup.policy".to_owned(), "compact".to_owned())]),
        },
    ]
}

/// The steps that bring `observed` (absent: the topic does not exist) to `desired`.
pub fn plan(desired: &DesiredTopic, observed: Option<&ObservedTopic>) -> Vec<TopicAction> {
    let Some(observed) = observed else {
        return vec![TopicAction::Create(desired.clone())];
    };
    let mut actions = Vec::new();
    if desired.partitions > observed.partitions {
        actions.push(TopicAction::AddPartitions {
            name: desired.name.clone(),
            from: observed.partitions,
            to: desired.partitions,
        });
    } else if desired.partitions < observed.partitions {
        actions.push(TopicAction::RefuseDecrease {
            name: desired.name.clone(),
            from: observed.partitions,
            to: desired.partitions,
        });
    }
    let drifted = desired
        .config
        .iter()
        .any(|(key, value)| observed.config.get(key) != Some(value));
    if drifted {
        let mut config = observed.set_on_topic.clone();
        config.extend(desired.config.clone());
        actions.push(TopicAction::SetConfig {
            name: desired.name.clone(),
            config,
        });
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(partitions: i32, config: &[(&str, &str)]) -> DesiredTopic {
        DesiredTopic {
            name: "orders".into(),
            partitions,
            replication_factor: None,
            config: config
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        }
    }

    /// A topic whose settings were all set on it.
    fn observed(partitions: i32, config: &[(&str, &str)]) -> ObservedTopic {
        let config: BTreeMap<String, String> = config
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        ObservedTopic {
            partitions,
            set_on_topic: config.clone(),
            config,
        }
    }

    #[test]
    fn a_missing_topic_is_created() {
        assert_eq!(
            plan(&topic(6, &[]), None),
            vec![TopicAction::Create(topic(6, &[]))]
        );
    }

    #[test]
    fn a_topic_as_desired_needs_nothing() {
        let observed = observed(6, &[("retention.ms", "1000"), ("segment.ms", "9")]);
        assert!(plan(&topic(6, &[("retention.ms", "1000")]), Some(&observed)).is_empty());
    }

    #[test]
    fn more_partitions_are_added() {
        assert_eq!(
            plan(&topic(12, &[]), Some(&observed(6, &[]))),
            vec![TopicAction::AddPartitions {
                name: "orders".into(),
                from: 6,
                to: 12
            }]
        );
    }

    #[test]
    fn fewer_partitions_are_refused_never_applied() {
        assert_eq!(
            plan(&topic(3, &[]), Some(&observed(6, &[]))),
            vec![TopicAction::RefuseDecrease {
                name: "orders".into(),
                from: 6,
                to: 3
            }]
        );
    }

    #[test]
    fn config_drift_is_corrected() {
        let desired = topic(6, &[("retention.ms", "1000")]);
        assert_eq!(
            plan(&desired, Some(&observed(6, &[("retention.ms", "5")]))),
            vec![TopicAction::SetConfig {
                name: "orders".into(),
                config: desired.config.clone()
            }]
        );
    }

    #[test]
    fn settings_the_spec_does_not_name_survive_a_drift_correction() {
        let desired = topic(6, &[("retention.ms", "1000")]);
        let mut found = observed(
            6,
            &[("retention.ms", "5"), ("max.message.bytes", "2000000")],
        );
        found.config.insert("segment.ms".into(), "604800000".into());
        let actions = plan(&desired, Some(&found));
        let expected = BTreeMap::from([
            ("max.message.bytes".to_owned(), "2000000".to_owned()),
            ("retention.ms".to_owned(), "1000".to_owned()),
        ]);
        assert_eq!(
            actions,
            vec![TopicAction::SetConfig {
                name: "orders".into(),
                config: expected
            }],
            "the administrator's key stays, a default is not pinned"
        );
    }

    #[test]
    fn a_refused_decrease_still_corrects_config() {
        let actions = plan(&topic(3, &[("retention.ms", "1")]), Some(&observed(6, &[])));
        assert_eq!(actions.len(), 2);
    }
}
