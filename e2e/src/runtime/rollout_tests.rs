use super::*;

fn pod(name: &str, current: bool, ready: bool) -> PodView {
    PodView {
        name: name.into(),
        current,
        ready,
    }
}

fn starts(actions: &[Action]) -> usize {
    actions.iter().filter(|a| **a == Action::Start).count()
}

fn stopped(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Stop(name) => Some(name.as_str()),
            Action::Start => None,
        })
        .collect()
}

#[test]
fn scale_up_from_nothing_starts_all_replicas_at_once() {
    assert_eq!(plan(3, &[]), vec![Action::Start; 3]);
}

#[test]
fn settled_deployment_needs_nothing() {
    let pods = [pod("a", true, true), pod("b", true, false)];
    assert!(plan(2, &pods).is_empty());
}

#[test]
fn scale_up_starts_only_the_missing_replicas() {
    let pods = [pod("a", true, true), pod("b", true, true)];
    assert_eq!(plan(3, &pods), vec![Action::Start]);
}

#[test]
fn scale_down_stops_unready_then_newest_pods() {
    let pods = [
        pod("a", true, true),
        pod("b", true, false),
        pod("c", true, true),
    ];
    assert_eq!(stopped(&plan(1, &pods)), vec!["b", "c"]);
}

#[test]
fn scale_to_zero_stops_everything() {
    let pods = [pod("a", true, true), pod("b", false, true)];
    let actions = plan(0, &pods);
    assert_eq!(stopped(&actions).len(), 2);
    assert_eq!(starts(&actions), 0);
}

#[test]
fn rollout_starts_one_surge_pod_and_keeps_old_ones_ready() {
    let pods = [pod("old1", false, true), pod("old2", false, true)];
    assert_eq!(plan(2, &pods), vec![Action::Start]);
}

#[test]
fn rollout_waits_while_the_new_pod_is_not_ready() {
    let pods = [
        pod("old1", false, true),
        pod("old2", false, true),
        pod("new1", true, false),
    ];
    assert!(plan(2, &pods).is_empty());
}

#[test]
fn rollout_replaces_one_old_pod_per_ready_new_pod() {
    let pods = [
        pod("old1", false, true),
        pod("old2", false, true),
        pod("new1", true, true),
    ];
    let actions = plan(2, &pods);
    assert_eq!(stopped(&actions), vec!["old2"]);
    assert_eq!(starts(&actions), 1);
}

#[test]
fn rollout_finishes_when_all_new_pods_are_ready() {
    let pods = [
        pod("old1", false, true),
        pod("new1", true, true),
        pod("new2", true, true),
    ];
    assert_eq!(stopped(&plan(2, &pods)), vec!["old1"]);
}

#[test]
fn unready_old_pods_are_stopped_immediately() {
    let pods = [pod("old1", false, false), pod("old2", false, true)];
    let actions = plan(2, &pods);
    assert_eq!(stopped(&actions), vec!["old1"]);
    // The unready pod's place is taken at once, plus the one surge replica.
    assert_eq!(starts(&actions), 2);
}

#[test]
fn a_new_template_that_never_gets_ready_keeps_the_old_pods() {
    let pods = [pod("old1", false, true), pod("new1", true, false)];
    assert!(plan(1, &pods).is_empty());
}

#[test]
fn starts_never_exceed_one_surge_replica_nor_take_away_ready_pods() {
    for desired in 0..5 {
        for old in 0..5 {
            for new in 0..5 {
                let mut pods: Vec<PodView> = (0..old)
                    .map(|i| pod(&format!("o{i}"), false, true))
                    .collect();
                pods.extend((0..new).map(|i| pod(&format!("n{i}"), true, true)));
                let actions = plan(desired, &pods);
                let after = pods.len() - stopped(&actions).len() + starts(&actions);
                assert!(
                    starts(&actions) == 0 || after <= desired + 1,
                    "desired {desired}, old {old}, new {new}: {actions:?}"
                );
                let ready_after = pods.len() - stopped(&actions).len();
                assert!(
                    ready_after >= desired.min(pods.len()),
                    "desired {desired}, old {old}, new {new}: took away ready pods: {actions:?}"
                );
            }
        }
    }
}
