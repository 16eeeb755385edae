//! End to end: the real binary in a real pseudo-terminal. It starts, shows the tabs,
//! moves between them, exports with `e`, quits with `q`, and leaves the terminal as
//! it found it — also after bad input and on SIGTERM.

mod support;

use std::time::Duration;

use support::pty::PtySession;
use support::tempdir;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn start_navigate_export_quit() {
    let home = tempdir();
    let export_dir = home.path().join("exports");
    std::fs::create_dir_all(&export_dir).unwrap_or_else(|e| panic!("{e}"));
    let export_arg = export_dir.display().to_string();
    let mut session = PtySession::spawn(home.path(), &["--export-dir", &export_arg], 100, 30);

    // The tab bar and real data (the loopback interface exists in every namespace).
    session.wait_for(&["Overview", "Interfaces", "Routes", "Events", "lo"], WAIT);

    session.send(b"2");
    session.wait_for(&["MTU", "loopback"], WAIT);
    session.send(b"\t");
    session.wait_for(&["Paths", "sort configured"], WAIT);
    session.send(b"\t");
    session.wait_for(&["Resolver", "Query log", "Trace"], WAIT);
    session.send(b"\t");
    // The Connections header counts sockets per state, whatever this host has open.
    session.wait_for(&["established", "listening"], WAIT);
    session.send(b"6");
    session.wait_for(&["table local"], WAIT);
    session.send(b"7");
    session.wait_for(&["interfaces source ok"], WAIT);
    session.send(b"?");
    session.wait_for(&["quit", "export"], WAIT);
    session.escape();

    session.send(b"e");
    session.wait_for(&["snapshot written to"], WAIT);
    let files: Vec<_> =
        std::fs::read_dir(&export_dir).into_iter().flatten().flatten().map(|entry| entry.path()).collect();
    assert_eq!(files.len(), 1, "exactly one snapshot, no temporary files: {files:?}");
    let name = files[0].file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    assert!(name.starts_with("netlens-snapshot-") && name.ends_with("Z.json"), "{name}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap_or_default()).unwrap_or_default();
    support::schema::check_snapshot(&doc);

    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

#[test]
fn paths_tab_details_and_route_lookup_in_the_demo() {
    let home = tempdir();
    let mut session = PtySession::spawn(home.path(), &["--demo"], 120, 36);
    session.wait_for(&["Default paths", "address_tentative"], WAIT);
    session.send(b"3");
    session.wait_for(&["example.org:443", "failing probe_failed", "satisfied → failing?"], WAIT);
    session.send(b"jj\r");
    session.wait_for(&["Checks (7)", "Happy Eyeballs", "also-ran", "winner"], WAIT);
    session.escape();
    session.send(b"r");
    session.wait_for(&["route lookup"], WAIT);
    session.send(b"10.0.0.1 mark=x");
    session.wait_for(&["`mark=x`: mark must be a number"], WAIT);
    session.escape();
    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

#[test]
fn dns_tab_and_trace_prompt_in_the_demo() {
    let home = tempdir();
    let mut session = PtySession::spawn(home.path(), &["--demo"], 120, 36);
    session.wait_for(&["Default paths & DNS", "127.0.0.53 +1 (stub → 2 upstreams)"], WAIT);
    session.send(b"4");
    session.wait_for(
        &["Resolver", "has no route", "Servers 4", "Query log 40 logged", "push.example.org"],
        WAIT,
    );
    // → gives the trace the focus and, on this screen, the room to show all of it.
    session.send(b"\x1b[C");
    session.wait_for(
        &["Trace db", "db.lab.test → db-1.lab.test → 10.0.0.5", "AI_ADDRCONFIG dropped IPv6"],
        WAIT,
    );
    session.send(b"\x1b[D");
    session.wait_for(&["Servers 4"], WAIT);
    session.send(b"/proc:sshd\r");
    session.wait_for(&["filter proc:sshd", "3 of 40", "5.0.20.10.in-addr.arpa"], WAIT);
    session.send(b"t");
    session.wait_for(&["trace name › db"], WAIT);
    // The prompt starts from the name traced last, selected: typing replaces it.
    session.send(b"db..corp");
    session
        .wait_for(&["trace name › db..corp", "every dot-separated label must be 1 to 63 characters"], WAIT);
    // Enter keeps it open with the reason; what is typed next still goes into it.
    session.send(b"\rx");
    session.wait_for(&["trace name › db..corpx"], WAIT);
    // A valid name closes the prompt (the demo has no DNS source to run the trace).
    session.send(b"\x15example.org\r");
    let deadline = std::time::Instant::now() + WAIT;
    while session.contents().contains("trace name ›") {
        assert!(std::time::Instant::now() < deadline, "the prompt stayed open:\n{}", session.contents());
        std::thread::sleep(Duration::from_millis(50));
    }
    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

/// The sequence the issue met: a duplicate target, Enter, then `x:70000`. The keys
/// must stay in the prompt: nothing is removed, the tab stays, the selection stays.
#[test]
fn add_target_prompt_keeps_every_key_after_an_error() {
    let home = tempdir();
    let mut session = PtySession::spawn(home.path(), &["--demo"], 120, 36);
    session.wait_for(&["Default paths"], WAIT);
    session.send(b"3");
    session.wait_for(&["example.org:443", "sort configured"], WAIT);
    // The third row, whose preview shows below the table.
    session.send(b"jj");
    session.wait_for(&["╭ example.org:443 "], WAIT);

    // A duplicate: refused inline, the prompt stays open.
    session.send(b"a");
    session.wait_for(&["add target ›", "host:port", "[ipv6]:port", "probe=icmp|dns|none"], WAIT);
    session.send(b"example.org:443\r");
    session.wait_for(&["example.org:443 is already watched"], WAIT);
    // What is typed next edits the prompt; no binding sees it.
    session.send(b"x:70000");
    session.wait_for(&["add target › example.org:443x:70000"], WAIT);
    // Enter on the bad target: still open, and typing after the error still edits.
    session.send(b"\r\x15example.com:99999");
    session.wait_for(&["add target › example.com:99999", "port must be a number from 1 to 65535"], WAIT);
    session.send(b"\r-");
    session.wait_for(&["add target › example.com:99999-"], WAIT);
    session.escape();
    let screen = session.contents();
    assert!(!screen.contains("add target ›"), "esc closes the prompt:\n{screen}");
    assert!(!screen.contains("remove target"), "nothing asked to remove:\n{screen}");
    assert!(screen.contains("sort configured") && screen.contains("╭ example.org:443 "), "{screen}");
    assert!(
        !screen.contains("following newest") && !screen.contains("follow off"),
        "not on Events:\n{screen}"
    );

    // Esc on a fresh prompt adds nothing.
    session.send(b"a");
    session.wait_for(&["add target ›"], WAIT);
    session.send(b"new.example:80");
    session.wait_for(&["add target › new.example:80"], WAIT);
    session.escape();
    let screen = session.contents();
    assert!(!screen.contains("adding") && !screen.contains("new.example"), "{screen}");

    // Removing asks first; any key but `y` keeps the target.
    session.send(b"x");
    session.wait_for(&["remove target › example.org:443?", "y removes"], WAIT);
    session.send(b"n");
    session.wait_for(&["kept example.org:443"], WAIT);
    assert!(session.contents().contains("╭ example.org:443 "));

    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

/// `r` reopens with the last question selected: the next address replaces it
/// instead of being glued onto it (`10.88.0.1fd77::1`).
#[test]
fn route_lookup_prompt_replaces_the_previous_question() {
    let home = tempdir();
    let mut session = PtySession::spawn(home.path(), &["--demo"], 120, 36);
    session.wait_for(&["Default paths"], WAIT);
    session.send(b"r10.88.0.1\r");
    session.wait_for(&["Route lookup", "10.88.0.1"], WAIT);
    session.escape();
    session.send(b"r");
    session.wait_for(&["route lookup › 10.88.0.1"], WAIT);
    session.send(b"fd77::1");
    session.wait_for(&["route lookup › fd77::1"], WAIT);
    assert!(!session.contents().contains("10.88.0.1fd77::1"));
    // An error keeps it open; Esc closes it.
    session.send(b" mark=x");
    session.wait_for(&["`mark=x`: mark must be a number"], WAIT);
    session.send(b"\r");
    session.send(b"1");
    session.wait_for(&["route lookup › fd77::1 mark=x1"], WAIT);
    session.escape();
    assert!(!session.contents().contains("route lookup ›"));
    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

/// Enter on an event shows it whole; Esc closes it.
#[test]
fn enter_shows_an_event_whole() {
    let home = tempdir();
    let mut session = PtySession::spawn(home.path(), &["--demo"], 80, 24);
    session.wait_for(&["Overview"], WAIT);
    session.send(b"7");
    session.wait_for(&["Events", "enter show whole"], WAIT);
    session.send(b"\r");
    session.wait_for(&["╭ Event ", "source", "kind", "time"], WAIT);
    session.escape();
    assert!(!session.contents().contains("╭ Event "));
    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

#[test]
fn survives_resizing_down_to_one_cell() {
    let home = tempdir();
    let mut session = PtySession::spawn(home.path(), &["--demo"], 80, 24);
    session.wait_for(&["Overview", "eth0"], WAIT);
    for (cols, rows) in [(40, 12), (10, 3), (1, 1), (200, 50), (80, 24)] {
        session.resize(cols, rows);
    }
    session.wait_for(&["Overview", "eth0"], WAIT);
    session.send(b"\x03");
    assert_eq!(session.wait_exit(WAIT), 0, "ctrl-c quits cleanly");
    session.assert_restored();
}

#[test]
fn export_into_unwritable_directory_keeps_running() {
    let home = tempdir();
    let missing = home.path().join("does-not-exist");
    let missing_arg = missing.display().to_string();
    let mut session = PtySession::spawn(home.path(), &["--demo", "--export-dir", &missing_arg], 100, 30);
    session.wait_for(&["Overview"], WAIT);
    session.send(b"e");
    session.wait_for(&["export failed"], WAIT);
    assert!(!missing.exists(), "no directory or partial file created");
    session.send(b"2");
    session.wait_for(&["MTU"], WAIT);
    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

#[test]
fn bad_config_leaves_the_terminal_cooked() {
    let home = tempdir();
    let config = support::write(home.path(), "bad.toml", "[ui]\nmax_fps = \"lots\"\n");
    let config_arg = config.display().to_string();
    let mut session = PtySession::spawn(home.path(), &["--config", &config_arg], 80, 24);
    assert_eq!(session.wait_exit(WAIT), 2);
    session.assert_restored();
    let output = session.raw_output();
    assert!(output.contains("max_fps") && output.contains("bad.toml"), "{output}");
}

#[test]
fn signals_restore_the_terminal() {
    for signal in ["TERM", "HUP", "INT"] {
        let home = tempdir();
        let mut session = PtySession::spawn(home.path(), &["--demo"], 80, 24);
        session.wait_for(&["Overview"], WAIT);
        let pid = session.pid();
        let status =
            std::process::Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal}");
        assert_eq!(session.wait_exit(WAIT), 0, "SIG{signal} ends netlens cleanly");
        session.assert_restored();
    }
}

#[test]
fn a_panic_restores_the_terminal_and_shows_its_message() {
    let home = tempdir();
    let mut session = PtySession::spawn_with_env(
        home.path(),
        &["--demo"],
        &[("NETLENS_PANIC_AFTER_FIRST_FRAME", "1"), ("RUST_BACKTRACE", "0")],
        80,
        24,
    );
    assert_eq!(session.wait_exit(WAIT), 101, "a panic exits with Rust's panic status");
    session.assert_restored();
    let output = session.raw_output();
    // The message is printed after the terminal was restored, so it is readable.
    let restored_at = output.find("\x1b[?1049l").unwrap_or(usize::MAX);
    let message_at = output.find("panic requested by NETLENS_PANIC_AFTER_FIRST_FRAME").unwrap_or(0);
    assert!(restored_at < message_at, "the message comes after the restore");
}

#[test]
fn no_color_means_no_colour() {
    let home = tempdir();
    let mut session = PtySession::spawn_with_env(home.path(), &["--demo"], &[("NO_COLOR", "1")], 100, 30);
    session.wait_for(&["Overview", "eth0"], WAIT);
    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    let output = session.raw_output();
    // Foreground and background colours in any SGR form: 30–37, 40–47, 90–97, 38;…, 48;….
    let coloured = output.split("\x1b[").skip(1).any(|sequence| {
        let Some(end) = sequence.find('m') else { return false };
        let params = &sequence[..end];
        params.len() < 40
            && params.split(';').any(|p| {
                p.parse::<u16>().is_ok_and(|n| {
                    (30..=38).contains(&n) || (40..=48).contains(&n) || (90..=107).contains(&n)
                })
            })
    });
    assert!(!coloured, "NO_COLOR=1 still printed colour codes");
    assert!(
        output.contains("\x1b[7m") || output.contains(";7m") || output.contains("\x1b[1m"),
        "selection still visible by modifiers"
    );
}
