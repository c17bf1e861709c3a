//! Sizing the consumers. For now the pipeline runs its minimum; the lag-driven policy arrives
//! with the autoscaling issue and plugs in here, behind [`policy::decide`].

pub mod policy;
