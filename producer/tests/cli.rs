//! The `coffee-producer` command line.

use std::process::Command;

#[test]
fn help_names_the_binary_and_exits_zero() {
    let output = Command::new(env!("CARGO_BIN_EXE_coffee-producer"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("Usage: coffee-producer"));
}

#[test]
fn unknown_flag_is_refused_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_coffee-producer"))
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--no-such-flag"));
}

#[test]
fn invalid_configuration_exits_2_naming_the_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_coffee-producer"))
        .args(["--kafka-brokers", "no-port-here"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--kafka-brokers") && stderr.contains("no-port-here"),
        "{stderr}"
    );
}

#[test]
fn a_short_list_token_exits_2_without_showing_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_coffee-producer"))
        .args(["--kafka-brokers", "localhost:9092"])
        .env("ORDERS_LIST_TOKEN", "tooshort")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--orders-list-token"), "{stderr}");
    assert!(!stderr.contains("tooshort"), "{stderr}");
}

/// The compression values the CRD offers, read from the generated CRD.
fn offered_compressions() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crds/coffeeorderpipelines.coffee-pipeline.io.yaml"
    );
    let crd = std::fs::read_to_string(path).expect("the generated CRD");
    let lines: Vec<&str> = crd.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == "compression:")
        .expect("the CRD has a compression field");
    let values: Vec<String> = lines[start..]
        .iter()
        .skip_while(|l| l.trim() != "enum:")
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- ").map(str::to_owned))
        .collect();
    assert!(!values.is_empty(), "no enum under compression in the CRD");
    values
}

#[test]
fn every_compression_the_crd_offers_is_accepted() {
    for value in offered_compressions() {
        // As the operator passes it, in the env; an invalid broker list then stops the producer
        // after its flags were parsed.
        let output = Command::new(env!("CARGO_BIN_EXE_coffee-producer"))
            .env("KAFKA_COMPRESSION", &value)
            .args(["--kafka-brokers", "no-port-here"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("invalid value") && stderr.contains("no-port-here"),
            "{value}: {stderr}"
        );
    }
}
