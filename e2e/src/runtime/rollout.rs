//! Deciding which pods to start and stop, like a Deployment's RollingUpdate with maxSurge 1 and
//! maxUnavailable 0: a changed template never takes away a ready replica before its replacement
//! is ready, and a scale change happens at once.

/// What the planner needs to know about one running (not terminating) pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    pub name: String,
    /// Runs the Deployment's current pod template.
    pub current: bool,
    pub ready: bool,
}

/// One step towards the desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start one pod of the current template.
    Start,
    /// Stop this pod (SIGTERM, then SIGKILL after the grace period).
    Stop(String),
}

/// The actions that move `pods` towards `desired` replicas of the current template. Pods are
/// given oldest first; among equals, the newest and not-ready ones are stopped first.
pub fn plan(desired: usize, pods: &[PodView]) -> Vec<Action> {
    let (current, old): (Vec<&PodView>, Vec<&PodView>) = pods.iter().partition(|p| p.current);
    let mut actions = Vec::new();

    // Too many of the current template: drop the least useful.
    if current.len() > desired {
        actions.extend(stop_order(&current).take(current.len() - desired).map(stop));
    }
    let current_count = current.len().min(desired);
    let current_ready = current.iter().filter(|p| p.ready).count().min(desired);

    // Old pods that are not ready serve nobody: stop them now. Ready old pods go only once
    // enough current pods are ready to keep `desired` replicas available.
    let (old_ready, old_unready): (Vec<&PodView>, Vec<&PodView>) =
        old.iter().partition(|p| p.ready);
    actions.extend(old_unready.iter().map(|p| stop(p)));
    let keep_old = desired.saturating_sub(current_ready).min(old_ready.len());
    actions.extend(
        stop_order(&old_ready)
            .take(old_ready.len() - keep_old)
            .map(stop),
    );

    // Start what is missing, with at most one replica above `desired` while old pods remain.
    let missing = desired - current_count;
    let room = (desired + usize::from(keep_old > 0)).saturating_sub(current_count + keep_old);
    actions.extend(std::iter::repeat_n(Action::Start, missing.min(room)));
    actions
}

fn stop_order<'a>(pods: &[&'a PodView]) -> impl Iterator<Item = &'a PodView> {
    let mut ordered = pods.to_vec();
    // Not ready first, then newest first (pods arrive oldest first).
    ordered.reverse();
    ordered.sort_by_key(|p| p.ready);
    ordered.into_iter()
}

fn stop(pod: &PodView) -> Action {
    Action::Stop(pod.name.clone())
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod tests;
