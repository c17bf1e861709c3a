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
