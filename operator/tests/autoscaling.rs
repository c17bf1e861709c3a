//! The autoscaler's closed loop on the test bed: the real operator (under its ServiceAccount),
//! Kafka, the API server, and the local runtime running real producer and consumer processes
//! that brew for real; orders arrive over HTTP. Each scenario checks what it claims from
//! outside the operator too: Kafka through an independent reader of the group's offsets, the
//! processes the runtime runs, the Deployment as the API server has it, and the Events.

#[path = "pipeline/support.rs"]
mod support;

#[path = "autoscaling/scenario.rs"]
mod scenario;

#[path = "autoscaling/observe.rs"]
mod observe;
#[path = "autoscaling/restart.rs"]
mod restart;
#[path = "autoscaling/scale.rs"]
mod scale;
#[path = "autoscaling/stall.rs"]
mod stall;
