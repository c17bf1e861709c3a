//! The chart renders, lints clean, is accepted by the real API server (with the
//! prometheus-operator's own CRDs for its monitoring objects), refuses bad values with the
//! schema's message, and `manifests/` is its current rendering.

use std::process::Command;

use e2e::chart::{chart_dir, helm, template};
use e2e::fixtures::{create_namespace, unique_name};
use e2e::operator::{install, kubectl, repo, succeed};
use e2e::testbed::TestBed;

fn bed() -> TestBed {
    TestBed::load().expect("the test bed (start it with `e2e/testbed up`)")
}

/// Every opt-in of the chart turned on.
const EVERYTHING: &[&str] = &[
    "podDisruptionBudget.enabled=true",
    "networkPolicy.enabled=true",
    "serviceMonitor.enabled=true",
    "podMonitor.enabled=true",
    "prometheusRule.enabled=true",
    "dashboard.enabled=true",
    "otlpTracesEndpoint=http://collector:4318/v1/traces",
    "extraEnv[0].name=EXTRA",
    "extraEnv[0].value=1",
    "priorityClassName=system-cluster-critical",
    "nodeSelector.kubernetes\\.io/os=linux",
];

/// Applies `yaml` server-side as a dry run: admission, schemas and CEL rules, nothing stored.
fn dry_run(bed: &TestBed, yaml: &str) -> String {
    let applied = kubectl(
        bed,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--dry-run=server",
            "-f",
            "-",
        ],
        Some(yaml),
    )
    .expect("kubectl runs");
    succeed(applied, "kubectl apply --dry-run=server").unwrap_or_else(|e| panic!("{e}"))
}

fn rendered(output: std::process::Output) -> String {
    succeed(output, "helm template").unwrap_or_else(|e| panic!("{e}"))
}

