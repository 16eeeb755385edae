//! The Connections tab end to end: the real binary playing the scripted demo in a real
//! pseudo-terminal. Open the tab, filter, sort, group, open details, quit; and a
//! malformed filter shows its error while the table keeps the rows it had; closed rows
//! fold into one line until `c` shows them.

mod support;

use std::time::Duration;

use support::pty::PtySession;
use support::tempdir;

const WAIT: Duration = Duration::from_secs(10);

/// The table rows on screen: everything between the column headings and the bottom
/// border of the table's pane.
fn table(screen: &str) -> String {
    screen
        .lines()
        .skip_while(|line| !line.contains("STATE"))
        .skip(1)
        .take_while(|line| !line.contains('╰'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn open_filter_sort_group_details_quit() {
    let home = tempdir();
    let mut session = PtySession::spawn(home.path(), &["--demo"], 140, 40);
    session.wait_for(&["Overview", "eth0"], WAIT);

    session.send(b"5");
    let screen =
        session.wait_for(&["established", "listening", "example.org:443", "sshd", "sort state"], WAIT);
    assert!(table(&screen).contains("firefox"), "{screen}");

    session.send(b"/");
    session.wait_for(&["filter Connections", "enter apply"], WAIT);
    session.send(b"proc:firefox\r");
    let screen = session.wait_for(&["filter proc:firefox", "3 of"], WAIT);
    let rows = table(&screen);
    assert!(rows.contains("example.org:443") && rows.contains("cdn.example.net:443"), "{screen}");
    assert!(!rows.contains("sshd") && !rows.contains("postgres"), "only firefox's rows:\n{screen}");

    session.send(b"s");
    session.wait_for(&["sort local"], WAIT);
    session.send(b"S");
    session.wait_for(&["sort local ▼"], WAIT);

    session.send(b"o");
    let screen = session.wait_for(&["▾ firefox", "3 connections", "o ungroup"], WAIT);
    assert!(!table(&screen).contains("▾ sshd"), "the filter still applies:\n{screen}");

    session.send(b"\r");
    session.wait_for(&["↑↓ scroll  esc back", "TCP statistics", "Process", "firefox"], WAIT);
    session.escape();
    session.wait_for(&["filter proc:firefox", "▾ firefox", "o ungroup"], WAIT);

    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

#[test]
fn invalid_filter_shows_the_error_and_keeps_the_previous_rows() {
    let home = tempdir();
    let mut session = PtySession::spawn(home.path(), &["--demo"], 120, 36);
    session.wait_for(&["Overview", "eth0"], WAIT);
    session.send(b"5");
    session.wait_for(&["established", "example.org:443"], WAIT);
    session.send(b"/proc:firefox\r");
    let before = session.wait_for(&["filter proc:firefox", "3 of"], WAIT);

    // Ctrl-U clears the prompt, which starts from the applied filter.
    session.send(b"/\x15rtt>fast");
    let screen = session.wait_for(&["`fast` is not a duration", "rtt>100ms"], WAIT);
    assert!(screen.contains("filter proc:firefox"), "the title still shows the applied filter:\n{screen}");
    // Enter keeps the prompt open with the reason; what is typed next still edits it.
    session.send(b"\r!");
    let screen = session.wait_for(&["filter Connections › rtt>fast!"], WAIT);
    assert!(table(&screen).contains("example.org:443"), "the previous rows stay:\n{screen}");

    session.escape();
    let after = session.wait_for(&["filter proc:firefox", "3 of"], WAIT);
    assert!(!after.contains("filter Connections"), "the prompt closed:\n{after}");
    assert!(!after.contains("is not a duration"), "{after}");
    let rows = |screen: &str| table(screen).lines().filter(|line| line.contains("firefox")).count();
    assert_eq!(rows(&after), rows(&before), "the same firefox rows:\n{after}");

    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}

#[test]
fn closed_rows_fold_and_c_shows_them() {
    let home = tempdir();
    // Closed connections kept for an hour, so the demo's closed burst outlives the test.
    let config = home.path().join("config").join("netlens");
    std::fs::create_dir_all(&config).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(config.join("config.toml"), "[connections]\nclosed_retention = \"1h\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut session = PtySession::spawn(home.path(), &["--demo"], 120, 40);
    session.wait_for(&["Overview", "eth0"], WAIT);

    session.send(b"5");
    let screen = session.wait_for(&["established", "closed in the last", "c shows them"], WAIT);
    // nmap's connections all closed: folded, they leave no row of their own.
    assert!(!table(&screen).contains("nmap"), "closed rows are folded:\n{screen}");

    session.send(b"c");
    let screen = session.wait_for(&["c fold closed", "nmap"], WAIT);
    let rows = table(&screen);
    assert!(rows.lines().any(|l| l.contains("closed") && l.contains("nmap")), "{screen}");
    assert!(!rows.contains("c shows them"), "no summary line while they are listed:\n{screen}");

    session.send(b"c");
    let screen = session.wait_for(&["c shows them"], WAIT);
    assert!(!table(&screen).contains("nmap"), "folded again:\n{screen}");

    session.send(b"q");
    assert_eq!(session.wait_exit(WAIT), 0);
    session.assert_restored();
}
