//! Every subcommand whose reader goes away (`netlens … | head -c 1`) ends quietly with
//! status 0: no panic, no "Broken pipe" message, as `head` users expect.

mod support;

use std::process::Stdio;

use support::{netlens, tempdir};

/// Invocations that succeed when their output is read, one per subcommand and format.
fn invocations() -> Vec<Vec<&'static str>> {
    vec![
        vec!["--help"],
        vec!["--version"],
        vec!["snapshot", "--help"],
        vec!["config", "template"],
        vec!["config", "path"],
        vec!["--demo", "snapshot", "-d", "100ms"],
        vec!["--demo", "snapshot", "-d", "100ms", "-f", "md"],
        vec!["--demo", "snapshot", "-d", "100ms", "-f", "csv"],
        vec!["snapshot", "-d", "100ms"],
        // Route lookups only: `probe=none` sends no packet.
        vec!["path", "127.0.0.1:9,probe=none"],
        vec!["path", "--json", "127.0.0.1:9,probe=none"],
        // Answered from /etc/hosts: no DNS packet leaves.
        vec!["trace", "localhost"],
        vec!["trace", "--json", "localhost"],
    ]
}

fn assert_quiet(args: &[&str], status: std::process::ExitStatus, stderr: &str, how: &str) {
    assert!(!stderr.contains("panicked"), "{args:?} {how}: panicked:\n{stderr}");
    assert_eq!(status.code(), Some(0), "{args:?} {how}: {status}, stderr:\n{stderr}");
    assert!(stderr.trim().is_empty(), "{args:?} {how}: said {stderr:?}");
}

/// The reader is gone before netlens writes a byte: every write fails with EPIPE.
#[test]
fn a_closed_reader_ends_every_subcommand_with_status_0() {
    let home = tempdir();
    for args in invocations() {
        let (reader, writer) = std::io::pipe().unwrap_or_else(|error| panic!("pipe: {error}"));
        drop(reader);
        let output = netlens(home.path())
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|error| panic!("cannot run netlens: {error}"));
        assert_quiet(&args, output.status, &String::from_utf8_lossy(&output.stderr), "into a closed pipe");
    }
}

/// As a user types it: `netlens … | head -c 1`, with the shell reporting netlens's status.
#[test]
fn piped_into_head_c_1_every_subcommand_exits_0() {
    let home = tempdir();
    let binary = env!("CARGO_BIN_EXE_netlens");
    for args in invocations() {
        let line = format!("set -o pipefail; '{binary}' {} | head -c 1 >/dev/null", args.join(" "));
        let output = std::process::Command::new("bash")
            .args(["-c", &line])
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("HOME", home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|error| panic!("cannot run bash: {error}"));
        assert_quiet(&args, output.status, &String::from_utf8_lossy(&output.stderr), "| head -c 1");
    }
}
