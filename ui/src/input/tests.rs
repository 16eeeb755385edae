use netlens_collectors::fake;
use ratatui::crossterm::event::{KeyEventState, MouseEvent};

use super::*;
use crate::state::Tab;
use crate::testing::update;

fn press(code: KeyCode, modifiers: KeyModifiers) -> Event {
    Event::Key(KeyEvent::new(code, modifiers))
}

fn release(code: KeyCode) -> Event {
    Event::Key(KeyEvent {
        code,
        modifiers: KeyModifiers::NONE,
        kind: KeyEventKind::Release,
        state: KeyEventState::NONE,
    })
}

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Event {
    Event::Mouse(MouseEvent { kind, column, row, modifiers: KeyModifiers::NONE })
}

fn ui_in(mode: Mode) -> UiState {
    let store = fake::store();
    let mut ui = UiState::new();
    update(&mut ui, &store, Action::Resize(80, 24));
    update(&mut ui, &store, Action::SelectTab(Tab::Events));
    match mode {
        Mode::Normal => {}
        Mode::Prompt => {
            update(&mut ui, &store, Action::Filter);
        }
        Mode::Help => {
            update(&mut ui, &store, Action::Help);
        }
        Mode::RouteLookup => {
            update(&mut ui, &store, Action::RouteLookup);
            for c in "1.1.1.1".chars() {
                update(&mut ui, &store, Action::PromptInput(c));
            }
            update(&mut ui, &store, Action::PromptSubmit);
        }
    }
    assert_eq!(ui.mode(), mode);
    ui
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

#[test]
fn keys_per_mode() {
    let keymap = Keymap::default();
    let cases = [
        (Mode::Normal, press(KeyCode::Char('q'), NONE), Some(Action::Quit)),
        (Mode::Normal, press(KeyCode::Char('/'), NONE), Some(Action::Filter)),
        (Mode::Normal, press(KeyCode::Char('z'), NONE), None),
        (Mode::Normal, press(KeyCode::Char('x'), NONE), Some(Action::RemoveTarget)),
        (Mode::Normal, press(KeyCode::Char('r'), NONE), Some(Action::RouteLookup)),
        (Mode::Normal, press(KeyCode::Char('t'), NONE), Some(Action::Trace)),
        (Mode::Normal, press(KeyCode::Right, NONE), Some(Action::SwitchFocus)),
        (Mode::Prompt, press(KeyCode::Char('t'), NONE), Some(Action::PromptInput('t'))),
        (Mode::Normal, release(KeyCode::Char('q')), None),
        (Mode::Prompt, press(KeyCode::Char('q'), NONE), Some(Action::PromptInput('q'))),
        (Mode::Prompt, press(KeyCode::Char('K'), SHIFT), Some(Action::PromptInput('K'))),
        (Mode::Prompt, press(KeyCode::Char(':'), NONE), Some(Action::PromptInput(':'))),
        (Mode::Prompt, press(KeyCode::Enter, NONE), Some(Action::PromptSubmit)),
        (Mode::Prompt, press(KeyCode::Esc, NONE), Some(Action::PromptCancel)),
        (Mode::Prompt, press(KeyCode::Backspace, NONE), Some(Action::PromptBackspace)),
        (Mode::Prompt, press(KeyCode::Char('w'), CTRL), Some(Action::PromptDeleteWord)),
        (Mode::Prompt, press(KeyCode::Backspace, KeyModifiers::ALT), Some(Action::PromptDeleteWord)),
        (Mode::Prompt, press(KeyCode::Char('u'), CTRL), Some(Action::PromptClear)),
        (Mode::Prompt, press(KeyCode::Char('c'), CTRL), Some(Action::Quit)),
        (Mode::Prompt, press(KeyCode::Tab, NONE), None),
        (Mode::Prompt, press(KeyCode::Up, NONE), None),
        (Mode::Help, press(KeyCode::Char('j'), NONE), Some(Action::Down)),
        (Mode::Help, press(KeyCode::PageDown, NONE), Some(Action::PageDown)),
        (Mode::Help, press(KeyCode::Char('?'), NONE), Some(Action::Help)),
        (Mode::Help, press(KeyCode::Esc, NONE), Some(Action::Close)),
        (Mode::Help, press(KeyCode::Char('x'), NONE), Some(Action::Close)),
        (Mode::Help, press(KeyCode::Char('e'), NONE), Some(Action::Close)),
        (Mode::Help, press(KeyCode::Char('q'), NONE), Some(Action::Quit)),
        (Mode::Help, press(KeyCode::Char('2'), NONE), Some(Action::SelectTab(Tab::Interfaces))),
        (Mode::RouteLookup, press(KeyCode::Char('r'), NONE), Some(Action::RouteLookup)),
        (Mode::RouteLookup, press(KeyCode::Esc, NONE), Some(Action::Close)),
        (Mode::RouteLookup, press(KeyCode::Char('j'), NONE), Some(Action::Close)),
        (Mode::RouteLookup, press(KeyCode::Char('q'), NONE), Some(Action::Quit)),
        (Mode::RouteLookup, press(KeyCode::Char('3'), NONE), Some(Action::SelectTab(Tab::Paths))),
        (Mode::RouteLookup, press(KeyCode::Char('4'), NONE), Some(Action::SelectTab(Tab::Dns))),
    ];
    for (mode, event, expected) in cases {
        assert_eq!(map_event(&keymap, &ui_in(mode), &event), expected, "{mode:?} {event:?}");
    }
}

#[test]
fn mouse_clicks_tabs_and_wheel_moves() {
    let keymap = Keymap::default();
    let left = MouseEventKind::Down(MouseButton::Left);
    // At 80 columns, without the app name and the blanks between labels:
    // " 1 Overview  2 Interfaces  3 Paths  4 DNS  5 Connections  6 Routes  7 Events "
    let cases = [
        (Mode::Normal, mouse(left, 0, 0), Some(Action::SelectTab(Tab::Overview))),
        (Mode::Normal, mouse(left, 11, 0), Some(Action::SelectTab(Tab::Overview))),
        (Mode::Normal, mouse(left, 12, 0), Some(Action::SelectTab(Tab::Interfaces))),
        (Mode::Normal, mouse(left, 20, 0), Some(Action::SelectTab(Tab::Interfaces))),
        (Mode::Normal, mouse(left, 30, 0), Some(Action::SelectTab(Tab::Paths))),
        (Mode::Normal, mouse(left, 38, 0), Some(Action::SelectTab(Tab::Dns))),
        (Mode::Normal, mouse(left, 45, 0), Some(Action::SelectTab(Tab::Connections))),
        (Mode::Normal, mouse(left, 56, 0), Some(Action::SelectTab(Tab::Connections))),
        (Mode::Normal, mouse(left, 57, 0), Some(Action::SelectTab(Tab::Routes))),
        (Mode::Normal, mouse(left, 70, 0), Some(Action::SelectTab(Tab::Events))),
        (Mode::Normal, mouse(left, 77, 0), None),
        (Mode::Normal, mouse(left, 25, 5), None),
        (Mode::Normal, mouse(MouseEventKind::Down(MouseButton::Right), 25, 0), None),
        (Mode::Normal, mouse(MouseEventKind::ScrollDown, 30, 10), Some(Action::Down)),
        (Mode::Normal, mouse(MouseEventKind::ScrollUp, 30, 10), Some(Action::Up)),
        (Mode::Help, mouse(left, 45, 0), Some(Action::SelectTab(Tab::Connections))),
        (Mode::Help, mouse(MouseEventKind::ScrollDown, 30, 10), Some(Action::Down)),
        (Mode::Prompt, mouse(left, 40, 0), None),
        (Mode::Prompt, mouse(MouseEventKind::ScrollDown, 30, 10), None),
    ];
    for (mode, event, expected) in cases {
        assert_eq!(map_event(&keymap, &ui_in(mode), &event), expected, "{mode:?} {event:?}");
    }
}

#[test]
fn narrow_terminals_click_on_short_labels() {
    let store = fake::store();
    let mut ui = UiState::new();
    let left = MouseEventKind::Down(MouseButton::Left);
    assert_eq!(
        map_event(&Keymap::default(), &ui, &mouse(left, 0, 0)),
        None,
        "before the first frame no tab is anywhere"
    );
    update(&mut ui, &store, Action::Resize(70, 12));
    // " 1 Over   2 Ifaces   3 Paths   4 DNS   5 Conns   6 Routes   7 Events " from column 0.
    let keymap = Keymap::default();
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 0, 0)), Some(Action::SelectTab(Tab::Overview)));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 8, 0)), None);
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 12, 0)), Some(Action::SelectTab(Tab::Interfaces)));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 22, 0)), Some(Action::SelectTab(Tab::Paths)));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 33, 0)), Some(Action::SelectTab(Tab::Dns)));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 62, 0)), Some(Action::SelectTab(Tab::Events)));
    // A little narrower: the same without the blanks between labels.
    // " 1 Over  2 Ifaces  3 Paths  4 DNS  5 Conns  6 Routes  7 Events "
    update(&mut ui, &store, Action::Resize(63, 12));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 8, 0)), Some(Action::SelectTab(Tab::Interfaces)));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 58, 0)), Some(Action::SelectTab(Tab::Events)));
    // Narrower still: the keys, and the current tab's title.
    // " 1 Over   2   3   4   5   6   7 "
    update(&mut ui, &store, Action::Resize(40, 12));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 3, 0)), Some(Action::SelectTab(Tab::Overview)));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 10, 0)), Some(Action::SelectTab(Tab::Interfaces)));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 14, 0)), Some(Action::SelectTab(Tab::Paths)));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 18, 0)), Some(Action::SelectTab(Tab::Dns)));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 30, 0)), Some(Action::SelectTab(Tab::Events)));
    assert_eq!(map_event(&keymap, &ui, &mouse(left, 34, 0)), None);
}

#[test]
fn resize_and_other_events() {
    let keymap = Keymap::default();
    let ui = UiState::new();
    assert_eq!(map_event(&keymap, &ui, &Event::Resize(100, 30)), Some(Action::Resize(100, 30)));
    assert_eq!(map_event(&keymap, &ui, &Event::FocusGained), None);
    assert_eq!(map_event(&keymap, &ui, &Event::Paste("x".into())), None);
}
