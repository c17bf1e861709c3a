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

/// The pipeline's topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicNames {
    pub orders: String,
    pub statuses: String,
    pub dead_letters: String,
    /// Where the operator sets the consumers' worker count live (`{"workers": N}` keyed by
    /// the group id).
    pub control: String,
}

impl TopicNames {
    pub fn of(pipeline: &CoffeeOrderPipeline) -> Self {
        let orders = pipeline
            .spec
            .kafka
            .topic
            .clone()
            .unwrap_or_else(|| pipeline.metadata.name.clone().unwrap_or_default());
        Self {
            statuses: format!("{orders}-status"),
            dead_letters: format!("{orders}-dead-letters"),
            control: format!("{orders}-control"),
            orders,
        }
    }

    /// The consumer group of the pipeline's consumers.
    pub fn group(&self) -> String {
        format!("{}-processor", self.orders)
    }

    /// Every topic, the order topic first.
    pub fn all(&self) -> [&str; 4] {
        [
            &self.orders,
            &self.statuses,
            &self.dead_letters,
            &self.control,
        ]
    }
}
