use clap::Parser;

use super::*;

fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("netlens").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn from_text(args: &[&str], text: &str) -> Result<Settings, ConfigError> {
    let path = PathBuf::from("/etc/netlens-test.toml");
    let file = parse_file(&path, text)?;
    Settings::merge(&cli(args), Some(path), file)
}

fn error_text(args: &[&str], text: &str) -> String {
    from_text(args, text).err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn template_parses_to_the_defaults() {
    let from_template = from_text(&[], &template()).unwrap_or_else(|e| panic!("{e}"));
    let defaults =
        Settings::merge(&cli(&[]), Some(PathBuf::from("/etc/netlens-test.toml")), ConfigFile::default())
            .unwrap_or_else(|e| panic!("{e}"));
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
    let settings = from_text(&[], "[keys]\nquit = [\"x\"]\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.keys.get("quit"), Some(&vec!["x".to_owned()]));
}
