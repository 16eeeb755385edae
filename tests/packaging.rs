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

/// `netlens ARGS`'s standard output.
fn netlens_prints(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("netlens {}: {e}", args.join(" ")));
    assert!(out.status.success(), "netlens {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

/// The Debian package ships the man page and completions as files (cargo-deb copies
/// files): they must be what this binary prints. Regenerate with
/// `NETLENS_UPDATE_PACKAGING=1 cargo test --test packaging`.
#[test]
fn the_packaged_man_page_and_completions_are_current() {
    let debian = packaging().join("debian");
    for (file, args) in [
        ("netlens.1", &["man"][..]),
        ("completions/netlens.bash", &["completions", "bash"]),
        ("completions/_netlens", &["completions", "zsh"]),
        ("completions/netlens.fish", &["completions", "fish"]),
    ] {
        let printed = netlens_prints(args);
        let path = debian.join(file);
        if std::env::var("NETLENS_UPDATE_PACKAGING").as_deref() == Ok("1") {
            std::fs::write(&path, &printed).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == printed,
            "packaging/debian/{file} is not what `netlens {}` prints: run NETLENS_UPDATE_PACKAGING=1 cargo test --test packaging",
            args.join(" ")
        );
    }
}

/// Every file the package metadata names exists (the binary is built by `cargo deb`),
/// the config it installs is one netlens accepts, and the unit it enables is the one in
/// `packaging/systemd`.
#[test]
fn the_debian_metadata_names_files_that_exist_and_a_good_config() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let manifest: toml::Table = manifest.parse().unwrap_or_else(|e| panic!("Cargo.toml: {e}"));
    let deb = &manifest["package"]["metadata"]["deb"];
    let assets = deb["assets"].as_array().unwrap_or_else(|| panic!("no assets: {deb}"));
    let mut installed = Vec::new();
    for asset in assets {
        let source = asset[0].as_str().unwrap_or_else(|| panic!("{asset}"));
        installed.push(asset[1].as_str().unwrap_or_else(|| panic!("{asset}")).to_owned());
        if source != "target/release/netlens" {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
            assert!(path.is_file(), "Cargo.toml's deb assets name {source}, which does not exist");
        }
    }
    for needed in
        ["usr/bin/", "usr/share/man/man1/netlens.1", "usr/share/bash-completion/completions/netlens"]
    {
        assert!(installed.iter().any(|path| path == needed), "the package does not install {needed}");
    }
    assert_eq!(deb["conf-files"][0].as_str(), Some("/etc/netlens/config.toml"));
    // cargo-deb writes the unit's enable/start scripts only with maintainer-scripts.
    assert!(deb["systemd-units"].is_table(), "{deb}");
    let units = deb["maintainer-scripts"].as_str().unwrap_or_else(|| panic!("{deb}"));
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join(units).join("netlens.service").is_file());

    let config = packaging().join("debian/config.toml");
    let checked = netlens_prints(&["--config", config.to_str().unwrap_or_default(), "config", "check"]);
    assert!(checked.contains("good"), "{checked}");
    // And the check can fail: a wrong value is exit 2 naming the file.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("config.toml");
    std::fs::write(&bad, "[paths]\ntargets = 7\n").unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(["--config", bad.to_str().unwrap_or_default(), "config", "check"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(bad.to_str().unwrap_or_default()));
}
