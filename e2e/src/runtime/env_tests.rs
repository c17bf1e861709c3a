use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar};
use serde_json::json;

use super::*;
use crate::runtime::template::{ContainerPort, LaunchTemplate};

const POD: PodIdentity<'static> = PodIdentity {
    name: "web-abc-1",
    namespace: "shop",
};

fn template(env: serde_json::Value, env_from: serde_json::Value) -> LaunchTemplate {
    LaunchTemplate {
        image: "coffee-testpod".into(),
        command: vec![],
        args: vec![],
        env: serde_json::from_value::<Vec<EnvVar>>(env).unwrap(),
        env_from: serde_json::from_value::<Vec<EnvFromSource>>(env_from).unwrap(),
        ports: vec![ContainerPort {
            name: Some("http".into()),
            number: 8080,
        }],
        readiness: None,
        grace_period: std::time::Duration::from_secs(1),
        scrape: None,
        labels: Default::default(),
        service_account: None,
        hash: "h".into(),
    }
}

fn data() -> ReferencedData {
    let mut data = ReferencedData::default();
    data.config_maps.insert(
        "settings".into(),
        [
            ("COLOR".to_owned(), "blue".to_owned()),
            ("SIZE".to_owned(), "L".to_owned()),
        ]
        .into(),
    );
    data.secrets.insert(
        "creds".into(),
        [("password".to_owned(), "s3cret".to_owned())].into(),
    );
    data
}

fn get<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn hostname_is_the_pod_name() {
    let env = resolve_env(&template(json!([]), json!([])), POD, &[], &data()).unwrap();
    assert_eq!(get(&env, "HOSTNAME"), Some("web-abc-1"));
}

#[test]
fn config_map_and_secret_keys_are_resolved() {
    let t = template(
        json!([
            { "name": "C", "valueFrom": { "configMapKeyRef": { "name": "settings", "key": "COLOR" } } },
            { "name": "P", "valueFrom": { "secretKeyRef": { "name": "creds", "key": "password" } } },
        ]),
        json!([]),
    );
    let env = resolve_env(&t, POD, &[], &data()).unwrap();
    assert_eq!(
        (get(&env, "C"), get(&env, "P")),
        (Some("blue"), Some("s3cret"))
    );
}

#[test]
fn env_from_applies_prefix_and_env_overrides_it() {
    let t = template(
        json!([{ "name": "APP_SIZE", "value": "XL" }]),
        json!([{ "prefix": "APP_", "configMapRef": { "name": "settings" } }]),
    );
    let env = resolve_env(&t, POD, &[], &data()).unwrap();
    assert_eq!(
        (get(&env, "APP_COLOR"), get(&env, "APP_SIZE")),
        (Some("blue"), Some("XL"))
    );
}

#[test]
fn missing_config_map_key_names_map_and_key() {
    let t = template(
        json!([{ "name": "X", "valueFrom": { "configMapKeyRef": { "name": "settings", "key": "NOPE" } } }]),
        json!([]),
    );
    let error = resolve_env(&t, POD, &[], &data()).unwrap_err().to_string();
    assert!(
        error.contains("ConfigMap settings") && error.contains("NOPE"),
        "{error}"
    );
}

#[test]
fn optional_missing_reference_is_skipped() {
    let t = template(
        json!([{ "name": "X", "valueFrom": { "secretKeyRef": { "name": "gone", "key": "k", "optional": true } } }]),
        json!([{ "configMapRef": { "name": "also-gone", "optional": true } }]),
    );
    let env = resolve_env(&t, POD, &[], &data()).unwrap();
    assert_eq!(get(&env, "X"), None);
}

#[test]
fn missing_env_from_secret_is_an_error() {
    let t = template(json!([]), json!([{ "secretRef": { "name": "gone" } }]));
    let error = resolve_env(&t, POD, &[], &data()).unwrap_err().to_string();
    assert!(error.contains("Secret gone"), "{error}");
}

#[test]
fn field_refs_give_pod_identity() {
    let t = template(
        json!([
            { "name": "POD", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } },
            { "name": "NS", "valueFrom": { "fieldRef": { "fieldPath": "metadata.namespace" } } },
            { "name": "IP", "valueFrom": { "fieldRef": { "fieldPath": "status.podIP" } } },
        ]),
        json!([]),
    );
    let env = resolve_env(&t, POD, &[], &data()).unwrap();
    assert_eq!(get(&env, "POD"), Some("web-abc-1"));
    assert_eq!(get(&env, "NS"), Some("shop"));
    assert_eq!(get(&env, "IP"), Some("127.0.0.1"));
}

#[test]
fn unknown_field_ref_is_an_error_naming_the_variable() {
    let t = template(
        json!([{ "name": "UID", "valueFrom": { "fieldRef": { "fieldPath": "metadata.uid" } } }]),
        json!([]),
    );
    let error = resolve_env(&t, POD, &[], &data()).unwrap_err().to_string();
    assert!(
        error.contains("UID") && error.contains("metadata.uid"),
        "{error}"
    );
}

#[test]
fn dependent_variables_are_expanded_and_unknown_ones_kept() {
    let t = template(
        json!([
            { "name": "A", "value": "x" },
            { "name": "B", "value": "$(A)-$(MISSING)-$$(A)" },
        ]),
        json!([]),
    );
    let env = resolve_env(&t, POD, &[], &data()).unwrap();
    assert_eq!(get(&env, "B"), Some("x-$(MISSING)-$(A)"));
}

#[test]
fn container_port_in_env_is_replaced_by_the_local_port() {
    let t = template(
        json!([{ "name": "SERVER_PORT", "value": "8080" }]),
        json!([]),
    );
    let ports = [PortAssignment {
        container_port: 8080,
        local_port: 41000,
    }];
    let env = resolve_env(&t, POD, &ports, &data()).unwrap();
    assert_eq!(get(&env, "SERVER_PORT"), Some("41000"));
}

#[test]
fn container_port_not_passed_in_env_is_an_error() {
    let t = template(json!([]), json!([]));
    let ports = [PortAssignment {
        container_port: 8080,
        local_port: 41000,
    }];
    let error = resolve_env(&t, POD, &ports, &data())
        .unwrap_err()
        .to_string();
    assert!(error.contains("8080"), "{error}");
}

#[test]
fn args_expand_from_the_environment() {
    let env = vec![("NAME".to_owned(), "espresso".to_owned())];
    let args = expand_args(&["--kind=$(NAME)".to_owned(), "plain".to_owned()], &env);
    assert_eq!(args, vec!["--kind=espresso", "plain"]);
}

#[test]
fn referenced_names_are_collected_once() {
    let t = template(
        json!([
            { "name": "A", "valueFrom": { "configMapKeyRef": { "name": "settings", "key": "COLOR" } } },
            { "name": "B", "valueFrom": { "configMapKeyRef": { "name": "settings", "key": "SIZE" } } },
        ]),
        json!([{ "secretRef": { "name": "creds" } }]),
    );
    assert_eq!(
        referenced_names(&t),
        (vec!["settings".to_owned()], vec!["creds".to_owned()])
    );
}