/// The prometheus-operator's CRDs, from the module the test bed downloaded.
fn install_monitoring_crds(bed: &TestBed) {
    let dir = bed.prometheus_operator_crds.to_str().expect("utf-8 path");
    let applied = kubectl(
        bed,
        &["apply", "--server-side", "--force-conflicts", "-f", dir],
        None,
    )
    .expect("kubectl runs");
    succeed(applied, "installing the prometheus-operator CRDs").unwrap_or_else(|e| panic!("{e}"));
    for crd in ["servicemonitors", "podmonitors", "prometheusrules"] {
        e2e::operator::wait_established(bed, &format!("{crd}.monitoring.coreos.com"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn the_chart_lints_clean_in_strict_mode() {
    let chart = chart_dir();
    let output = helm(&bed(), &["lint", "--strict", chart.to_str().unwrap()]).unwrap();
    succeed(output, "helm lint --strict").unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn the_default_rendering_is_accepted_by_the_api_server() {
    let bed = bed();
    install(&bed).expect("the CRD");
    let namespace = unique_name("chart-defaults");
    create_namespace(&bed.kube_client().await.unwrap(), &namespace)
        .await
        .unwrap();
    let yaml = rendered(template(&bed, &namespace, &namespace, &[]).unwrap());
    let out = dry_run(&bed, &yaml);
    for kind in [
        "customresourcedefinition",
        "serviceaccount",
        "clusterrole",
        "clusterrolebinding",
        "role",
        "rolebinding",
        "deployment",
        "service",
    ] {
        let applied = out.lines().any(|line| {
            line.starts_with(&format!("{kind}/")) || line.starts_with(&format!("{kind}."))
        });
        assert!(applied, "no {kind} in\n{out}");
    }
}

#[tokio::test]
async fn every_option_on_renders_objects_the_api_server_accepts() {
    let bed = bed();
    install(&bed).expect("the CRD");
    install_monitoring_crds(&bed);
    let client = bed.kube_client().await.unwrap();
    let namespace = unique_name("chart-all");
    let watched = unique_name("chart-watched");
    create_namespace(&client, &namespace).await.unwrap();
    create_namespace(&client, &watched).await.unwrap();
    let watch = format!("watchNamespace={watched}");
    let mut values = EVERYTHING.to_vec();
    values.push(&watch);
    let yaml = rendered(template(&bed, &namespace, &namespace, &values).unwrap());
    let out = dry_run(&bed, &yaml);
    for object in [
        "poddisruptionbudget.policy",
        "networkpolicy.networking.k8s.io",
        "servicemonitor.monitoring.coreos.com",
        "podmonitor.monitoring.coreos.com",
        "prometheusrule.monitoring.coreos.com",
        "configmap/",
    ] {
        assert!(out.contains(object), "no {object} in\n{out}");
    }
    assert!(
        !out.contains("clusterrolebinding"),
        "one watched namespace is bound with a RoleBinding, not cluster-wide:\n{out}"
    );
}

#[test]
fn a_values_file_with_a_wrong_type_fails_with_the_schemas_message() {
    let file = std::env::temp_dir().join(format!("{}.yaml", unique_name("bad-values")));
    std::fs::write(&file, "replicaCount: two\nlog:\n  format: xml\n").unwrap();
    let chart = chart_dir();
    let output = helm(
        &bed(),
        &[
            "template",
            "bad",
            chart.to_str().unwrap(),
            "-f",
            file.to_str().unwrap(),
        ],
    )
    .unwrap();
    std::fs::remove_file(&file).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "rendered anyway");
    assert!(
        stderr.contains("at '/replicaCount': got string, want integer"),
        "{stderr}"
    );
    assert!(stderr.contains("at '/log/format'"), "{stderr}");
}

/// What a platform team rendering for GitOps types first: no `--kube-version`. A helm built
/// without its release's flags assumed Kubernetes v1.20 and refused the chart's `kubeVersion`.
#[test]
fn helm_template_of_the_chart_works_without_extra_flags() {
    let chart = chart_dir();
    let output = helm(&bed(), &["template", chart.to_str().unwrap()]).unwrap();
    let yaml = rendered(output);
    assert!(yaml.contains("kind: Deployment"), "{yaml}");
}

#[test]
fn the_test_beds_helm_says_its_version_and_commit() {
    let output = helm(
        &bed(),
        &["version", "--template", "{{.Version}} {{.GitCommit}}"],
    )
    .unwrap();
    let said = rendered(output);
    let (version, commit) = said.split_once(' ').unwrap();
    assert!(version.starts_with("v3."), "{said}");
    assert_eq!(commit.len(), 40, "a full commit hash: {said}");
}

/// Without a cluster, `helm template` renders for the Kubernetes version helm was built against.
#[test]
fn the_test_beds_helm_renders_for_the_test_beds_kubernetes_minor() {
    let chart = std::env::temp_dir().join(unique_name("kube-version-chart"));
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: probe\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/probe.yaml"),
        "kube: {{ .Capabilities.KubeVersion.Version }}\n",
    )
    .unwrap();
    let output = helm(&bed(), &["template", chart.to_str().unwrap()]).unwrap();
    std::fs::remove_dir_all(&chart).unwrap();
    let yaml = rendered(output);
    let minor = e2e::chart::kube_minor().unwrap();
    assert!(yaml.contains(&format!("kube: v1.{minor}.0")), "{yaml}");
}

/// The workloads' exporter has no TLS backend: an https collector would be accepted and every
/// export would fail, so the chart refuses it with the schema's message.
#[test]
fn an_https_otlp_endpoint_is_refused_by_the_schema() {
    let output = template(
        &bed(),
        "otlp",
        "default",
        &["otlpTracesEndpoint=https://collector:4318/v1/traces"],
    )
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "rendered anyway");
    assert!(stderr.contains("otlpTracesEndpoint"), "{stderr}");
}

#[test]
fn an_unknown_value_is_refused_rather_than_ignored() {
    let output = template(&bed(), "bad", "default", &["replicas=3"]).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "rendered anyway");
    assert!(stderr.contains("'replicas' not allowed"), "{stderr}");
}

#[test]
fn crds_install_off_leaves_the_crd_out() {
    let yaml = rendered(template(&bed(), "x", "default", &["crds.install=false"]).unwrap());
    assert!(!yaml.contains("kind: CustomResourceDefinition"), "{yaml}");
}

#[test]
fn crds_keep_annotates_the_crd_for_helm_to_leave_it() {
    let yaml = rendered(template(&bed(), "x", "default", &[]).unwrap());
    assert!(yaml.contains("helm.sh/resource-policy: keep"), "{yaml}");
    let yaml = rendered(template(&bed(), "x", "default", &["crds.keep=false"]).unwrap());
    assert!(!yaml.contains("helm.sh/resource-policy"), "{yaml}");
}

#[test]
fn the_chart_and_manifests_are_the_current_rendering() {
    let bed = bed();
    let output = Command::new(repo().join("manifests/render"))
        .arg("--check")
        .env("HELM", bed.tool("helm"))
        .env("COFFEE_OPERATOR", super::release::binary())
        .output()
        .expect("manifests/render runs");
    succeed(output, "manifests/render --check").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn every_value_is_described_in_the_charts_readme() {
    let values: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap())
            .unwrap();
    let readme = std::fs::read_to_string(chart_dir().join("README.md")).unwrap();
    let mut missing = Vec::new();
    for key in leaf_keys(&values, "") {
        if !readme.contains(&format!("`{key}`")) {
            missing.push(key);
        }
    }
    assert!(missing.is_empty(), "values not in README.md: {missing:?}");
}

/// The dotted paths of a values tree down to its documented values: maps that hold a default
/// of their own (empty or free-form, like `resources`) count as one value.
fn leaf_keys(value: &serde_yaml::Value, prefix: &str) -> Vec<String> {
    let Some(map) = value.as_mapping() else {
        return vec![prefix.to_owned()];
    };
    let free_form = [
        "resources",
        "podSecurityContext",
        "securityContext",
        "labels",
    ];
    if map.is_empty() || free_form.iter().any(|f| prefix.ends_with(f)) {
        return vec![prefix.to_owned()];
    }
    map.iter()
        .flat_map(|(key, child)| {
            let key = key.as_str().unwrap_or_default();
            let path = if prefix.is_empty() {
                key.to_owned()
            } else {
                format!("{prefix}.{key}")
            };
            leaf_keys(child, &path)
        })
        .collect()
}
