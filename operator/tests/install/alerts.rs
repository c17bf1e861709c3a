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

/// Every alert of the rule file.
fn alerts() -> Vec<serde_yaml::Value> {
    let text = std::fs::read_to_string(chart_dir().join("files/alerts.rules.yaml"))
        .expect("the rule file");
    let rules: serde_yaml::Value = serde_yaml::from_str(&text).expect("the rules are YAML");
    rules["groups"]
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|group| group["rules"].as_sequence().expect("rules").clone())
        .collect()
}

#[test]
fn every_alert_has_a_unit_test_severity_summary_and_description() {
    let tests = std::fs::read_to_string(chart_dir().join("files/alerts.test.yaml")).unwrap();
    let alerts = alerts();
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

/// The address every `runbook_url` starts with in the rule file: the default of the chart's
/// `prometheusRule.runbookBaseUrl`, which replaces it.
fn runbooks_url() -> String {
    let text = std::fs::read_to_string(chart_dir().join("values.yaml")).expect("values.yaml");
    let values: serde_yaml::Value = serde_yaml::from_str(&text).expect("values are YAML");
    values["prometheusRule"]["runbookBaseUrl"]
        .as_str()
        .expect("prometheusRule.runbookBaseUrl")
        .to_owned()
}

#[test]
fn every_alert_links_to_its_own_section_of_the_runbooks() {
    let base = runbooks_url();
    let runbooks = std::fs::read_to_string(e2e::operator::repo().join("docs/runbooks.md")).unwrap();
    for alert in alerts() {
        let name = alert["alert"].as_str().unwrap();
        let url = alert["annotations"]["runbook_url"].as_str();
        assert_eq!(
            url,
            Some(format!("{base}#{}", name.to_lowercase()).as_str()),
            "{name}"
        );
        let section = runbooks
            .split("\n## ")
            .find(|s| s.starts_with(&format!("{name}\n")))
            .unwrap_or_else(|| panic!("docs/runbooks.md has no section {name}"));
        for part in ["**Means**", "**Check**", "**Do**"] {
            assert!(section.contains(part), "{name}'s runbook has no {part}");
        }
    }
}

#[test]
fn the_runbook_links_follow_the_charts_base_url() {
    let output = e2e::chart::template(
        &e2e::testbed::TestBed::load().unwrap(),
        "runbooks",
        "default",
        &[
            "prometheusRule.enabled=true",
            "prometheusRule.runbookBaseUrl=https://wiki.example/coffee",
        ],
    )
    .unwrap();
    let yaml = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        yaml.contains("runbook_url: https://wiki.example/coffee#coffeeoperatordown"),
        "{yaml}"
    );
    assert!(!yaml.contains(&runbooks_url()), "{yaml}");
}
