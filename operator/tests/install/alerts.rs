//! The alert rules are valid Prometheus rules, and every alert fires on its bad series and stays
//! silent on its good one (`files/alerts.test.yaml`, run by promtool).

use std::process::Command;

use serde::Deserialize;

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

/// The chart's PrometheusRule `spec` rendered with `values`.
fn rendered_rules(values: &[&str]) -> serde_yaml::Value {
    let values = [&["prometheusRule.enabled=true"], values].concat();
    let bed = e2e::testbed::TestBed::load().expect("the test bed");
    let output = e2e::chart::template(&bed, "alerts", "default", &values).expect("helm runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    serde_yaml::Deserializer::from_str(&text)
        .filter_map(|doc| serde_yaml::Value::deserialize(doc).ok())
        .find(|doc| doc["kind"] == "PrometheusRule")
        .map(|rule| rule["spec"].clone())
        .expect("a PrometheusRule")
}

fn thresholds() -> serde_yaml::Mapping {
    let text = std::fs::read_to_string(chart_dir().join("values.yaml")).expect("values.yaml");
    let values: serde_yaml::Value = serde_yaml::from_str(&text).expect("values are YAML");
    values["prometheusRule"]["thresholds"]
        .as_mapping()
        .expect("prometheusRule.thresholds")
        .clone()
}

#[test]
fn rendered_with_its_defaults_the_chart_holds_the_rule_file_as_tested() {
    let text = std::fs::read_to_string(chart_dir().join("files/alerts.rules.yaml")).unwrap();
    let file: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(rendered_rules(&[]), file);
}

#[test]
fn each_threshold_value_is_the_number_its_marker_follows_in_the_rule_file() {
    let text = std::fs::read_to_string(chart_dir().join("files/alerts.rules.yaml")).unwrap();
    let thresholds = thresholds();
    for (name, value) in &thresholds {
        let name = name.as_str().expect("a name");
        let value = serde_yaml::to_string(value).expect("a number");
        let marked = format!("{} # threshold {name}\n", value.trim());
        assert!(text.contains(&marked), "the rule file has no `{marked}`");
    }
    let rule_lines = text.lines().filter(|l| !l.trim_start().starts_with('#'));
    for marker in rule_lines.flat_map(|l| l.split("# threshold ").skip(1)) {
        let name = marker.split_whitespace().next().unwrap_or_default();
        assert!(
            thresholds.contains_key(name),
            "`# threshold {name}` is not a value of the chart"
        );
    }
}

#[test]
fn thresholds_and_workload_matchers_from_the_values_reach_the_rules() {
    let rules = rendered_rules(&[
        "prometheusRule.thresholds.drainSeconds=1200",
        "prometheusRule.thresholds.producerErrorRatio=0.2",
        "prometheusRule.workloadMatchers=cluster=\"prod\"",
    ]);
    let exprs: Vec<(String, String)> = rules["groups"]
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_sequence().expect("rules").clone())
        .map(|r| {
            let name = r["alert"].as_str().unwrap_or_default().to_owned();
            (name, r["expr"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    let expr = |alert: &str| &exprs.iter().find(|(n, _)| n == alert).expect(alert).1;
    assert!(expr("CoffeePipelineSlowToDrain").contains("> 1200 # threshold drainSeconds"));
    assert!(expr("CoffeeProducerErrors").contains("> 0.2 # threshold producerErrorRatio"));
    for (alert, expr) in &exprs {
        for selector in expr.split("component=").skip(1) {
            let rest = selector.split('}').next().unwrap_or_default();
            assert!(
                rest.contains("cluster=\"prod\""),
                "{alert}: a workload selector without the extra matcher: {rest}"
            );
        }
    }
    assert!(
        exprs
            .iter()
            .filter(|(_, e)| e.contains("component="))
            .count()
            >= 4,
        "the workload alerts"
    );
}
