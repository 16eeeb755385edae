//! The command line as a user meets it: help, version, config template, bad input
//! (exit status 2 with a message naming the problem) and headless snapshots.

mod support;

use support::{netlens, run, stderr, stdout, tempdir, write};

#[test]
fn help_and_version() {
    let home = tempdir();
    let help = run(netlens(home.path()).arg("--help"));
    assert!(help.status.success());
    for needle in ["snapshot", "--netns", "--theme", "--config", "NO_COLOR", "Exit status"] {
        assert!(stdout(&help).contains(needle), "--help lacks {needle}");
    }
    let version = run(netlens(home.path()).arg("--version"));
    assert!(version.status.success());
    assert_eq!(stdout(&version).trim(), format!("netlens {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn config_template_is_a_valid_config() {
    let home = tempdir();
    let template = run(netlens(home.path()).args(["config", "template"]));
    assert!(template.status.success());
    let text = stdout(&template);
    assert!(text.contains("refresh = \"1s\"") && text.contains("[keys]"));
    let path = write(home.path(), "template.toml", &text);
    // A config that is the template must be accepted as it is.
    let output =
        run(netlens(home.path()).args(["--demo", "--config"]).arg(&path).args(["snapshot", "-d", "100ms"]));
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn bad_config_exits_2_naming_file_key_and_value() {
    let home = tempdir();
    let cases = [
        ("refrsh = \"1s\"\n", vec!["refrsh", "line 1"]),
        ("refresh = \"soon\"\n", vec!["refresh", "\"soon\""]),
        ("[ui]\nmax_fps = 0\n", vec!["ui.max_fps", "0"]),
        ("[keys]\nquit = [\"ctrl-nonsense\"]\n", vec!["quit", "ctrl-nonsense"]),
        ("[keys]\nfly = [\"x\"]\n", vec!["fly"]),
        ("theme = 12\n", vec!["theme", "line 1"]),
        (
            "[paths]\ntargets = [\"ok.example:443\",\n  \"x,probe=warp\"]\n",
            vec!["line 3", "paths.targets[1]"],
        ),
        ("[interfaces]\ndebounce = \"5\"\n", vec!["line 2", "interfaces.debounce", "no unit"]),
        ("[paths]\ntargets = [\"fd77::1:8080\"]\n", vec!["line 2", "paths.targets[0]", "[fd77::1]:8080"]),
    ];
    for (text, needles) in cases {
        let path = write(home.path(), "bad.toml", text);
        let output = run(netlens(home.path()).arg("--config").arg(&path).args(["snapshot", "-d", "100ms"]));
        assert_eq!(output.status.code(), Some(2), "{text:?}: {}", stderr(&output));
        let message = stderr(&output);
        assert!(message.contains(&path.display().to_string()), "{text:?}: no path in {message:?}");
        for needle in needles {
            assert!(message.contains(needle), "{text:?}: {needle:?} missing in {message:?}");
        }
        assert!(stdout(&output).is_empty(), "nothing on stdout for a config error");
    }
}

#[test]
fn a_config_file_that_is_not_utf8_exits_2_saying_so() {
    let home = tempdir();
    let path = home.path().join("latin1.toml");
    std::fs::write(&path, b"theme = \"caf\xe9\"\n").unwrap_or_else(|error| panic!("{error}"));
    let output = run(netlens(home.path()).arg("--config").arg(&path).args(["snapshot", "-d", "100ms"]));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("not UTF-8") && message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn bad_invocations_exit_2_with_one_line() {
    let home = tempdir();
    let bad_theme = write(home.path(), "bad-theme.toml", "[colors]\nnope = \"red\"\n");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--theme".into(), "solarized-neon".into(), "snapshot".into()],
            "unknown theme `solarized-neon`",
        ),
        (
            vec!["--netns".into(), "netlens-test-no-such-ns".into(), "snapshot".into()],
            "netlens-test-no-such-ns",
        ),
        (
            vec!["snapshot".into(), "-o".into(), "/nonexistent-netlens-dir/x.json".into()],
            "cannot write /nonexistent-netlens-dir/x.json",
        ),
        (vec!["snapshot".into(), "--duration".into(), "soon".into()], "`soon`"),
        (vec!["snapshot".into(), "--duration".into(), "5".into()], "`5` has no unit"),
        (vec!["--target".into(), "fd77::1:8080".into(), "snapshot".into()], "[fd77::1]:8080"),
        (vec!["--refresh".into(), "2".into(), "snapshot".into()], "`2` has no unit"),
        (vec!["--theme".into(), bad_theme.display().to_string(), "snapshot".into()], "nope"),
    ];
    for (args, needle) in cases {
        let output = run(netlens(home.path()).args(&args));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        let message = stderr(&output);
        assert!(message.contains(needle), "{args:?}: {needle:?} missing in {message:?}");
    }
}

#[test]
fn snapshot_json_matches_the_schema() {
    let home = tempdir();
    let output = run(netlens(home.path()).args(["snapshot", "--duration", "400ms"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let doc: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    support::schema::check_snapshot(&doc);
    let names: Vec<&str> =
        doc["interfaces"].as_array().into_iter().flatten().filter_map(|i| i["name"].as_str()).collect();
    assert!(names.contains(&"lo"), "loopback is always there: {names:?}");
    let lo = doc["interfaces"].as_array().into_iter().flatten().find(|i| i["name"] == "lo");
    assert_eq!(lo.map(|lo| lo["kind"].clone()), Some(serde_json::json!("loopback")));
    assert!(
        doc["sources"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == "interfaces" && s["status"] == "ok"))
    );
}

#[test]
fn snapshot_redact_hides_identity_consistently() {
    let home = tempdir();
    let plain = run(netlens(home.path()).args(["--demo", "snapshot", "-d", "100ms"]));
    let redacted = run(netlens(home.path()).args(["--demo", "snapshot", "-d", "100ms", "--redact"]));
    assert!(plain.status.success() && redacted.status.success(), "{}", stderr(&redacted));
    let plain_text = stdout(&plain);
    let text = stdout(&redacted);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON: {e}"));
    support::schema::check_snapshot(&doc);
    let plain_doc = serde_json::from_str(&plain_text).unwrap_or_else(|e| panic!("not JSON: {e}"));
    support::schema::check_snapshot(&plain_doc);
    for secret in ["devbox", "52:54:00:12:34:56", "192.168.1.23", "10.20.30.41", "fe80::5054:ff:fe12:3456"] {
        assert!(plain_text.contains(secret), "the demo has {secret}");
        assert!(!text.contains(secret), "{secret} leaked");
    }
    assert!(text.contains("127.0.0.1"), "loopback stays");
    // The same address has the same pseudonym everywhere: the default route's source is
    // eth0's address.
    let eth0_address = &doc["interfaces"][1]["addresses"][0]["address"];
    let default_source = &doc["routes"][0]["source"];
    assert_eq!(eth0_address, default_source);
}

#[test]
fn snapshot_markdown_and_output_file() {
    let home = tempdir();
    let path = home.path().join("report.md");
    let output =
        run(netlens(home.path()).args(["--demo", "snapshot", "-f", "md", "-d", "100ms", "-o"]).arg(&path));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).is_empty(), "with -o nothing goes to stdout");
    let md = std::fs::read_to_string(&path).unwrap_or_default();
    for heading in ["# netlens snapshot of devbox", "## Interfaces", "## Routes", "## Events"] {
        assert!(md.contains(heading), "{heading} missing");
    }
    let leftovers: Vec<_> = std::fs::read_dir(home.path())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(".netlens"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn sigint_ends_a_long_snapshot_early_and_writes_it() {
    let home = tempdir();
    let path = home.path().join("early.json");
    let mut child = netlens(home.path())
        .args(["--demo", "snapshot", "-d", "10m", "-o"])
        .arg(&path)
        .spawn()
        .unwrap_or_else(|e| panic!("running netlens: {e}"));
    std::thread::sleep(std::time::Duration::from_millis(800));
    let started = std::time::Instant::now();
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(kill.is_ok_and(|status| status.success()), "kill -INT failed");
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "netlens snapshot exited {status} on SIGINT");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "SIGINT did not end the collection");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("the snapshot written on SIGINT is not JSON: {e}"));
    assert!(doc["interfaces"].as_array().is_some_and(|interfaces| !interfaces.is_empty()), "{doc}");
}

#[test]
fn no_netlink_uses_the_portable_fallback_and_says_so() {
    let home = tempdir();
    let output = run(netlens(home.path()).args(["--no-netlink", "snapshot", "-d", "300ms"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    support::schema::check_snapshot(&doc);
    let source = doc["sources"].as_array().into_iter().flatten().find(|s| s["name"] == "interfaces").cloned();
    let source = source.unwrap_or_default();
    assert_eq!(source["status"], "degraded", "{source}");
    assert!(source["detail"].as_str().is_some_and(|d| d.contains("--no-netlink")), "{source}");
    assert!(doc["interfaces"].as_array().is_some_and(|i| i.iter().any(|i| i["name"] == "lo")));
}

#[test]
fn snapshot_csv_is_the_connection_table() {
    let home = tempdir();
    let output = run(netlens(home.path()).args(["--demo", "snapshot", "-f", "csv", "-d", "100ms"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let mut lines = text.split("\r\n").filter(|line| !line.is_empty());
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("protocol,family,state,local,remote,"), "{header}");
    let columns = header.split(',').count();
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 15, "{} rows", rows.len());
    assert!(rows.iter().any(|row| {
        row.starts_with("tcp,ipv4,established,192.168.1.23:51514,93.184.215.14:443,example.org,")
    }));
    // Quoted fields aside, every row has the header's column count.
    assert!(rows.iter().filter(|row| !row.contains('"')).all(|row| row.split(',').count() == columns));
}

/// The README's table of findings names every rule netlens has, and no other.
#[test]
fn the_readme_lists_every_finding_rule() {
    let readme = include_str!("../README.md");
    let section = readme.split("\n## Findings\n").nth(1).unwrap_or_default();
    let section = section.split("\n## ").next().unwrap_or_default();
    let listed: Vec<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split_once("` |").map(|(id, _)| id))
        .filter(|id| id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .collect();
    let rules: Vec<&str> = netlens_collectors::findings::RULES.iter().map(|rule| rule.id).collect();
    assert_eq!(listed, rules, "README.md's findings table against the rules, in order");
}

/// `netlens diff`: equal snapshots exit 0; an address added and a route removed are
/// exactly those two changes (exit 1); a file that is not a snapshot, or of a newer
/// schema, exits 2 naming it.
#[test]
fn diff_says_what_changed_between_two_snapshots() {
    let home = tempdir();
    let dir = home.path();
    let a = dir.join("a.json");
    let written = run(netlens(dir).args(["--demo", "snapshot", "-o"]).arg(&a));
    assert!(written.status.success(), "{}", stderr(&written));
    let same = run(netlens(dir).arg("diff").arg(&a).arg(&a));
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert_eq!(stdout(&same), "No changes.\n");

    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&a).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    let eth0 = doc["interfaces"]
        .as_array_mut()
        .and_then(|all| all.iter_mut().find(|i| i["name"] == "eth0"))
        .unwrap_or_else(|| panic!("eth0"));
    let mut address = eth0["addresses"][0].clone();
    address["address"] = "192.168.1.77".into();
    eth0["addresses"].as_array_mut().unwrap_or_else(|| panic!("addresses")).push(address);
    doc["routes"].as_array_mut().unwrap_or_else(|| panic!("routes")).remove(0);
    let b = write(dir, "b.json", &doc.to_string());
    let differ = run(netlens(dir).arg("diff").arg(&a).arg(&b).args(["--format", "json"]));
    assert_eq!(differ.status.code(), Some(1), "{}", stderr(&differ));
    let changes: serde_json::Value = serde_json::from_str(&stdout(&differ)).unwrap_or_else(|e| panic!("{e}"));
    let changes = changes["changes"].as_array().unwrap_or_else(|| panic!("changes"));
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert_eq!((&changes[0]["section"], &changes[0]["change"]), (&"addresses".into(), &"added".into()));
    assert!(changes[0]["subject"].as_str().is_some_and(|s| s.starts_with("eth0 192.168.1.77/")));
    assert_eq!((&changes[1]["section"], &changes[1]["change"]), (&"routes".into(), &"removed".into()));
    assert!(changes[1]["after"].is_null() && changes[1]["before"].is_string());

    let garbage = write(dir, "notes.txt", "not json at all\n");
    let bad = run(netlens(dir).arg("diff").arg(&a).arg(&garbage));
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("notes.txt is not a netlens snapshot"), "{}", stderr(&bad));
    doc["schema_version"] = 99.into();
    let newer = write(dir, "newer.json", &doc.to_string());
    let bad = run(netlens(dir).arg("diff").arg(&newer).arg(&a));
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("newer.json has schema_version 99"), "{}", stderr(&bad));
    let missing = run(netlens(dir).arg("diff").arg(dir.join("absent.json")).arg(&a));
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("absent.json: cannot read it"), "{}", stderr(&missing));
}

#[test]
fn record_then_snapshot_and_diff_times_of_the_journal() {
    let home = tempdir();
    let journal = home.path().join("demo.nlj");
    let output = run(netlens(home.path()).args(["--demo", "record", "-d", "3s", "-o"]).arg(&journal));
    assert!(output.status.success(), "{}", stderr(&output));
    let meta = std::fs::metadata(&journal).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600,
        "a journal is private"
    );

    // A device is written in place: /dev/null discards a recording.
    let discarded = run(netlens(home.path()).args(["--demo", "record", "-d", "1s", "-o", "/dev/null"]));
    assert!(discarded.status.success(), "{}", stderr(&discarded));

    // Never over an existing file.
    let again = run(netlens(home.path()).args(["--demo", "record", "-d", "1s", "-o"]).arg(&journal));
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("exists"), "{}", stderr(&again));
    assert_eq!(
        std::fs::metadata(&journal).map(|m| m.len()).ok(),
        Some(meta.len()),
        "the journal was touched"
    );

    // The state at the end, in the export schema.
    let output = run(netlens(home.path()).args(["snapshot", "--from"]).arg(&journal));
    assert!(output.status.success(), "{}", stderr(&output));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}"));
    support::schema::check_snapshot(&doc);
    assert!(doc["interfaces"].as_array().is_some_and(|interfaces| !interfaces.is_empty()), "{doc}");

    // Two times of one journal: the demo's counters and connections move on.
    let at = |spec: &str| format!("{}@{spec}", journal.display());
    let same = run(netlens(home.path()).args(["diff", &at("end"), &at("end")]));
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let bad = run(netlens(home.path()).args(["diff", &at("yesterday"), &at("end")]));
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("demo.nlj") && stderr(&bad).contains("`yesterday`"), "{}", stderr(&bad));
    let early = run(netlens(home.path())
        .args(["snapshot", "--from"])
        .arg(&journal)
        .args(["--at", "2001-01-01T00:00:00Z"]));
    assert_eq!(early.status.code(), Some(2));
    assert!(stderr(&early).contains("before the recording starts"), "{}", stderr(&early));
}

