//! What `packaging/` ships, checked with the tools that will read it: the Prometheus
//! alert rules load (`promtool check rules`) and each alert fires when it should
//! (`promtool test rules`, one test at least per alert).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const REQUIRE_ENV: &str = "NETLENS_REQUIRE_NETNS";

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging")
}

/// Whether `program` runs; a missing one skips the test with a message, unless the
/// REQUIRE variable says CI installed it.
fn have(program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
            "{program} is not installed (and {REQUIRE_ENV}=1 forbids skipping: .ci/run installs it)"
        );
        eprintln!("skipping: {program} is not installed");
    }
    found
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(packaging().join("prometheus"))
        .output()
        .unwrap_or_else(|e| panic!("promtool: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool {}:\n{text}", args.join(" "));
    text
}

#[test]
fn the_alert_rules_load_and_every_alert_has_a_test_that_passes() {
    if !have("promtool") {
        return;
    }
    promtool(&["check", "rules", "netlens-alerts.yml"]);
    promtool(&["test", "rules", "netlens-alerts.test.yml"]);
    let rules = std::fs::read_to_string(packaging().join("prometheus/netlens-alerts.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let tests = std::fs::read_to_string(packaging().join("prometheus/netlens-alerts.test.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let alerts: Vec<&str> = rules.lines().filter_map(|line| line.trim().strip_prefix("- alert: ")).collect();
    assert!(alerts.len() >= 10, "{alerts:?}");
    for alert in alerts {
        let firing = format!("alertname: {alert}\n        exp_alerts:\n          - exp_labels");
        assert!(tests.contains(&firing), "no test where {alert} fires");
    }
}

/// The series names `text` queries (`netlens_…` words), each with the family it
/// belongs to: a counter's `_total`, a histogram's `_bucket`, `_sum` and `_count`.
fn queried_series(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("netlens_"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Every series the alert rules and the Grafana dashboard query is one the daemon
/// exports, with the suffix its type gives it: a renamed metric breaks this test, not
/// a dashboard nobody looks at until the night it is needed.
#[test]
fn the_alerts_and_the_dashboard_query_only_what_the_daemon_exports() {
    use netlens_collectors::metrics::{BuildInfo, Kind, families};
    let families = families(&netlens_collectors::fake::store(), &BuildInfo { version: "0" });
    let exported = |name: &str| {
        families.iter().any(|family| match family.kind {
            Kind::Counter => name.strip_suffix("_total") == Some(family.name),
            Kind::Gauge => name == family.name,
            Kind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .any(|suffix| name.strip_suffix(suffix) == Some(family.name)),
        })
    };
    let dashboard =
        std::fs::read_to_string(packaging().join("grafana/netlens.json")).unwrap_or_else(|e| panic!("{e}"));
    let parsed: serde_json::Value = serde_json::from_str(&dashboard).unwrap_or_else(|e| panic!("{e}"));
    let exprs = common::prometheus::dashboard_queries(&parsed);
    assert!(exprs.len() >= 20, "{exprs:?}");
    let alerts = std::fs::read_to_string(packaging().join("prometheus/netlens-alerts.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    for (file, text) in
        [("grafana/netlens.json", exprs.join("\n")), ("prometheus/netlens-alerts.yml", alerts)]
    {
        let names = queried_series(&text);
        assert!(names.len() >= 10, "{file}: {names:?}");
        let unknown: Vec<&String> = names.iter().filter(|name| !exported(name)).collect();
        assert!(unknown.is_empty(), "{file} queries series the daemon does not export: {unknown:?}");
    }
    // And every family is on the dashboard.
    let shown = queried_series(&exprs.join("\n"));
    for family in &families {
        assert!(
            shown.iter().any(|name| name.starts_with(family.name)) || family.name == "netlens_build_info",
            "{} is not on the dashboard",
            family.name
        );
    }
}
