//! The controller's watches: the pipelines and the four kinds of objects they own, each with
//! a back-off of its own, its errors logged here and kept from the controller. kube-runtime
//! merges every trigger watch into one stream behind one back-off, and each watch reports its
//! error only when the stream is polled again — so after a kube-apiserver restart, when every
//! watch fails in turn (connection refused, `403` while the new server's RBAC cache fills,
//! `410 Expired` for resource versions older than its watch cache), every error paused them
//! all. With client-go's 800 ms doubling to 30 s the operator reconciled nothing for over 90 s
//! after a restart (the chaos suite); with one back-off capped at 5 s, 40 s (eight errors in a
//! row); with a back-off per watch, they recover side by side.

use std::fmt::Debug;
use std::time::Duration;

use std::sync::Arc;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::NamespaceResourceScope;
use kube::api::PartialObjectMeta;
use kube::runtime::utils::{Backoff, ResetTimerBackoff};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tracing::warn;

use crate::http::Listed;

const FIRST: Duration = Duration::from_millis(250);
const MOST: Duration = Duration::from_secs(5);
/// Quiet time after which the next error starts from [`FIRST`] again.
const RESET_AFTER: Duration = Duration::from_secs(30);

/// Doubling waits from `first` up to `most`.
#[derive(Debug, Clone)]
pub struct Doubling {
    first: Duration,
    next: Duration,
    most: Duration,
}

impl Doubling {
    pub fn new(first: Duration, most: Duration) -> Self {
        Self {
            first,
            next: first,
            most,
        }
    }
}

impl Iterator for Doubling {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let wait = self.next;
        self.next = (self.next * 2).min(self.most);
        Some(wait)
    }
}

impl Backoff for Doubling {
    fn reset(&mut self) {
        self.next = self.first;
    }
}

/// Objects of kind `K` in the watched `namespace`, or in all when it is `None`.
pub fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// The back-off of one watch.
pub fn for_watches() -> ResetTimerBackoff<Doubling> {
    ResetTimerBackoff::new(Doubling::new(FIRST, MOST), RESET_AFTER)
}

/// The name under which a watch of `K` reports its first list to the readiness probe.
pub fn name_of<K: Resource<DynamicType = ()>>() -> String {
    K::plural(&()).into_owned()
}

/// Marks the watch of `K` listed at its first `InitDone`: from then on its store holds every
/// object, so a leader acts on a complete picture.
pub fn note_listed<K: Resource<DynamicType = ()>>(
    event: &watcher::Event<impl Sized>,
    listed: &Listed,
) {
    if matches!(event, watcher::Event::InitDone) {
        listed.mark(&name_of::<K>());
    }
}

/// The objects of one kind the operator owns, as triggers: their metadata watched with a
/// back-off of its own, marked in `listed` once it has listed them.
pub fn owned<K>(
    api: Api<PartialObjectMeta<K>>,
    config: watcher::Config,
    listed: &Arc<Listed>,
) -> impl Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let listed = Arc::clone(listed);
    quiet(
        watcher(api, config)
            .backoff(for_watches())
            .inspect_ok(move |event| note_listed::<K>(event, &listed))
            .touched_objects(),
    )
}

/// `stream` without its errors, each logged: the watch behind it retries on its own.
pub fn quiet<T, S>(stream: S) -> impl Stream<Item = Result<T, watcher::Error>> + Send + 'static
where
    S: Stream<Item = Result<T, watcher::Error>> + Send + 'static,
    T: Send + 'static,
{
    stream.filter_map(|item| async move {
        match item {
            Ok(object) => Some(Ok(object)),
            Err(error) => {
                warn!(%error, "a watch failed; it retries by itself");
                None
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let waits: Vec<Duration> = Doubling::new(FIRST, MOST).take(7).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 5000, 5000]);
    }

    #[test]
    fn a_reset_starts_from_the_first_wait_again() {
        let mut backoff = Doubling::new(FIRST, MOST);
        backoff.by_ref().take(4).for_each(drop);
        backoff.reset();
        assert_eq!(backoff.next(), Some(FIRST));
    }

    #[test]
    fn a_watch_counts_as_listed_at_its_first_init_done_only() {
        use k8s_openapi::api::apps::v1::Deployment;
        let listed = Listed::new([name_of::<Deployment>()]);
        let object = Deployment::default();
        for event in [
            watcher::Event::Init,
            watcher::Event::InitApply(object.clone()),
            watcher::Event::Apply(object),
        ] {
            note_listed::<Deployment>(&event, &listed);
            assert_eq!(listed.waiting(), ["deployments"]);
        }
        note_listed::<Deployment>(&watcher::Event::<Deployment>::InitDone, &listed);
        assert!(listed.waiting().is_empty());
    }

    #[test]
    fn five_errors_in_a_row_wait_under_fifteen_seconds_in_all() {
        let total: Duration = for_watches().take(5).sum();
        assert!(total < Duration::from_secs(15), "{total:?}");
    }
}
