//! End to end in a pseudo-terminal: `netlens replay` over a recorded journal (the
//! cursor keys move the state shown) and `netlens open` over a snapshot file, both
//! read-only, both leaving the terminal as they found it.

mod support;

use std::time::Duration;

use support::pty::PtySession;
use support::{netlens, run, stderr, tempdir};

const WAIT: Duration = Duration::from_secs(10);

/// The last line of the screen: the status bar.
fn status_bar(session: &PtySession) -> String {
    session.contents().lines().last().unwrap_or_default().to_owned()
}

/// Record the demo for `seconds` into `home/demo.nlj`.
fn record_demo(home: &std::path::Path, seconds: u32) -> std::path::PathBuf {
    let journal = home.join("demo.nlj");
    let output =
        run(netlens(home).args(["--demo", "record", "-d", &format!("{seconds}s"), "-o"]).arg(&journal));
    assert!(output.status.success(), "{}", stderr(&output));
    journal
}

#[test]
fn replay_keys_move_the_cursor_and_live_keys_say_read_only() {
    let home = tempdir();
    let journal = record_demo(home.path(), 6);
    let journal_arg = journal.display().to_string();
    let export_dir = home.path().join("exports");
    std::fs::create_dir_all(&export_dir).unwrap_or_else(|e| panic!("{e}"));
    let export_arg = export_dir.display().to_string();
    let mut session =
        PtySession::spawn(home.path(), &["--export-dir", &export_arg, "replay", &journal_arg], 140, 36);

    // Paused two seconds in, with the recording's host named.
    session.wait_for(&["‖ 1×", "+0:02/", "replay demo.nlj", "recorded on"], WAIT);

    // J jumps; the cursor and the event count move with it.
    session.send(b"J");
    session.wait_for(&["jump to"], WAIT);
    session.send(b"+4s\r");
    session.wait_for(&["+0:04/"], WAIT);
    let at_four = status_bar(&session);

    // Back an event, on an event: the count goes down by one.
    let count = |bar: &str| -> u64 {
        bar.split('#')
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    session.send(b"\x1b[D");
    std::thread::sleep(Duration::from_millis(500));
    let stepped = status_bar(&session);
    assert_eq!(count(&stepped) + 1, count(&at_four), "{at_four}\n{stepped}");

    // [ is a minute back: clamped to the start.
    session.send(b"[");
    session.wait_for(&["+0:00/"], WAIT);

    // Faster, then play to the end (the demo's script spans about a minute and a half).
    session.send(b"++++++ ");
    session.wait_for(&["▶ 64×"], WAIT);
    session.wait_for(&["the end of the journal"], WAIT);

    // A live-only key says why it does nothing.
    session.send(b"r");
    session.wait_for(&["read-only: a route lookup needs the live host"], WAIT);

    // n finds nothing after the end; N goes back to the last change.
    session.send(b"N");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!status_bar(&session).contains("no earlier"), "{}", status_bar(&session));

    // e exports the state shown, in the snapshot schema.
    session.send(b"e");
    session.wait_for(&["snapshot of"], WAIT);
    let files: Vec<_> =
        std::fs::read_dir(&export_dir).into_iter().flatten().flatten().map(|entry| entry.path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap_or_default()).unwrap_or_default();
    support::schema::check_snapshot(&doc);

    session.send(b"?");
    session.wait_for(&["Replay", "jump to a time"], WAIT);
    session.escape();
    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

#[test]
fn open_shows_a_snapshot_read_only() {
    let home = tempdir();
    let snapshot = home.path().join("devbox.json");
    let output = run(netlens(home.path()).args(["--demo", "snapshot", "-d", "300ms", "-o"]).arg(&snapshot));
    assert!(output.status.success(), "{}", stderr(&output));
    let snapshot_arg = snapshot.display().to_string();
    let mut session = PtySession::spawn(home.path(), &["open", &snapshot_arg], 120, 36);
    session.wait_for(&["READ-ONLY", "snapshot devbox.json", "devbox", "Default paths"], WAIT);
    session.send(b"2");
    session.wait_for(&["eth0", "wlan0"], WAIT);
    session.send(b"a");
    session.wait_for(&["read-only: adding a target"], WAIT);
    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

#[test]
fn replay_and_open_refuse_what_they_cannot_read() {
    let home = tempdir();
    let not = support::write(home.path(), "notes.txt", "hello");
    let output = run(netlens(home.path()).arg("replay").arg(&not));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("notes.txt is not a netlens journal"), "{}", stderr(&output));
    let output = run(netlens(home.path()).arg("open").arg(&not));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("notes.txt is not a netlens snapshot"), "{}", stderr(&output));
}

#[test]
fn e_writes_an_incident_bundle_that_replays() {
    let home = tempdir();
    let export_dir = home.path().join("exports");
    std::fs::create_dir_all(&export_dir).unwrap_or_else(|e| panic!("{e}"));
    let export_arg = export_dir.display().to_string();
    let mut session = PtySession::spawn(home.path(), &["--demo", "--export-dir", &export_arg], 160, 36);
    session.wait_for(&["Default paths"], WAIT);
    std::thread::sleep(Duration::from_secs(3));
    session.send(b"E");
    session.wait_for(&["incident bundle written to"], WAIT);
    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();

    let bundles: Vec<_> =
        std::fs::read_dir(&export_dir).into_iter().flatten().flatten().map(|entry| entry.path()).collect();
    assert_eq!(bundles.len(), 1, "{bundles:?}");
    let bundle = &bundles[0];
    assert!(bundle.file_name().is_some_and(|name| name.to_string_lossy().starts_with("netlens-incident-")));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("snapshot.json")).unwrap_or_default())
            .unwrap_or_default();
    support::schema::check_snapshot(&doc);
    assert!(std::fs::read_to_string(bundle.join("snapshot.md")).is_ok_and(|md| md.contains("## Interfaces")));
    // The journal of those seconds reads back as the same host.
    let output = run(netlens(home.path()).args(["snapshot", "--from"]).arg(bundle.join("journal")));
    assert!(output.status.success(), "{}", stderr(&output));
    let replayed: serde_json::Value = serde_json::from_str(&support::stdout(&output)).unwrap_or_default();
    assert_eq!(replayed["host"]["hostname"], doc["host"]["hostname"]);
    assert_eq!(replayed["interfaces"].as_array().map(Vec::len), doc["interfaces"].as_array().map(Vec::len));
}
