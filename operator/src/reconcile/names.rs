//! Names and labels of everything a pipeline owns, derived from the pipeline so that every
//! reconcile finds the same objects.

use std::collections::BTreeMap;

use crate::crd::CoffeeOrderPipeline;

/// The two workloads of a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Producer,
    Consumer,
}

impl Workload {
    /// The binary (and image name) of the workload.
    pub fn binary(self) -> &'static str {
        match self {
            Workload::Producer => "coffee-producer",
            Workload::Consumer => "coffee-consumer",
        }
    }

    fn component(self) -> &'static str {
        match self {
            Workload::Producer => "order-intake",
            Workload::Consumer => "order-processing",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Workload::Producer => "producer",
            Workload::Consumer => "consumer",
        }
    }
}

/// The name of a pipeline's object for `workload`: Deployment, Service, PDB, ServiceAccount.
pub fn workload_name(pipeline: &str, workload: Workload) -> String {
    format!("{pipeline}-{}", workload.suffix())
}

/// Labels that select a workload's pods (never change: a Deployment's selector is immutable).
pub fn selector_labels(pipeline: &str, workload: Workload) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/name".to_owned(),
            workload.binary().to_owned(),
        ),
        ("app.kubernetes.io/instance".to_owned(), pipeline.to_owned()),
    ])
}

/// Every label of a workload's objects.
pub fn labels(pipeline: &str, workload: Workload) -> BTreeMap<String, String> {
    let mut labels = selector_labels(pipeline, workload);
    labels.extend([
        (
            "app.kubernetes.io/component".to_owned(),
            workload.component().to_owned(),
        ),
        (
            "app.kubernetes.io/part-of".to_owned(),
            "coffee-pipeline".to_owned(),
        ),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "coffee-operator".to_owned(),
        ),
    ]);
    labels
}

pub use coffee_kafka::names::TopicNames;

/// The topics of `pipeline`: its order topic and those derived from it.
pub fn topics_of(pipeline: &CoffeeOrderPipeline) -> TopicNames {
    TopicNames::for_orders(&order_topic(pipeline))
}

/// The order topic: the spec's; else the one the status recorded (a pipeline keeps the topic it
/// has, also the name-only default of earlier versions); else `<namespace>.<name>`. A namespace
/// has no `.`, so the first one tells namespace and name apart and no two pipelines share a
/// default.
fn order_topic(pipeline: &CoffeeOrderPipeline) -> String {
    if let Some(topic) = &pipeline.spec.kafka.topic {
        return topic.clone();
    }
    let recorded = pipeline.status.as_ref().and_then(|s| s.topic.clone());
    recorded.unwrap_or_else(|| {
        format!(
            "{}.{}",
            pipeline.metadata.namespace.as_deref().unwrap_or_default(),
            pipeline.metadata.name.as_deref().unwrap_or_default()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::CoffeeOrderPipelineStatus;

    fn pipeline(namespace: &str, topic: Option<&str>) -> CoffeeOrderPipeline {
        let mut pipeline: CoffeeOrderPipeline = serde_json::from_value(serde_json::json!({
            "apiVersion": "coffee-pipeline.io/v1alpha1",
            "kind": "CoffeeOrderPipeline",
            "metadata": {"name": "espresso-bar", "namespace": namespace},
            "spec": {"kafka": {"bootstrapServers": "k:9092", "partitions": 1}},
        }))
        .expect("a pipeline");
        pipeline.spec.kafka.topic = topic.map(str::to_owned);
        pipeline
    }

    #[test]
    fn pipelines_of_one_name_in_two_namespaces_get_their_own_topics_and_groups() {
        let a = topics_of(&pipeline("a", None));
        let b = topics_of(&pipeline("b", None));
        assert_eq!(a.orders, "a.espresso-bar");
        assert_eq!(b.group(), "b.espresso-bar-processor");
        assert_ne!(a.group(), b.group());
    }

    #[test]
    fn a_topic_named_in_the_spec_is_used_as_it_is() {
        assert_eq!(topics_of(&pipeline("a", Some("orders"))).orders, "orders");
    }

    #[test]
    fn a_pipeline_keeps_the_topic_its_status_recorded() {
        let mut older = pipeline("a", None);
        older.status = Some(CoffeeOrderPipelineStatus {
            topic: Some("espresso-bar".into()),
            ..Default::default()
        });
        assert_eq!(topics_of(&older).orders, "espresso-bar");
    }
}