#[test]
fn journals_that_are_not_or_are_newer_are_named() {
    let home = tempdir();
    let not = write(home.path(), "notes.nlj", "hello");
    let output = run(netlens(home.path()).args(["snapshot", "--from"]).arg(&not));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("notes.nlj is not a netlens journal"), "{}", stderr(&output));

    let newer = home.path().join("newer.nlj");
    std::fs::write(&newer, [&b"\x89NLJ\r\n\x1a\n"[..], &7u32.to_le_bytes()].concat())
        .unwrap_or_else(|e| panic!("{e}"));
    let output = run(netlens(home.path()).args(["snapshot", "--from"]).arg(&newer));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("format version 7"), "{}", stderr(&output));
}

#[test]
fn record_into_a_directory_keeps_segments_and_sigterm_closes_it() {
    let home = tempdir();
    let dir = home.path().join("journal/");
    let mut child = netlens(home.path())
        .args(["--demo", "record", "-o"])
        .arg(&dir)
        .spawn()
        .unwrap_or_else(|e| panic!("running netlens: {e}"));
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let kill = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(kill.is_ok_and(|status| status.success()));
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "netlens record exited {status} on SIGTERM");
    let segments: Vec<_> = std::fs::read_dir(&dir).into_iter().flatten().flatten().collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    let output = run(netlens(home.path()).args(["snapshot", "-f", "md", "--from"]).arg(&dir));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("## Interfaces"));
}
