//! The alert rules are valid Prometheus rules, and every alert fires on its bad series and stays
//! silent on its good one (`files/alerts.test.yaml`, run by promtool).

use std::process::Command;

use e2e::chart::chart_dir;
use e2e::operator::succeed;

fn promtool(args: &[&str]) -> std::process::Output {
    Command::new("promtool")
        .args(args)
        .current_dir(chart_dir().join("files"))
        .output()
        .expect("promtool runs (the test bed installs it: `e2e/testbed up`)")
}

fn assert_succeeded(output: std::process::Output) {
    succeed(output, "promtool").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_rule_file_passes_promtool_check_rules() {
    assert_succeeded(promtool(&["check", "rules", "alerts.rules.yaml"]));
}

#[test]
fn every_alert_fires_on_bad_series_and_stays_silent_on_good_ones() {
    assert_succeeded(promtool(&["test", "rules", "alerts.test.yaml"]));
}

#[test]
fn every_alert_has_a_unit_test_severity_summary_and_description() {
    let files = chart_dir().join("files");
    let rules: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(files.join("alerts.rules.yaml")).unwrap())
            .unwrap();
    let tests = std::fs::read_to_string(files.join("alerts.test.yaml")).unwrap();
    let alerts: Vec<&serde_yaml::Value> = rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|group| group["rules"].as_sequence().unwrap())
        .collect();
    assert!(alerts.len() >= 10, "{} alerts", alerts.len());
    for alert in alerts {
        let name = alert["alert"].as_str().unwrap();
        assert!(
            tests.contains(&format!("alertname: {name}\n")),
            "{name} has no test"
        );
        assert!(alert["for"].as_str().is_some(), "{name} has no `for`");
        assert!(alert["labels"]["severity"].as_str().is_some(), "{name}");
        assert!(alert["annotations"]["summary"].as_str().is_some(), "{name}");
        assert!(
            alert["annotations"]["description"].as_str().is_some(),
            "{name}"
        );
    }
}
