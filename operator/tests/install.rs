//! Installing the operator as a platform team would: the Helm chart (linted, rendered and checked
//! by the real API server), `manifests/` rendered from it, the alert rules and the dashboard
//! against real series, the images, and `helm install` running the operator on the test bed
//! under its own ServiceAccount.

#[path = "install/alerts.rs"]
mod alerts;
#[path = "install/chart.rs"]
mod chart;
#[path = "install/clusters.rs"]
mod clusters;
#[path = "install/images.rs"]
mod images;
#[path = "install/lifecycle.rs"]
mod lifecycle;
#[path = "install/monitoring.rs"]
mod monitoring;
#[path = "install/rbac.rs"]
mod rbac;
#[path = "install/release.rs"]
mod release;
