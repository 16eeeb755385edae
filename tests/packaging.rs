//! What `packaging/` ships, checked with the tools that will read it: the Prometheus
//! alert rules load (`promtool check rules`) and each alert fires when it should
//! (`promtool test rules`, one test at least per alert).

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
