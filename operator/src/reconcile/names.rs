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

/// The topics of `pipeline`: its order topic (the spec's, or the pipeline's name) and those
/// derived from it.
pub fn topics_of(pipeline: &CoffeeOrderPipeline) -> TopicNames {
    let orders = pipeline.spec.kafka.topic.as_deref();
    TopicNames::for_orders(orders.unwrap_or(pipeline.metadata.name.as_deref().unwrap_or_default()))
}
