//! Which pipeline a topic belongs to, so that many teams can share one Kafka cluster: a
//! pipeline owns the order topic it created (or adopted on purpose) with its derived topics and
//! group, never reads, changes or deletes another's, and never takes a topic nobody owns by
//! accident. Decided here from what Kafka shows (pure); the record itself is kept on the broker
//! by [`crate::owner_record`], where any tool can read it, and in the pipeline's status.

use serde::{Deserialize, Serialize};

use crate::crd::CoffeeOrderPipeline;

/// Who owns a topic: written to the pipeline's control topic under [`OWNER_KEY`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub namespace: String,
    pub name: String,
    /// The pipeline object's uid: a pipeline deleted and created again under the same name is
    /// a new owner, and must adopt its predecessor's topic on purpose.
    pub uid: String,
}

/// The control topic's key of the owner record (worker counts are keyed by group id, which
/// never contains `/`).
pub const OWNER_KEY: &str = "coffee-pipeline.io/owner";

impl Owner {
    pub fn of(pipeline: &CoffeeOrderPipeline) -> Self {
        Self {
            namespace: pipeline.metadata.namespace.clone().unwrap_or_default(),
            name: pipeline.metadata.name.clone().unwrap_or_default(),
            uid: pipeline.metadata.uid.clone().unwrap_or_default(),
        }
    }
}

/// Whether the status records the pipeline's order topic as its own: only then may anything act
/// on its topics and group — the autoscaler included, which would otherwise read another team's
/// offsets and set another team's worker count (a conflicting pipeline derives the same group
/// and control topic).
pub fn claims_its_topic(pipeline: &CoffeeOrderPipeline) -> bool {
    let claimed = pipeline
        .status
        .as_ref()
        .and_then(|s| s.claimed_topic.as_deref());
    claimed == Some(super::names::topics_of(pipeline).orders.as_str())
}

/// What a pipeline may do with its order topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Its own already: go on.
    Owned,
    /// Nobody's yet: create the topics, then record the pipeline as their owner.
    Create,
    /// An existing topic taken on purpose (or used by this pipeline before owners were
    /// recorded): record the pipeline as its owner, with an Event saying so.
    Adopt { why: &'static str },
    /// Another's, or nobody's without an adoption asked for: touch nothing.
    Conflict { message: String },
}

