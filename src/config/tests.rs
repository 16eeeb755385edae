use clap::Parser;

use super::*;

fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("netlens").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn from_text(args: &[&str], text: &str) -> Result<Settings, ConfigError> {
    let source = Source::new(std::path::Path::new("/etc/netlens-test.toml"), text.to_owned());
    let file = source.parse()?;
    Settings::merge(&cli(args), Some(&source), file)
}

fn error_text(args: &[&str], text: &str) -> String {
    from_text(args, text).err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn template_parses_to_the_defaults() {
    let from_template = from_text(&[], &template()).unwrap_or_else(|e| panic!("{e}"));
    let defaults = from_text(&[], "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_template, defaults);
    assert_eq!(defaults.refresh, Duration::from_secs(1));
    assert!(defaults.netlink);
}

#[test]
fn cli_overrides_file_overrides_defaults() {
    let text = "refresh = \"2s\"\ntheme = \"light\"\n[ui]\nmax_fps = 10\n";
    let settings = from_text(&["--refresh", "500ms"], text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.refresh, Duration::from_millis(500), "CLI wins");
    assert_eq!(settings.theme, "light", "file beats default");
    assert_eq!(settings.max_fps, 10);
    assert_eq!(settings.debounce, defaults::DEBOUNCE, "default fills the rest");
    let settings = from_text(&["--theme", "high-contrast"], text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.theme, "high-contrast");
}

#[test]
fn netlink_off_says_why() {
    let settings = from_text(&["--no-netlink"], "").unwrap_or_else(|e| panic!("{e}"));
    assert!(!settings.netlink);
    assert_eq!(settings.netlink_off_reason.as_deref(), Some("--no-netlink"));
    let settings = from_text(&[], "[interfaces]\nnetlink = false\n").unwrap_or_else(|e| panic!("{e}"));
    assert!(settings.netlink_off_reason.is_some_and(|r| r.contains("interfaces.netlink = false")));
}

#[test]
fn bad_input_names_file_key_and_value() {
    let cases: &[(&str, &[&str])] = &[
        ("refrsh = \"1s\"\n", &["/etc/netlens-test.toml", "line 1", "refrsh", "refrsh = \"1s\"", "fix:"]),
        ("[ui]\nmax_fps = \"fast\"\n", &["line 2", "max_fps = \"fast\"", "fix:"]),
        ("[ui]\nmax_fps = 1000\n", &["ui.max_fps", "1000", "between 1 and 120", "fix:"]),
        ("refresh = \"soon\"\n", &["`refresh`", "\"soon\"", "not a duration", "fix:"]),
        ("refresh = \"10ms\"\n", &["`refresh`", "\"10ms\"", "between", "fix:"]),
        ("[interfaces]\ndebounce = \"9s\"\n", &["interfaces.debounce", "\"9s\""]),
        ("[interfaces]\nbogus = 1\n", &["line 2", "bogus"]),
        ("this is not toml", &["line 1", "this is not toml"]),
        ("[ui]\nhistory = 1\n", &["ui.history", "1"]),
    ];
    for (text, needles) in cases {
        let message = error_text(&[], text);
        for needle in *needles {
            assert!(message.contains(needle), "{text:?}: missing {needle:?} in {message:?}");
        }
    }
}

#[test]
fn missing_explicit_config_is_an_error() {
    let error = Settings::resolve(&cli(&["--config", "/nonexistent/netlens.toml"])).err();
    let text = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("/nonexistent/netlens.toml"), "{text}");
}

#[test]
fn keys_pass_through() {
    let settings = from_text(&[], "[keys]\nquit = [\"Q\"]\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.keys.get("quit"), Some(&vec!["Q".to_owned()]));
}

#[test]
fn every_value_error_names_its_line() {
    let cases: &[(&str, &[&str])] = &[
        (
            "theme = \"dark\"\n[paths]\ntargets = [\n  \"example.org:443\",\n  \"bad target,probe=warp\",\n]\n",
            &["line 5", "paths.targets[1]", "\"bad target,probe=warp\"", "[ipv6]:port", "fix:"],
        ),
        ("\n\n[ui]\nmax_fps = 1000\n", &["line 4", "ui.max_fps", "1000", "between 1 and 120"]),
        ("[ui]\nhistory = -3\n", &["line 2", "ui.history", "-3"]),
        ("# c\nrefresh = \"5\"\n", &["line 2", "`refresh`", "no unit", "`5s`"]),
        ("[paths]\nprobe_interval = \"100ms\"\n", &["line 2", "paths.probe_interval", "between 500ms and"]),
        ("[keys]\nquit = [\"ctrl-nonsense\"]\n", &["line 2", "keys.quit", "ctrl-nonsense"]),
        ("[keys]\nfly = [\"x\"]\n", &["line 2", "keys.fly", "unknown action"]),
    ];
    for (text, needles) in cases {
        let message = error_text(&[], text);
        for needle in *needles {
            assert!(message.contains(needle), "{text:?}: missing {needle:?} in {message:?}");
        }
    }
}

#[test]
fn a_file_that_is_not_utf8_says_so() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("latin1.toml");
    std::fs::write(&path, b"# caf\xe9 settings\n").unwrap_or_else(|e| panic!("{e}"));
    let message = Source::read(&path).err().map(|e| e.to_string()).unwrap_or_default();
    for needle in [&path.display().to_string(), "line 1", "not UTF-8", "0xe9", "column 6", "save it as UTF-8"]
    {
        assert!(message.contains(needle), "missing {needle:?} in {message:?}");
    }
    assert!(!message.contains("permissions"), "{message}");
}

#[test]
fn the_template_documents_the_accepted_ranges() {
    let text = template();
    for (key, bounds) in [
        ("refresh", ranges::REFRESH),
        ("interfaces.debounce", ranges::DEBOUNCE),
        ("connections.closed_retention", ranges::CLOSED_RETENTION),
        ("record.flight_recorder", ranges::FLIGHT_RECORDER),
        ("paths.debounce", ranges::PATH_DEBOUNCE),
        ("paths.probe_interval", ranges::PROBE_INTERVAL),
        ("paths.probe_timeout", ranges::PROBE_TIMEOUT),
    ] {
        assert!(text.contains(&bounds.describe()), "{key}: {} not in the template", bounds.describe());
        let (section, name) = key.split_once('.').map_or(("", key), |(s, n)| (s, n));
        let config = |value: Duration| {
            let line = format!("{name} = \"{}\"\n", crate::duration::format(value));
            if section.is_empty() { line } else { format!("[{section}]\n{line}") }
        };
        assert!(from_text(&[], &config(bounds.min)).is_ok(), "{key}: its documented minimum is refused");
        assert!(from_text(&[], &config(bounds.max)).is_ok(), "{key}: its documented maximum is refused");
        assert!(from_text(&[], &config(bounds.max + Duration::from_secs(1))).is_err(), "{key}: above max");
        if let Some(below) = bounds.min.checked_sub(Duration::from_millis(1)) {
            assert!(from_text(&[], &config(below)).is_err(), "{key}: below min accepted");
        }
    }
    for (key, bounds) in [
        ("max_fps", ranges::MAX_FPS),
        ("timeline_capacity", ranges::TIMELINE_CAPACITY),
        ("history", ranges::HISTORY),
    ] {
        assert!(text.contains(&bounds.describe()), "ui.{key}: {} not in the template", bounds.describe());
        for (value, ok) in
            [(bounds.min, true), (bounds.max, true), (bounds.min - 1, false), (bounds.max + 1, false)]
        {
            assert_eq!(from_text(&[], &format!("[ui]\n{key} = {value}\n")).is_ok(), ok, "ui.{key} = {value}");
        }
    }
    // The command line takes the same refresh range.
    assert!(Cli::try_parse_from(["netlens", "--refresh", "100ms"]).is_ok());
    assert!(Cli::try_parse_from(["netlens", "--refresh", "99ms"]).is_err());
    assert!(Cli::try_parse_from(["netlens", "--refresh", "61s"]).is_err());
}

#[test]
fn findings_settings_override_the_rules_defaults() {
    let text = "[findings]\ndisabled = [\"fd_exhaustion\"]\n[findings.conntrack_full]\npercent = 75\nhold = \"1m\"\n";
    let settings = from_text(&[], text).unwrap_or_else(|e| panic!("{e}"));
    let rules = &settings.findings;
    let conntrack = netlens_collectors::findings::rule("conntrack_full").unwrap_or_else(|| panic!("rule"));
    let config = rules.for_rule(conntrack);
    assert!((config.threshold("percent") - 75.0).abs() < f64::EPSILON);
    assert_eq!(config.hold, time::Duration::minutes(1));
    assert_eq!(config.debounce, conntrack.debounce, "unset keys keep the rule's default");
    let fd = netlens_collectors::findings::rule("fd_exhaustion").unwrap_or_else(|| panic!("rule"));
    assert!(!rules.for_rule(fd).enabled);
}

/// Each bad `[findings]` value names the file, the line, the key and the value, and
/// says what would be right.
#[test]
fn bad_findings_settings_name_their_key() {
    let cases = [
        (
            "[findings.no_such_rule]\nhold = \"1s\"\n",
            "findings.no_such_rule",
            "`netlens config template` lists",
        ),
        (
            "[findings.listen_overflows]\nhold = \"1s\"\n",
            "findings.listen_overflows",
            "did you mean `listen_overflow`?",
        ),
        ("[findings]\ndisabled = [\"nope\"]\n", "findings.disabled", "no rule `nope`"),
        (
            "[findings.conntrack_full]\nprecent = 75\n",
            "findings.conntrack_full.precent",
            "its settings are: enabled, debounce, hold, percent",
        ),
        ("[findings.conntrack_full]\npercent = -1\n", "findings.conntrack_full.percent", "from 0 to"),
        ("[findings.interface_flapping]\nwindow = 1e12\n", "findings.interface_flapping.window", "from 0 to"),
        ("[findings.conntrack_full]\nhold = \"soon\"\n", "findings.conntrack_full.hold", "write e.g."),
        ("[findings.conntrack_full]\nhold = \"2h\"\n", "findings.conntrack_full.hold", "between"),
        ("[findings.conntrack_full]\nenabled = \"no\"\n", "findings.conntrack_full.enabled", "true or false"),
        ("[findings]\nlisten_overflow = 3\n", "findings.listen_overflow", "must be a table"),
    ];
    for (text, key, says) in cases {
        let error = error_text(&[], text);
        assert!(
            error.contains("/etc/netlens-test.toml") && error.contains(key) && error.contains(says),
            "{text}: {error}"
        );
    }
}
