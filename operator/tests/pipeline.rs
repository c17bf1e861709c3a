//! `coffee-operator` as a real process under its own least-privilege ServiceAccount, against
//! the test bed's API server (with the controller manager's garbage collector), Kafka, and the
//! local pod runtime running the Deployments it creates.

#[path = "pipeline/support.rs"]
mod support;

#[path = "pipeline/lifecycle.rs"]
mod lifecycle;
#[path = "pipeline/ownership.rs"]
mod ownership;
#[path = "pipeline/resilience.rs"]
mod resilience;
#[path = "pipeline/rotation.rs"]
mod rotation;
#[path = "pipeline/sasl.rs"]
mod sasl;
#[path = "pipeline/secured.rs"]
mod secured;
#[path = "pipeline/security.rs"]
mod security;
