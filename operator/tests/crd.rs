//! The CRD: generated from the Rust types, committed in `crds/`, and enforced by a real API
//! server at admission with messages a person understands.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::testbed::TestBed;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn crd_file() -> PathBuf {
    repo().join("crds/coffeeorderpipelines.coffee-pipeline.io.yaml")
}

fn kubectl(bed: &TestBed, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(bed.tool("kubectl"))
        .env("KUBECONFIG", &bed.kubeconfig)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the test bed's kubectl runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .expect("writing kubectl's stdin");
    drop(input);
    child.wait_with_output().expect("kubectl finishes")
}

/// Installs the CRD from `crds/` and waits until the API server serves it.
fn install_crd(bed: &TestBed) {
    let file = crd_file();
    let path = file.to_str().expect("utf-8 path");
    let applied = kubectl(
        bed,
        &["apply", "--server-side", "--force-conflicts", "-f", path],
        None,
    );
    assert!(applied.status.success(), "{applied:?}");
    let established = kubectl(
        bed,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=30s",
            "crd/coffeeorderpipelines.coffee-pipeline.io",
        ],
        None,
    );
    assert!(established.status.success(), "{established:?}");
}

/// A pipeline with `spec` (YAML, indented by four spaces) applied server-side as a dry run.
fn dry_run(bed: &TestBed, name: &str, spec: &str) -> Output {
    let object = format!(
        "apiVersion: coffee-pipeline.io/v1alpha1\nkind: CoffeeOrderPipeline\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n{spec}"
    );
    kubectl(
        bed,
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&object),
    )
}

/// A minimal pipeline with `mode: <value>` written as given (quoted or not), as kubectl reads it:
/// YAML here on purpose, since what is tested is how YAML 1.1 reads the spelling.
fn dry_run_mode(bed: &TestBed, name: &str, value: &str) -> Output {
    let spec = format!(
        "  kafka:\n    bootstrapServers: k:9092\n    partitions: 1\n  autoscaling:\n    mode: {value}\n"
    );
    dry_run(bed, name, &spec)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn crds_directory_holds_what_the_operator_generates() {
    let generated = Command::new(env!("CARGO_BIN_EXE_coffee-operator"))
        .arg("crd")
        .output()
        .unwrap();
    assert!(generated.status.success());
    let committed = std::fs::read_to_string(crd_file()).unwrap();
    assert!(
        committed == String::from_utf8_lossy(&generated.stdout),
        "crds/ is stale: run `cargo run -p operator -- crd > {}`",
        crd_file().display()
    );
}

#[test]
fn both_samples_are_accepted() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    for sample in ["minimal.yaml", "full.yaml"] {
        let path = repo().join("manifests/samples").join(sample);
        let output = kubectl(
            &bed,
            &[
                "apply",
                "--dry-run=server",
                "-n",
                "default",
                "-f",
                path.to_str().unwrap(),
            ],
            None,
        );
        assert!(output.status.success(), "{sample}: {}", stderr(&output));
    }
}

