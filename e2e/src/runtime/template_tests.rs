use k8s_openapi::api::apps::v1::Deployment;
use serde_json::json;

use super::*;

fn deployment(container: serde_json::Value, extra_pod_spec: serde_json::Value) -> Deployment {
    let mut pod_spec = json!({ "containers": [container] });
    if let (Some(spec), Some(extra)) = (pod_spec.as_object_mut(), extra_pod_spec.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": {
            "selector": { "matchLabels": { "app": "web" } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": pod_spec,
            },
        },
    }))
    .unwrap()
}

fn web_container() -> serde_json::Value {
    json!({
        "name": "web",
        "image": "example/coffee-testpod:1",
        "args": ["--flag"],
        "ports": [{ "name": "http", "containerPort": 8080 }],
        "env": [{ "name": "PORT", "value": "8080" }],
        "readinessProbe": { "httpGet": { "path": "/readyz", "port": "http" }, "periodSeconds": 2 },
    })
}

#[test]
fn reads_image_args_ports_and_env() {
    let template =
        LaunchTemplate::from_deployment(&deployment(web_container(), json!({}))).unwrap();
    assert_eq!(template.image, "example/coffee-testpod:1");
    assert_eq!(template.args, vec!["--flag"]);
    assert_eq!(
        template.ports,
        vec![ContainerPort {
            name: Some("http".into()),
            number: 8080
        }]
    );
    assert_eq!(template.env.len(), 1);
}

#[test]
fn readiness_probe_gets_kubernetes_defaults() {
    let template =
        LaunchTemplate::from_deployment(&deployment(web_container(), json!({}))).unwrap();
    let probe = template.readiness.unwrap();
    assert_eq!(
        probe.action,
        ProbeAction::Http {
            port: PortRef::Name("http".into()),
            path: "/readyz".into()
        }
    );
    assert_eq!(probe.period, Duration::from_secs(2));
    assert_eq!(probe.timeout, Duration::from_secs(1));
    assert_eq!((probe.success_threshold, probe.failure_threshold), (1, 3));
}

#[test]
fn numeric_string_probe_port_is_a_number() {
    let mut container = web_container();
    container["readinessProbe"] = json!({ "tcpSocket": { "port": "8080" } });
    let template = LaunchTemplate::from_deployment(&deployment(container, json!({}))).unwrap();
    assert_eq!(
        template.readiness.unwrap().action,
        ProbeAction::Tcp {
            port: PortRef::Number(8080)
        }
    );
}

#[test]
fn exec_probe_is_refused_with_a_reason() {
    let mut container = web_container();
    container["readinessProbe"] = json!({ "exec": { "command": ["true"] } });
    let error = LaunchTemplate::from_deployment(&deployment(container, json!({}))).unwrap_err();
    assert!(
        error.to_string().contains("neither httpGet nor tcpSocket"),
        "{error}"
    );
}

#[test]
fn two_containers_are_refused() {
    let mut d = deployment(web_container(), json!({}));
    let spec = d.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
    spec.containers.push(spec.containers[0].clone());
    let error = LaunchTemplate::from_deployment(&d).unwrap_err().to_string();
    assert!(
        error.contains("web") && error.contains("2 containers"),
        "{error}"
    );
}

#[test]
fn grace_period_defaults_to_thirty_seconds() {
    let template =
        LaunchTemplate::from_deployment(&deployment(web_container(), json!({}))).unwrap();
    assert_eq!(template.grace_period, Duration::from_secs(30));
}

#[test]
fn grace_period_is_read_from_the_pod_spec() {
    let d = deployment(
        web_container(),
        json!({ "terminationGracePeriodSeconds": 3 }),
    );
    let template = LaunchTemplate::from_deployment(&d).unwrap();
    assert_eq!(template.grace_period, Duration::from_secs(3));
}

#[test]
fn port_named_http_is_scraped_by_default() {
    let template =
        LaunchTemplate::from_deployment(&deployment(web_container(), json!({}))).unwrap();
    assert_eq!(
        template.scrape,
        Some(ScrapeSpec {
            port: PortRef::Number(8080),
            path: "/metrics".into()
        })
    );
}

#[test]
fn scrape_annotations_choose_port_and_path_or_opt_out() {
    let ports = [ContainerPort {
        name: Some("http".into()),
        number: 8080,
    }];
    let chosen = scrape_spec(&ports, None, Some("9100".into()), Some("/m".into()));
    assert_eq!(
        chosen,
        Some(ScrapeSpec {
            port: PortRef::Number(9100),
            path: "/m".into()
        })
    );
    assert_eq!(scrape_spec(&ports, Some("false".into()), None, None), None);
}

#[test]
fn container_without_named_ports_is_not_scraped() {
    let ports = [ContainerPort {
        name: None,
        number: 8080,
    }];
    assert_eq!(scrape_spec(&ports, None, None, None), None);
}

#[test]
fn named_port_resolves_to_its_number() {
    let template =
        LaunchTemplate::from_deployment(&deployment(web_container(), json!({}))).unwrap();
    assert_eq!(
        template.container_port(&PortRef::Name("http".into())),
        Some(8080)
    );
    assert_eq!(template.container_port(&PortRef::Name("grpc".into())), None);
}

#[test]
fn hash_changes_with_the_template_only() {
    let a = LaunchTemplate::from_deployment(&deployment(web_container(), json!({}))).unwrap();
    let same = LaunchTemplate::from_deployment(&deployment(web_container(), json!({}))).unwrap();
    let mut changed_container = web_container();
    changed_container["env"][0]["value"] = json!("9090");
    let changed =
        LaunchTemplate::from_deployment(&deployment(changed_container, json!({}))).unwrap();
    assert_eq!(a.hash, same.hash);
    assert_ne!(a.hash, changed.hash);
}

#[test]
fn readiness_probe_on_an_undeclared_port_is_refused() {
    let mut container = web_container();
    container["readinessProbe"] = json!({ "tcpSocket": { "port": 9999 } });
    let error = LaunchTemplate::from_deployment(&deployment(container, json!({})))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("9999") && error.contains("not a declared container port"),
        "{error}"
    );
}

#[test]
fn a_pod_gets_the_identity_of_the_service_account_it_names() {
    let template = LaunchTemplate::from_deployment(&deployment(
        web_container(),
        json!({ "serviceAccountName": "coffee-operator" }),
    ))
    .unwrap();
    assert_eq!(template.service_account.as_deref(), Some("coffee-operator"));
}

#[test]
fn a_pod_without_a_service_account_name_is_the_namespaces_default() {
    let template =
        LaunchTemplate::from_deployment(&deployment(web_container(), json!({}))).unwrap();
    assert_eq!(template.service_account.as_deref(), Some("default"));
}

#[test]
fn a_pod_that_turns_token_automounting_off_gets_no_identity() {
    let template = LaunchTemplate::from_deployment(&deployment(
        web_container(),
        json!({ "serviceAccountName": "shop", "automountServiceAccountToken": false }),
    ))
    .unwrap();
    assert_eq!(template.service_account, None);
}

#[test]
fn the_pod_templates_labels_are_kept_for_scrape_relabelling() {
    let template =
        LaunchTemplate::from_deployment(&deployment(web_container(), json!({}))).unwrap();
    assert_eq!(template.labels.get("app").map(String::as_str), Some("web"));
}
