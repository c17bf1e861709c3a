//! The `coffee-operator` command line.

use std::process::Command;

#[test]
fn help_names_the_binary_and_exits_zero() {
    let output = Command::new(env!("CARGO_BIN_EXE_coffee-operator"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("Usage: coffee-operator"));
}

#[test]
fn unknown_flag_is_refused_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_coffee-operator"))
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--no-such-flag"));
}

fn refused(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_coffee-operator"))
        .args(args)
        .env_remove("POD_DEFAULTS")
        .output()
        .expect("coffee-operator runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn pod_defaults_that_are_not_pod_options_are_refused_at_start() {
    let message = refused(&["--pod-defaults", r#"{"nodeSelectr": {"pool": "a"}}"#]);
    assert!(message.contains("--pod-defaults"), "{message}");
    assert!(message.contains("nodeSelectr"), "{message}");
}

#[test]
fn pod_default_labels_in_the_operators_prefix_are_refused_at_start() {
    let message = refused(&[
        "--pod-defaults",
        r#"{"labels": {"app.kubernetes.io/name": "x"}}"#,
    ]);
    assert!(message.contains("app.kubernetes.io/name"), "{message}");
}

#[test]
fn an_empty_default_image_is_refused_at_start() {
    let message = refused(&["--consumer-image", " "]);
    assert!(message.contains("--consumer-image"), "{message}");
}

#[test]
fn an_allowed_cluster_that_is_not_host_port_is_refused_at_start() {
    let message = refused(&["--allowed-kafka-clusters", "kafka.example.com"]);
    assert!(message.contains("--allowed-kafka-clusters"), "{message}");
    assert!(message.contains("host:port"), "{message}");
}
