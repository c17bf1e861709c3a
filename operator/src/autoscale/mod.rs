//! Lag-driven sizing of the consumers: pods and workers per pod.
//!
//! The pure core decides; thin shells read Kafka and act:
//! - [`lag`], [`tracker`], [`shape`], [`policy`], [`report`] and [`replicas`]: offsets → lag, rates, stalls → the next size and why, told as a person
//!   reads it (no I/O; unit- and property-tested, and replayed by the simulator).
//! - [`cluster`]: the Kafka clients, one set per cluster; [`scaler`]: one pipeline's loop;
//!   [`status`]: its part of the status; [`supervisor`]: a loop per pipeline while leading.

pub mod cluster;
pub mod lag;
pub mod metrics;
pub mod policy;
pub mod replicas;
pub mod report;
pub mod scaler;
pub mod shape;
#[cfg(test)]
mod simulation;
pub mod status;
pub mod supervisor;
pub mod tracker;
