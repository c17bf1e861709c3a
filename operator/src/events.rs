//! Kubernetes Events about pipelines, each one its own object.
//!
//! kube's `Recorder` folds events with the same type, reason and action on one object within
//! six minutes into a series that keeps the *first* note: three topics created in one
//! reconcile read as the first one three times, and the second scaling decision would show
//! the first one's numbers. Every decision here must be readable in `kubectl describe`, so
//! each event is created with a name of its own.

use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::PostParams;
use kube::{Api, Client, Resource, ResourceExt};
use tracing::{info, warn};

use crate::crd::CoffeeOrderPipeline;

/// The API server refuses notes longer than this.
const NOTE_LIMIT: usize = 1024;

/// Publishes events as the operator (`reportingController`) replica `instance`.
#[derive(Clone)]
pub struct Events {
    client: Client,
    instance: String,
}

impl Events {
    pub fn new(client: Client, instance: Option<String>) -> Self {
        Self {
            client,
            instance: instance.unwrap_or_else(|| format!("coffee-operator-{}", std::process::id())),
        }
    }

    /// Publishes an event about `pipeline`; failing to do so is logged, never fatal.
    pub async fn publish(
        &self,
        pipeline: &CoffeeOrderPipeline,
        warning: bool,
        reason: &str,
        action: &str,
        note: String,
    ) {
        info!(pipeline = %pipeline.name_any(), reason, %note, "event");
        let namespace = pipeline.namespace().unwrap_or_default();
        let now = k8s_openapi::jiff::Timestamp::now();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{}.{:x}", pipeline.name_any(), now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some(if warning { "Warning" } else { "Normal" }.to_owned()),
            reason: Some(reason.to_owned()),
            action: Some(action.to_owned()),
            note: Some(truncate(note)),
            regarding: Some(pipeline.object_ref(&())),
            reporting_controller: Some("coffee-pipeline.io/coffee-operator".to_owned()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        };
        let events: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Err(error) = events.create(&PostParams::default(), &event).await {
            warn!(%error, reason, "publishing an event failed");
        }
    }
}

fn truncate(mut note: String) -> String {
    if note.len() > NOTE_LIMIT {
        let mut end = NOTE_LIMIT - 3;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
        note.push_str("...");
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_note_is_cut_at_a_character_boundary() {
        let note = truncate("é".repeat(600));
        assert!(note.len() <= NOTE_LIMIT);
        assert!(note.ends_with("..."));
    }

    #[test]
    fn a_short_note_is_kept() {
        assert_eq!(truncate("created topic x".into()), "created topic x");
    }
}
