//! The committed screenshots (`screenshots/<tab>-<theme>.svg`) are renders of the
//! scripted fake session; this test fails when they no longer match the code.
//!
//! Regenerate them with:
//!
//! ```text
//! NETLENS_UPDATE_SCREENSHOTS=1 cargo test --test screenshots
//! ```

use std::path::{Path, PathBuf};

use netlens_collectors::{Store, fake};
use netlens_ui::{Action, StatusLevel, Tab, Theme, UiState, draw, svg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Wide enough for every column of the 80-column layout plus the sparklines, and
/// still readable when the SVG is scaled down in a README.
const WIDTH: u16 = 120;
const HEIGHT: u16 = 36;

const REGENERATE: &str = "NETLENS_UPDATE_SCREENSHOTS=1 cargo test --test screenshots";

/// Apply `action` as the app does: the key, then a frame (which records the geometry
/// the next key reads).
fn update(ui: &mut UiState, store: &Store, action: Action) {
    netlens_ui::update(ui, store, action);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap_or_else(|e| panic!("{e}"));
    let theme = Theme::default();
    terminal.draw(|frame| draw(frame, store, ui, &theme, fake::NOW)).unwrap_or_else(|e| panic!("{e}"));
}

fn screen(tab: Tab) -> UiState {
    let store = fake::store();
    let mut ui = UiState::new();
    update(&mut ui, &store, Action::Resize(WIDTH, HEIGHT));
    update(&mut ui, &store, Action::SelectTab(tab));
    match tab {
        // Show the status bar doing its job.
        Tab::Overview => ui.set_status(
            "snapshot written to ./netlens-snapshot-20260314T092652Z.json",
            StatusLevel::Info,
            fake::NOW - time::Duration::seconds(1),
        ),
        // wlan0: a tentative address, receive errors and its own events in the preview;
        // example.org:443: a probe history with a failure and a Happy Eyeballs race.
        Tab::Interfaces | Tab::Paths => {
            update(&mut ui, &store, Action::Down);
            update(&mut ui, &store, Action::Down);
        }
        // Show a selected row: on Connections, firefox's busy HTTPS connection among
        // listeners, a stalled upload (warned), a scan's closed probes (labelled) and UDP
        // without capture.
        Tab::Connections | Tab::Routes => {
            update(&mut ui, &store, Action::Down);
        }
        // The trace in focus gets its whole height: a short name through the search
        // list, a timeout, a CNAME chain and the system's answer beside it; the log
        // above keeps its newest rows (slow, failed and negative answers).
        Tab::Dns => {
            update(&mut ui, &store, Action::SwitchFocus);
        }
        Tab::Events => {}
    }
    ui
}

fn render(tab: Tab, theme: &Theme) -> String {
    let store = fake::store();
    let mut ui = screen(tab);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap_or_else(|e| panic!("{e}"));
    terminal.draw(|frame| draw(frame, &store, &mut ui, theme, fake::NOW)).unwrap_or_else(|e| panic!("{e}"));
    svg::buffer_to_svg(terminal.backend().buffer(), theme)
}

fn path(tab: Tab, theme: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("screenshots")
        .join(format!("{}-{theme}.svg", tab.title().to_lowercase()))
}

#[test]
fn screenshots_match_the_code() {
    let regenerate = std::env::var("NETLENS_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for name in Theme::builtin_names() {
        let theme = Theme::builtin(name).unwrap_or_else(|| panic!("built-in theme {name} does not load"));
        for tab in Tab::ALL {
            let path = path(tab, name);
            let svg = render(tab, &theme);
            let current = std::fs::read_to_string(&path).ok();
            if current.as_deref() == Some(svg.as_str()) {
                continue;
            }
            if regenerate {
                std::fs::write(&path, &svg)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            } else {
                let problem = if current.is_some() { "differs" } else { "is missing" };
                stale.push(format!("  {} {problem}", path.display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "screenshots are stale:\n{}\nregenerate them with:\n  {REGENERATE}",
        stale.join("\n")
    );
}

/// `netlens replay`: the Paths tab of the scripted session at a time cursor, paused,
/// with the replay's keys in the hint bar (`screenshots/replay-dark.svg`).
#[test]
fn the_replay_screenshot_matches_the_code() {
    use netlens_ui::replay::{Cursor, ReadOnly};
    let store = fake::store();
    let mut ui = screen(Tab::Paths);
    let cursor = Cursor {
        at: fake::NOW,
        first: fake::NOW - time::Duration::seconds(62),
        last: fake::NOW + time::Duration::minutes(58),
        position: 303,
        total: 21_480,
        playing: false,
        speed: "8×".into(),
    };
    ui.set_read_only(Some(ReadOnly { source: "replay devbox-0312.nlj".into(), cursor: Some(cursor) }));
    ui.set_status("recorded on devbox: space plays, ← → step, J jumps", StatusLevel::Info, fake::NOW);
    let theme = Theme::default();
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap_or_else(|e| panic!("{e}"));
    terminal.draw(|frame| draw(frame, &store, &mut ui, &theme, fake::NOW)).unwrap_or_else(|e| panic!("{e}"));
    let svg = svg::buffer_to_svg(terminal.backend().buffer(), &theme);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots").join("replay-dark.svg");
    if std::env::var("NETLENS_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &svg).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(current == svg, "{} is stale: regenerate it with\n  {REGENERATE}", path.display());
}
