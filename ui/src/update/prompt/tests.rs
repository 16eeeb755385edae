//! The prompts as the issue found them destroying input, and what they do now.

use std::collections::BTreeMap;

use netlens_collectors::{Store, fake};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use crate::action::{Action, Keymap};
use crate::command::Command;
use crate::input::map_event;
use crate::state::{Mode, PromptKind, StatusLevel, Tab, UiState};
use crate::tabs::selected_path;
use crate::testing::update;
use crate::theme::Theme;

fn ui_at(tab: Tab) -> (UiState, Store) {
    let store = fake::store();
    let mut ui = UiState::new();
    update(&mut ui, &store, Action::Resize(80, 24));
    update(&mut ui, &store, Action::SelectTab(tab));
    (ui, store)
}

/// Type `text` as key presses through the real input mapping, as a user would.
fn keys(ui: &mut UiState, store: &Store, text: &str) -> Vec<Command> {
    let keymap = Keymap::default();
    let mut commands = Vec::new();
    for c in text.chars() {
        let event = Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        if let Some(action) = map_event(&keymap, ui, &event)
            && let Some(command) = update(ui, store, action)
        {
            commands.push(command);
        }
    }
    commands
}

fn press(ui: &mut UiState, store: &Store, code: KeyCode) -> Option<Command> {
    let event = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    let action = map_event(&Keymap::default(), ui, &event)?;
    update(ui, store, action)
}

#[test]
fn a_previous_entry_is_selected_so_the_first_key_replaces_it() {
    let (mut ui, store) = ui_at(Tab::Overview);
    keys(&mut ui, &store, "r10.88.0.1");
    assert!(matches!(press(&mut ui, &store, KeyCode::Enter), Some(Command::RouteLookup(_))));
    press(&mut ui, &store, KeyCode::Esc);
    // `r` again: the last question, selected; typing replaces it, never glues on.
    keys(&mut ui, &store, "r");
    assert_eq!((ui.mode(), ui.draft(), ui.prompt.selected), (Mode::Prompt, "10.88.0.1", true));
    keys(&mut ui, &store, "fd77::1");
    assert_eq!(ui.draft(), "fd77::1");
    assert!(!ui.prompt.selected);
    press(&mut ui, &store, KeyCode::Esc);
    // → keeps it to edit.
    keys(&mut ui, &store, "r");
    press(&mut ui, &store, KeyCode::Right);
    keys(&mut ui, &store, "0");
    assert_eq!(ui.draft(), "10.88.0.10");
    press(&mut ui, &store, KeyCode::Esc);
    // A deletion takes all of a selected entry.
    keys(&mut ui, &store, "r");
    press(&mut ui, &store, KeyCode::Backspace);
    assert_eq!(ui.draft(), "");
    // The trace prompt alike: the name traced last, selected.
    press(&mut ui, &store, KeyCode::Esc);
    keys(&mut ui, &store, "t");
    assert_eq!((ui.prompt_kind(), ui.draft(), ui.prompt.selected), (PromptKind::Trace, "db", true));
    keys(&mut ui, &store, "www");
    assert_eq!(ui.draft(), "www", "not dbwww");
    // An empty prompt has nothing selected.
    press(&mut ui, &store, KeyCode::Esc);
    keys(&mut ui, &store, "3a");
    assert_eq!((ui.prompt_kind(), ui.draft(), ui.prompt.selected), (PromptKind::AddTarget, "", false));
}

