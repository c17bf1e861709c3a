//! The chart's RBAC is what the operator's requests use, verb for verb: every granted verb was
//! needed by a request the API server audited, and no request was refused.

use std::collections::BTreeSet;

use e2e::audit::{self, Permission};
use e2e::install::Installed;
use e2e::operator::kubectl;
use serde_json::Value;

/// The rules of a (Cluster)Role as the API server has it.
fn rules(installed: &Installed, args: &[&str]) -> Vec<Value> {
    let output =
        kubectl(&installed.bed, &[args, &["-o", "json"]].concat(), None).expect("kubectl runs");
    assert!(output.status.success(), "kubectl {args:?}: {output:?}");
    let role: Value = serde_json::from_slice(&output.stdout).expect("a role as JSON");
    role["rules"].as_array().cloned().unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn permissions(rules: &[Value]) -> BTreeSet<Permission> {
    let mut granted = BTreeSet::new();
    for rule in rules {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    granted.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    granted
}

/// Checks the operator's requests so far against the release's ClusterRole and its leader
/// election Role: the same permissions, nothing refused, the Lease the only one touched by name.
pub fn assert_rules_match_requests(installed: &Installed) {
    let namespace = &installed.operator.namespace;
    let user = format!("system:serviceaccount:{namespace}:{}", installed.name);
    let requests = audit::requests_of(&installed.bed, &user).expect("the audit log");
    let refused: Vec<_> = requests.iter().filter(|r| r.code == 403).collect();
    assert!(refused.is_empty(), "requests refused: {refused:?}");

    let cluster_rules = rules(installed, &["get", "clusterrole", &installed.name]);
    let lease_role = format!("{}-leader-election", installed.name);
    let lease_rules = rules(installed, &["get", "role", &lease_role, "-n", namespace]);
    let granted: BTreeSet<Permission> = permissions(&cluster_rules)
        .union(&permissions(&lease_rules))
        .cloned()
        .collect();
    let needed = audit::needed(&requests);
    let unused: Vec<_> = granted.difference(&needed).collect();
    assert!(
        unused.is_empty(),
        "granted but never needed: {unused:?}\nneeded: {needed:?}"
    );
    assert_eq!(granted, needed);

    let named: BTreeSet<String> = lease_rules
        .iter()
        .flat_map(|rule| strings(&rule["resourceNames"]))
        .collect();
    let leases: BTreeSet<String> = requests
        .iter()
        .filter(|r| r.permission.1 == "leases")
        .filter_map(|r| r.name.clone())
        .collect();
    assert_eq!(named, leases, "the Lease rules name exactly the Lease used");
}