#[test]
fn zero_partitions_are_rejected_by_the_schema() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = dry_run(
        &bed,
        "zero",
        "  kafka:\n    bootstrapServers: k:9092\n    partitions: 0\n",
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("spec.kafka.partitions"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("should be greater than or equal to 1"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_minimum_above_the_maximum_is_rejected_by_a_cel_rule() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = dry_run(
        &bed,
        "upside-down",
        "  kafka:\n    bootstrapServers: k:9092\n    partitions: 6\n  consumer:\n    workers: { min: 20, max: 5 }\n",
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("spec.consumer.workers: Invalid value"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("min must not exceed max"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn more_consumers_than_partitions_are_rejected_by_a_cel_rule() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = dry_run(
        &bed,
        "crowded",
        "  kafka:\n    bootstrapServers: k:9092\n    partitions: 4\n  consumer:\n    replicas: { min: 1, max: 8 }\n",
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("consumer.replicas.max must not exceed kafka.partitions"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unknown_deletion_policy_is_rejected_with_the_allowed_values() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = dry_run(
        &bed,
        "policy",
        "  kafka:\n    bootstrapServers: k:9092\n    partitions: 1\n  topicDeletionPolicy: Shred\n",
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(r#"supported values: "Retain", "Delete""#),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_invalid_topic_name_is_rejected() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = dry_run(
        &bed,
        "topic",
        "  kafka:\n    bootstrapServers: k:9092\n    partitions: 1\n    topic: \"orders with spaces\"\n",
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("spec.kafka.topic"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unknown_autoscaling_mode_is_rejected_with_the_allowed_values() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = dry_run_mode(&bed, "mode", "Aggressive");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(r#"supported values: "Disabled", "Observe", "Enabled", "Off""#),
        "{}",
        stderr(&output)
    );
}

/// kubectl reads YAML 1.1, in which a bare `Off` is `false`: the default is spelled so that it
/// can be written unquoted, as every KEDA or HPA user would.
#[test]
fn the_mode_disabled_is_accepted_unquoted() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = dry_run_mode(&bed, "mode-disabled", "Disabled");
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn the_old_spelling_off_is_still_accepted_quoted() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = dry_run_mode(&bed, "mode-off", "\"Off\"");
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_drain_target_shorter_than_the_poll_is_rejected_by_a_cel_rule() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = dry_run(
        &bed,
        "drain",
        "  kafka:\n    bootstrapServers: k:9092\n    partitions: 1\n  autoscaling:\n    pollIntervalSeconds: 30\n    targetDrainSeconds: 10\n",
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("targetDrainSeconds must be at least pollIntervalSeconds"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn autoscaling_and_session_settings_out_of_range_are_rejected_naming_the_field() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    for (field, spec) in [
        (
            "spec.autoscaling.stallPolls",
            "  autoscaling:\n    stallPolls: 1\n",
        ),
        (
            "spec.autoscaling.minRebalanceIntervalSeconds",
            "  autoscaling:\n    minRebalanceIntervalSeconds: -1\n",
        ),
        (
            "spec.autoscaling.lagThreshold",
            "  autoscaling:\n    lagThreshold: 0\n",
        ),
        (
            "spec.consumer.sessionTimeoutSeconds",
            "  consumer:\n    sessionTimeoutSeconds: 5\n",
        ),
    ] {
        let output = dry_run(
            &bed,
            "ranges",
            &format!("  kafka:\n    bootstrapServers: k:9092\n    partitions: 1\n{spec}"),
        );
        assert!(!output.status.success(), "{field} accepted");
        assert!(stderr(&output).contains(field), "{}", stderr(&output));
    }
}

#[test]
fn pod_labels_in_the_operators_prefix_are_rejected() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = dry_run(
        &bed,
        "relabelled",
        "  kafka:\n    bootstrapServers: k:9092\n    partitions: 1\n  consumer:\n    pod:\n      labels:\n        app.kubernetes.io/instance: other\n",
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("must not use the app.kubernetes.io/ prefix"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn misspelt_pod_options_are_refused_not_dropped() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let output = kubectl(
        &bed,
        &["apply", "--dry-run=server", "--validate=strict", "-f", "-"],
        Some(
            "apiVersion: coffee-pipeline.io/v1alpha1\nkind: CoffeeOrderPipeline\nmetadata: {name: typo, namespace: default}\nspec:\n  kafka: {bootstrapServers: 'k:9092', partitions: 1}\n  producer:\n    pod: {nodeSelectr: {pool: a}}\n",
        ),
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("nodeSelectr"),
        "{}",
        stderr(&output)
    );
}

fn refused_with(output: &Output, words: &str) {
    assert!(!output.status.success(), "accepted");
    assert!(stderr(output).contains(words), "{}", stderr(output));
}

#[test]
fn kafka_internal_and_dot_topic_names_are_refused() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    for topic in ["__consumer_offsets", "'.'", "'..'"] {
        let spec = format!(
            "  kafka:\n    bootstrapServers: k:9092\n    partitions: 1\n    topic: {topic}\n"
        );
        refused_with(&dry_run(&bed, "internal", &spec), "must not start with __");
    }
}

#[test]
fn a_topic_named_like_another_pipelines_derived_topic_is_refused() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    for topic in [
        "espresso-status",
        "espresso-dead-letters",
        "espresso-control",
    ] {
        let spec = format!(
            "  kafka:\n    bootstrapServers: k:9092\n    partitions: 1\n    topic: {topic}\n"
        );
        refused_with(
            &dry_run(&bed, "derived", &spec),
            "another pipeline's derived topics",
        );
    }
}

#[test]
fn sasl_plain_without_tls_is_refused_unless_allowed_on_purpose() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let spec = |extra: &str| {
        format!(
            "  kafka:\n    bootstrapServers: k:9092\n    partitions: 1\n    sasl: {{mechanism: PLAIN, secretName: s}}\n{extra}"
        )
    };
    refused_with(&dry_run(&bed, "plain", &spec("")), "clear text");
    let allowed = dry_run(&bed, "plain", &spec("    allowInsecureSasl: true\n"));
    assert!(allowed.status.success(), "{}", stderr(&allowed));
}

#[test]
fn the_topic_and_the_cluster_cannot_change_after_creation() {
    let bed = TestBed::load().unwrap();
    install_crd(&bed);
    let name = e2e::fixtures::unique_name("immutable");
    let object = |brokers: &str, topic: &str| {
        format!(
            "apiVersion: coffee-pipeline.io/v1alpha1\nkind: CoffeeOrderPipeline\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  kafka:\n    bootstrapServers: {brokers}\n    partitions: 1{topic}\n"
        )
    };
    let created = kubectl(&bed, &["apply", "-f", "-"], Some(&object("k:9092", "")));
    assert!(created.status.success(), "{}", stderr(&created));
    let apply = |yaml: String| kubectl(&bed, &["apply", "-f", "-"], Some(&yaml));
    refused_with(
        &apply(object("k:9092", "\n    topic: moved")),
        "kafka.topic cannot be set",
    );
    refused_with(
        &apply(object("other:9092", "")),
        "kafka.bootstrapServers cannot change",
    );
    let deleted = kubectl(
        &bed,
        &["delete", "cop", &name, "-n", "default", "--wait=false"],
        None,
    );
    assert!(deleted.status.success(), "{}", stderr(&deleted));
}