#[test]
fn a_duplicate_keeps_the_prompt_open_and_later_keys_in_it() {
    let (mut ui, store) = ui_at(Tab::Paths);
    keys(&mut ui, &store, "jj");
    assert_eq!(selected_path(&ui.tabs.paths, &store).as_deref(), Some("example.org:443"));
    // What the issue typed: a duplicate, Enter, then `x:70000`.
    keys(&mut ui, &store, "adb.internal");
    assert_eq!(press(&mut ui, &store, KeyCode::Enter), None);
    assert_eq!(ui.mode(), Mode::Prompt, "a duplicate keeps the prompt open");
    let error = ui.prompt.error.clone().unwrap_or_default();
    assert!(error.contains("db.internal is already watched"), "{error}");
    assert!(keys(&mut ui, &store, "x:70000").is_empty(), "no key reached a binding");
    assert_eq!(ui.prompt.error, None, "the reason goes with the edit");
    assert_eq!((ui.mode(), ui.tab(), ui.draft()), (Mode::Prompt, Tab::Paths, "db.internalx:70000"));
    // An invalid target: refused inline too.
    assert_eq!(press(&mut ui, &store, KeyCode::Enter), None);
    assert_eq!(ui.mode(), Mode::Prompt);
    assert!(ui.prompt.error.as_ref().is_some_and(|e| e.contains("port must be a number")));
    // Esc closes; the selected target survived, the tab did not change.
    press(&mut ui, &store, KeyCode::Esc);
    assert_eq!((ui.mode(), ui.tab()), (Mode::Normal, Tab::Paths));
    assert_eq!(selected_path(&ui.tabs.paths, &store).as_deref(), Some("example.org:443"));
}

#[test]
fn removing_a_target_is_asked_first() {
    let (mut ui, store) = ui_at(Tab::Paths);
    keys(&mut ui, &store, "jj");
    assert!(keys(&mut ui, &store, "x").is_empty(), "asked, not done");
    assert_eq!((ui.mode(), ui.prompt_kind()), (Mode::Prompt, PromptKind::ConfirmRemove));
    assert_eq!(ui.prompt.subject, "example.org:443");
    // Any key but `y` keeps it, and is used up by the question.
    assert!(keys(&mut ui, &store, "7").is_empty());
    assert_eq!((ui.mode(), ui.tab()), (Mode::Normal, Tab::Paths));
    assert!(ui.status().is_some_and(|s| s.text == "kept example.org:443"));
    assert_eq!(press(&mut ui, &store, KeyCode::Delete), None);
    assert_eq!(press(&mut ui, &store, KeyCode::Esc), None);
    assert_eq!(ui.mode(), Mode::Normal);
    assert_eq!(keys(&mut ui, &store, "xy"), [Command::RemoveTarget("example.org:443".into())]);
    assert!(ui.status().is_some_and(|s| s.text == "removing example.org:443…"));
}

#[test]
fn every_prompt_is_labelled_with_what_it_does() {
    let (mut ui, store) = ui_at(Tab::Paths);
    for (key, label) in
        [("a", "add target ›"), ("r", "route lookup ›"), ("t", "trace name ›"), ("/", "filter Paths ›")]
    {
        keys(&mut ui, &store, &format!("3{key}"));
        let screen = screen(&mut ui, &store, 80, 24);
        let prompt_line = screen.lines().rev().nth(2).unwrap_or_default().to_owned();
        assert!(prompt_line.starts_with(&format!(" {label}")), "{key}: {prompt_line}");
        press(&mut ui, &store, KeyCode::Esc);
    }
    // The add-target forms are in sight, also beside an error.
    keys(&mut ui, &store, "afd77::1:8080x");
    let screen = screen(&mut ui, &store, 80, 24);
    for form in ["host:port", "[ipv6]:port", "probe=icmp|dns|none", ",via=IF", ",mark=N"] {
        assert!(screen.contains(form), "{form} missing:\n{screen}");
    }
}

fn screen(ui: &mut UiState, store: &Store, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|frame| crate::view::draw(frame, store, ui, &Theme::default(), fake::NOW))
        .unwrap_or_else(|e| panic!("{e}"));
    let buffer = terminal.backend().buffer();
    (0..height).map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect::<String>() + "\n").collect()
}

