//! `netlens record` when things go wrong: the disk fills (a small tmpfs in a mount
//! namespace of the test's own), a size limit is reached. Recording stops cleanly,
//! says so, and what was written reads back; the daemon's recording stops and its
//! metrics go on.

mod common;
mod support;

use std::process::Command;

use support::{netlens, run, stderr, tempdir};

const REQUIRE_ENV: &str = "NETLENS_REQUIRE_NETNS";

/// Whether this process may make a mount namespace (root); otherwise skip, unless
/// the environment forbids skipping.
fn can_mount() -> bool {
    let root = Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    if !root {
        assert!(
            std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
            "not root (and {REQUIRE_ENV}=1 forbids skipping)"
        );
        eprintln!("skipping: a tmpfs needs root");
    }
    root
}

#[test]
fn a_disk_that_fills_stops_the_recording_and_keeps_what_was_written() {
    if !can_mount() {
        return;
    }
    let home = tempdir();
    let mount = home.path().join("small");
    let kept = home.path().join("kept.nlj");
    std::fs::create_dir(&mount).unwrap_or_else(|e| panic!("{e}"));
    let journal = mount.join("j.nlj");
    // The tmpfs lives in a mount namespace of its own and goes with it: the journal is
    // copied out before the namespace ends.
    let script = format!(
        "mount -t tmpfs -o size=48k tmpfs {mount} && {{ \"$0\" --demo record -d 60s -o {journal}; echo \"rc=$?\" >&2; cp {journal} {kept}; }}",
        mount = mount.display(),
        journal = journal.display(),
        kept = kept.display(),
    );
    let output = run(Command::new("unshare")
        .args(["-m", "sh", "-c", &script, env!("CARGO_BIN_EXE_netlens")])
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("HOME", home.path()));
    let err = stderr(&output);
    assert!(err.contains("rc=1"), "recording a full disk should exit 1: {err}");
    assert!(
        err.contains("recording stopped: writing")
            && err.contains("No space left on device")
            && err.contains("is kept"),
        "{err}"
    );
    let size = std::fs::metadata(&kept).map_or(0, |meta| meta.len());
    assert!(size > 0 && size <= 48 * 1024, "{size} bytes kept");
    let output = run(netlens(home.path()).args(["snapshot", "--from"]).arg(&kept));
    assert!(output.status.success(), "the kept journal does not read: {}", stderr(&output));
    let doc: serde_json::Value = serde_json::from_str(&support::stdout(&output)).unwrap_or_default();
    assert!(doc["interfaces"].as_array().is_some_and(|interfaces| !interfaces.is_empty()), "{doc}");
}

#[test]
fn max_size_stops_a_file_and_keeps_it_whole() {
    let home = tempdir();
    let journal = home.path().join("bounded.nlj");
    let output = run(netlens(home.path())
        .args(["--demo", "record", "-d", "30s", "--max-size", "32K", "-o"])
        .arg(&journal));
    assert!(output.status.success(), "{}", stderr(&output));
    let size = std::fs::metadata(&journal).map_or(0, |meta| meta.len());
    // Stopped at the first frame past the size: a frame of the demo is a few KB.
    assert!((32 * 1024..96 * 1024).contains(&size), "{size} bytes");
    let output = run(netlens(home.path()).args(["snapshot", "--from"]).arg(&journal));
    assert!(output.status.success(), "{}", stderr(&output));
    let bad = run(netlens(home.path())
        .args(["--demo", "record", "--max-size", "lots", "-o"])
        .arg(home.path().join("x.nlj")));
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("`lots` is not a size"), "{}", stderr(&bad));
    assert!(!home.path().join("x.nlj").exists(), "a refused invocation made the file");
}

/// A directory journal is made where the user said, never its missing parents: a
/// mistyped path run as root leaves nothing behind; the error names the parent.
#[test]
fn a_journal_directory_whose_parent_is_missing_is_refused_and_nothing_made() {
    let home = tempdir();
    let missing = home.path().join("typo");
    let target = missing.join("journal/");
    let out = run(netlens(home.path()).args(["--demo", "record", "-d", "1s", "-o"]).arg(&target));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("its parent directory {} does not exist", missing.display())),
        "{}",
        stderr(&out)
    );
    assert!(!missing.exists(), "a parent was made");
    let out = run(netlens(home.path())
        .args(["--demo", "--log", "/dev/null", "daemon", "--metrics-addr", "127.0.0.1:0", "--record"])
        .arg(&target));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!missing.exists(), "a parent was made");
}

/// `netlens daemon --record` on a disk that fills: the recording stops with an error
/// in the log naming the directory, and the daemon goes on serving its metrics; SIGTERM
/// still ends it cleanly.
#[test]
fn the_daemons_recording_stops_on_a_full_disk_and_its_metrics_go_on() {
    if !can_mount() {
        return;
    }
    let home = tempdir();
    let mount = home.path().join("small");
    std::fs::create_dir(&mount).unwrap_or_else(|e| panic!("{e}"));
    let script = format!(
        "mount -t tmpfs -o size=48k tmpfs {mount} && exec \"$0\" --demo --log /dev/null daemon --metrics-addr 127.0.0.1:0 --record {mount}",
        mount = mount.display(),
    );
    let child = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, env!("CARGO_BIN_EXE_netlens")])
        .env("HOME", home.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("unshare: {e}"));
    let (daemon, log) = common::daemon::logging(child);
    let address = common::daemon::serving_address(&log);
    let stopped = common::daemon::log_line(&log, "recording stopped");
    assert!(stopped.starts_with("<3>") && stopped.contains("No space left on device"), "{stopped}");
    assert!(stopped.contains(&mount.display().to_string()), "{stopped}");
    for _ in 0..3 {
        let (code, body) = common::daemon::get(address, "/metrics", "text/plain");
        assert_eq!(code, 200);
        assert!(body.contains("netlens_build_info"), "{body}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    common::daemon::signal(&daemon, nix::sys::signal::Signal::SIGTERM);
    let mut daemon = daemon;
    let status = daemon.0.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status:?}");
}
