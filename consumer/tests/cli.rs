//! The `coffee-consumer` command line.

use std::process::Command;

#[test]
fn help_names_the_binary_and_exits_zero() {
    let output = Command::new(env!("CARGO_BIN_EXE_coffee-consumer"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("Usage: coffee-consumer"));
}

#[test]
fn unknown_flag_is_refused_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_coffee-consumer"))
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--no-such-flag"));
}