#[test]
fn messages_expire_by_the_frame_clock() {
    let (mut ui, store) = ui_at(Tab::Paths);
    keys(&mut ui, &store, "aweb.lab.test:8080");
    assert!(matches!(press(&mut ui, &store, KeyCode::Enter), Some(Command::AddTarget(_))));
    // The frame drawn after the key stamped it with its time.
    let status = ui.status().cloned().unwrap_or_else(|| panic!("no message"));
    assert_eq!((status.text.as_str(), status.at), ("adding web.lab.test:8080…", Some(fake::NOW)));
    let later = |seconds: i64| fake::NOW + time::Duration::seconds(seconds);
    ui.expire_status(later(4));
    assert!(ui.status().is_some(), "still readable after 4 s");
    ui.expire_status(later(5));
    assert!(ui.status().is_none(), "gone after 5 s");
    // Problems stay twice as long.
    ui.set_status("export failed: disk full", StatusLevel::Error, fake::NOW);
    ui.expire_status(later(9));
    assert!(ui.status().is_some());
    ui.expire_status(later(10));
    assert!(ui.status().is_none());
    // The status bar shows what is left.
    ui.set_status("snapshot written to ./a.json", StatusLevel::Info, fake::NOW);
    assert!(screen(&mut ui, &store, 100, 24).contains("snapshot written"));
    let mut terminal = Terminal::new(TestBackend::new(100, 24)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|frame| crate::view::draw(frame, &store, &mut ui, &Theme::default(), later(6)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(ui.status().is_none(), "a frame six seconds on drops it");
}

#[test]
fn g_is_the_first_row_on_every_table_and_o_groups() {
    for tab in [Tab::Interfaces, Tab::Paths, Tab::Dns, Tab::Connections, Tab::Routes, Tab::Events] {
        let (mut ui, store) = ui_at(tab);
        keys(&mut ui, &store, "jjj");
        let before = ui.grouped();
        keys(&mut ui, &store, "g");
        let cursor = match tab {
            Tab::Interfaces => ui.tabs.interfaces.table.cursor,
            Tab::Paths => ui.tabs.paths.table.cursor,
            Tab::Dns => ui.tabs.dns.table.cursor,
            Tab::Connections => ui.tabs.connections.table.cursor,
            Tab::Routes => ui.tabs.routes.table.cursor,
            _ => ui.tabs.events.table.cursor,
        };
        assert_eq!(cursor, 0, "{tab:?}");
        assert_eq!(ui.grouped(), before, "{tab:?}: g never groups");
    }
    let (mut ui, store) = ui_at(Tab::Connections);
    keys(&mut ui, &store, "o");
    assert!(ui.grouped(), "o groups");
}

#[test]
fn the_hint_bar_names_the_tab_keys_as_configured() {
    let (mut ui, store) = ui_at(Tab::Paths);
    let shown = screen(&mut ui, &store, 80, 24);
    let bar = shown.lines().rev().nth(1).unwrap_or_default().to_owned();
    assert!(bar.starts_with(" enter details  a add  x remove  P probe now  / filter"), "{bar}");
    // Rebound keys show as rebound.
    let overrides = BTreeMap::from([("add_target".to_owned(), vec!["A".to_owned()])]);
    let keymap = Keymap::with_overrides(&overrides).unwrap_or_else(|e| panic!("{e}"));
    ui.set_keymap(&keymap);
    let bar = screen(&mut ui, &store, 80, 24).lines().rev().nth(1).unwrap_or_default().to_owned();
    assert!(bar.contains("A add"), "{bar}");
    // Events: Enter shows the entry whole.
    update(&mut ui, &store, Action::SelectTab(Tab::Events));
    let bar = screen(&mut ui, &store, 80, 24).lines().rev().nth(1).unwrap_or_default().to_owned();
    assert!(bar.contains("enter show whole"), "{bar}");
    // Below 20 rows the bar gives its row back to the tab.
    let short = screen(&mut ui, &store, 80, 19);
    assert!(!short.contains("show whole"), "{short}");
}

#[test]
fn enter_on_an_event_shows_it_whole_and_esc_closes_it() {
    let (mut ui, store) = ui_at(Tab::Events);
    keys(&mut ui, &store, "j");
    press(&mut ui, &store, KeyCode::Enter);
    let open = ui.tabs.events.details.unwrap_or_else(|| panic!("not open"));
    let entry = crate::panes::event_details::entry(&store, open.serial).unwrap_or_else(|| panic!("gone"));
    let second = store.timeline().from_newest(1).unwrap_or_else(|| panic!("no events"));
    assert_eq!(entry, second, "the selected entry");
    let shown = screen(&mut ui, &store, 80, 24);
    assert!(shown.contains(&format!("kind     {}", entry.kind.as_str())), "{shown}");
    press(&mut ui, &store, KeyCode::Esc);
    assert_eq!(ui.tabs.events.details, None);
    assert_eq!(ui.tab(), Tab::Events);
}
