//! The coffee-pipeline test bed, as seen from Rust.
//!
//! - [`testbed`] finds the real servers that `e2e/testbed up` started (Kafka, kube-apiserver,
//!   Prometheus) so tests can talk to them, and fails with instructions when they are not up.
//! - [`runtime`] is the local pod runtime: it plays kubelet and deployment controller for this
//!   product, running the Deployments it finds on the real API server as local processes.
//! - [`fixtures`], [`kafka`], [`prometheus`] and [`poll`] are what the end-to-end tests build on;
//!   [`ledger`] checks acknowledged orders against the status topic;
//!   [`process`] is the one harness that runs our services as processes in tests;
//!   [`binaries`] checks the binaries a command will run exist and are fresh;
//!   [`operator`] runs `coffee-operator` as a platform team would, [`chart`] is its Helm chart,
//!   [`install`] installs it (Helm or `manifests/`) and runs it as a Deployment, and [`load`]
//!   sends orders over HTTP.
//! - [`keda`] replays KEDA's Kafka scaler and the HPA: the reference the operator's
//!   autoscaler is measured against (benchmark and simulator), not part of the product.

pub mod audit;
pub mod binaries;
pub mod chart;
pub mod fixtures;
pub mod install;
pub mod kafka;
pub mod kafka_instance;
pub mod kafka_secured;
pub mod keda;
pub mod ledger;
pub mod load;
pub mod measure;
pub mod operator;
pub mod pipeline;
pub mod poll;
pub mod ports;
pub mod process;
pub mod prometheus;
pub mod runtime;
pub mod testbed;
