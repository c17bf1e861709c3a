//! What a service account asked the test bed's API server for, from its audit log (the test
//! bed logs every service account request at Metadata level), and the RBAC verbs those
//! requests needed: what an RBAC test compares with the rules it was granted.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::testbed::TestBed;

/// The audit log's file name in the test bed's log directory.
const AUDIT_LOG: &str = "kube-apiserver-audit.log";

/// A permission: API group, resource (with `/subresource`), verb.
pub type Permission = (String, String, String);

/// One request as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub permission: Permission,
    /// The object's name, when the request named one.
    pub name: Option<String>,
    pub code: u16,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    verb: String,
    user: User,
    #[serde(default)]
    object_ref: Option<ObjectRef>,
    #[serde(default)]
    response_status: Option<Status>,
}

#[derive(Deserialize)]
struct User {
    username: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectRef {
    #[serde(default)]
    api_group: String,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    subresource: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: u16,
}

/// The requests `user` (e.g. `system:serviceaccount:ns:name`) made so far, oldest first.
pub fn requests_of(bed: &TestBed, user: &str) -> anyhow::Result<Vec<Request>> {
    let path = Path::new(&bed.log_dir).join(AUDIT_LOG);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    Ok(parse(&text, user))
}

fn parse(text: &str, user: &str) -> Vec<Request> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Entry>(line).ok())
        .filter(|entry| entry.user.username == user)
        .filter_map(|entry| {
            let object = entry.object_ref?;
            let resource = match object.subresource {
                Some(sub) => format!("{}/{sub}", object.resource),
                None => object.resource,
            };
            Some(Request {
                permission: (object.api_group, resource, entry.verb),
                name: object.name,
                code: entry.response_status.map_or(0, |s| s.code),
            })
        })
        .collect()
}

/// The RBAC verbs the successful `requests` needed. A server-side apply is a `patch`, and one
/// that created its object (201) needed `create` as well: the API server authorizes both.
pub fn needed(requests: &[Request]) -> BTreeSet<Permission> {
    let mut needed = BTreeSet::new();
    for request in requests.iter().filter(|r| r.code < 400) {
        let (group, resource, verb) = request.permission.clone();
        if verb == "patch" && request.code == 201 {
            needed.insert((group.clone(), resource.clone(), "create".to_owned()));
        }
        needed.insert((group, resource, verb));
    }
    needed
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"{"verb":"patch","user":{"username":"me"},"objectRef":{"apiGroup":"apps","resource":"deployments","name":"a"},"responseStatus":{"code":201}}
{"verb":"patch","user":{"username":"me"},"objectRef":{"apiGroup":"apps","resource":"deployments","name":"a"},"responseStatus":{"code":200}}
{"verb":"patch","user":{"username":"me"},"objectRef":{"apiGroup":"x.io","resource":"things","subresource":"status","name":"a"},"responseStatus":{"code":200}}
{"verb":"get","user":{"username":"me"},"objectRef":{"resource":"secrets","name":"s"},"responseStatus":{"code":403}}
{"verb":"list","user":{"username":"someone-else"},"objectRef":{"resource":"pods"},"responseStatus":{"code":200}}
not json
"#;

    fn permission(group: &str, resource: &str, verb: &str) -> Permission {
        (group.to_owned(), resource.to_owned(), verb.to_owned())
    }

    #[test]
    fn only_the_users_requests_are_read() {
        let requests = parse(LOG, "me");
        assert_eq!(requests.len(), 4);
        assert_eq!(requests[3].code, 403);
        assert_eq!(requests[3].name.as_deref(), Some("s"));
    }

    #[test]
    fn an_apply_that_created_its_object_needed_create_too() {
        let needed = needed(&parse(LOG, "me"));
        assert!(needed.contains(&permission("apps", "deployments", "create")));
        assert!(needed.contains(&permission("apps", "deployments", "patch")));
    }

    #[test]
    fn subresources_are_their_own_permission_and_refusals_need_nothing() {
        let needed = needed(&parse(LOG, "me"));
        assert!(needed.contains(&permission("x.io", "things/status", "patch")));
        assert!(!needed.iter().any(|(_, resource, _)| resource == "secrets"));
    }
}