/// Decides from whether the order topic `topic` exists and whose record it carries.
pub fn decide(
    pipeline: &CoffeeOrderPipeline,
    topic: &str,
    exists: bool,
    record: Option<&Owner>,
) -> Claim {
    let status = pipeline.status.as_ref();
    if status.and_then(|s| s.claimed_topic.as_deref()) == Some(topic) {
        return Claim::Owned;
    }
    let me = Owner::of(pipeline);
    match (exists, record) {
        (false, _) => Claim::Create,
        (true, Some(owner)) if owner.uid == me.uid => Claim::Owned,
        // A pipeline deleted with `Retain` and created again: the same namespace and name, a
        // new uid. Its topic, on purpose only.
        (true, Some(owner))
            if owner.namespace == me.namespace
                && owner.name == me.name
                && pipeline.spec.kafka.adopt_existing_topic =>
        {
            Claim::Adopt {
                why: "kafka.adoptExistingTopic is true and a pipeline of this name owned it before",
            }
        }
        (true, Some(owner)) => Claim::Conflict {
            message: format!(
                "topic {topic} belongs to pipeline {}/{}; choose another kafka.topic",
                owner.namespace, owner.name
            ),
        },
        (true, None) if status.and_then(|s| s.topic.as_deref()) == Some(topic) => Claim::Adopt {
            why: "this pipeline used it before topic owners were recorded",
        },
        (true, None) if pipeline.spec.kafka.adopt_existing_topic => Claim::Adopt {
            why: "kafka.adoptExistingTopic is true",
        },
        (true, None) => Claim::Conflict {
            message: format!(
                "topic {topic} exists and no pipeline owns it; set kafka.adoptExistingTopic: true to take it, or choose another kafka.topic"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::CoffeeOrderPipelineStatus;

    fn pipeline(uid: &str) -> CoffeeOrderPipeline {
        let mut pipeline: CoffeeOrderPipeline = serde_json::from_value(serde_json::json!({
            "apiVersion": "coffee-pipeline.io/v1alpha1",
            "kind": "CoffeeOrderPipeline",
            "metadata": {"name": "bar", "namespace": "shop", "uid": uid},
            "spec": {"kafka": {"bootstrapServers": "k:9092", "partitions": 1}},
        }))
        .expect("a pipeline");
        pipeline.status = None;
        pipeline
    }

    fn owner(namespace: &str, uid: &str) -> Owner {
        Owner {
            namespace: namespace.into(),
            name: "bar".into(),
            uid: uid.into(),
        }
    }

    #[test]
    fn a_topic_nobody_has_is_created() {
        assert_eq!(
            decide(&pipeline("u1"), "shop.bar", false, None),
            Claim::Create
        );
    }

    #[test]
    fn a_topic_recorded_as_ours_is_ours() {
        let record = owner("shop", "u1");
        assert_eq!(
            decide(&pipeline("u1"), "shop.bar", true, Some(&record)),
            Claim::Owned
        );
    }

    #[test]
    fn a_topic_claimed_in_the_status_needs_no_record_read() {
        let mut mine = pipeline("u1");
        mine.status = Some(CoffeeOrderPipelineStatus {
            claimed_topic: Some("shop.bar".into()),
            ..Default::default()
        });
        assert_eq!(decide(&mine, "shop.bar", true, None), Claim::Owned);
    }

    #[test]
    fn another_pipelines_topic_is_a_conflict_naming_the_owner() {
        let record = owner("other-team", "u2");
        let Claim::Conflict { message } = decide(&pipeline("u1"), "bar", true, Some(&record))
        else {
            panic!("not a conflict");
        };
        assert!(message.contains("other-team/bar"), "{message}");
    }

    #[test]
    fn a_topic_without_an_owner_is_a_conflict_unless_adopted_on_purpose() {
        let mut mine = pipeline("u1");
        assert!(matches!(
            decide(&mine, "legacy", true, None),
            Claim::Conflict { .. }
        ));
        mine.spec.kafka.adopt_existing_topic = true;
        assert!(matches!(
            decide(&mine, "legacy", true, None),
            Claim::Adopt { .. }
        ));
    }

    #[test]
    fn a_topic_this_pipeline_used_before_owners_were_recorded_is_adopted() {
        let mut mine = pipeline("u1");
        mine.status = Some(CoffeeOrderPipelineStatus {
            topic: Some("bar".into()),
            ..Default::default()
        });
        assert!(matches!(
            decide(&mine, "bar", true, None),
            Claim::Adopt { .. }
        ));
    }

    #[test]
    fn only_a_pipeline_whose_status_claims_its_topic_may_be_acted_on() {
        let mut mine = pipeline("u1");
        assert!(!claims_its_topic(&mine));
        mine.status = Some(CoffeeOrderPipelineStatus {
            claimed_topic: Some("shop.bar".into()),
            ..Default::default()
        });
        assert!(claims_its_topic(&mine));
        mine.spec.kafka.topic = Some("elsewhere".into());
        assert!(!claims_its_topic(&mine));
    }

    #[test]
    fn a_recreated_pipeline_of_the_same_name_takes_its_topic_back_only_on_purpose() {
        let record = owner("shop", "old-uid");
        let mut again = pipeline("new-uid");
        assert!(matches!(
            decide(&again, "shop.bar", true, Some(&record)),
            Claim::Conflict { .. }
        ));
        again.spec.kafka.adopt_existing_topic = true;
        assert!(matches!(
            decide(&again, "shop.bar", true, Some(&record)),
            Claim::Adopt { .. }
        ));
        let others = owner("other-team", "old-uid");
        assert!(matches!(
            decide(&again, "shop.bar", true, Some(&others)),
            Claim::Conflict { .. }
        ));
    }
}
