use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

fn overrides(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(action, keys)| ((*action).to_owned(), keys.iter().map(|k| (*k).to_owned()).collect()))
        .collect()
}

/// Overrides as written in a test table.
type Overrides<'a> = &'a [(&'a str, &'a [&'a str])];

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

#[test]
fn default_bindings() {
    let keymap = Keymap::default();
    for (event, expected) in [
        (key(KeyCode::Char('q'), NONE), Some(Action::Quit)),
        (key(KeyCode::Char('c'), CTRL), Some(Action::Quit)),
        (key(KeyCode::Char('C'), CTRL | SHIFT), Some(Action::Quit)),
        (key(KeyCode::Char('c'), NONE), Some(Action::ToggleClosed)),
        (key(KeyCode::Tab, NONE), Some(Action::NextTab)),
        (key(KeyCode::BackTab, SHIFT), Some(Action::PrevTab)),
        (key(KeyCode::Char('1'), NONE), Some(Action::SelectTab(Tab::Overview))),
        (key(KeyCode::Char('3'), NONE), Some(Action::SelectTab(Tab::Paths))),
        (key(KeyCode::Char('4'), NONE), Some(Action::SelectTab(Tab::Dns))),
        (key(KeyCode::Char('5'), NONE), Some(Action::SelectTab(Tab::Connections))),
        (key(KeyCode::Char('6'), NONE), Some(Action::SelectTab(Tab::Routes))),
        (key(KeyCode::Char('7'), NONE), Some(Action::SelectTab(Tab::Events))),
        (key(KeyCode::Char('t'), NONE), Some(Action::Trace)),
        (key(KeyCode::Left, NONE), Some(Action::SwitchFocus)),
        (key(KeyCode::Right, NONE), Some(Action::SwitchFocus)),
        (key(KeyCode::Char('r'), NONE), Some(Action::RouteLookup)),
        (key(KeyCode::Char('a'), NONE), Some(Action::AddTarget)),
        (key(KeyCode::Char('x'), NONE), Some(Action::RemoveTarget)),
        (key(KeyCode::Delete, NONE), Some(Action::RemoveTarget)),
        (key(KeyCode::Char('P'), SHIFT), Some(Action::ProbeNow)),
        (key(KeyCode::Char('p'), NONE), Some(Action::TogglePause)),
        (key(KeyCode::Up, NONE), Some(Action::Up)),
        (key(KeyCode::Char('k'), NONE), Some(Action::Up)),
        (key(KeyCode::Char('j'), NONE), Some(Action::Down)),
        // `g` is the first row on every tab; grouping has its own key.
        (key(KeyCode::Char('g'), NONE), Some(Action::Top)),
        (key(KeyCode::Char('o'), NONE), Some(Action::ToggleGroup)),
        (key(KeyCode::Home, NONE), Some(Action::Top)),
        (key(KeyCode::Char('G'), SHIFT), Some(Action::Bottom)),
        (key(KeyCode::End, NONE), Some(Action::Bottom)),
        (key(KeyCode::PageDown, NONE), Some(Action::PageDown)),
        (key(KeyCode::PageUp, NONE), Some(Action::PageUp)),
        (key(KeyCode::Char('/'), NONE), Some(Action::Filter)),
        (key(KeyCode::Char('s'), NONE), Some(Action::CycleSort)),
        (key(KeyCode::Char('S'), SHIFT), Some(Action::ReverseSort)),
        (key(KeyCode::Char('S'), NONE), Some(Action::ReverseSort)),
        (key(KeyCode::Enter, NONE), Some(Action::Open)),
        (key(KeyCode::Esc, NONE), Some(Action::Close)),
        (key(KeyCode::Char('p'), NONE), Some(Action::TogglePause)),
        (key(KeyCode::Char('e'), NONE), Some(Action::Export)),
        (key(KeyCode::Char('?'), SHIFT), Some(Action::Help)),
        (key(KeyCode::F(1), NONE), Some(Action::Help)),
        (key(KeyCode::Char('f'), NONE), Some(Action::Follow)),
    ] {
        assert_eq!(keymap.action(&event), expected, "{event:?}");
    }
}

#[test]
fn key_spelling_round_trips() {
    for (text, canonical) in [
        ("q", "q"),
        ("?", "?"),
        ("G", "G"),
        ("-", "-"),
        ("ctrl-c", "ctrl-c"),
        ("Ctrl-C", "ctrl-c"),
        ("ctrl-shift-a", "ctrl-a"),
        ("shift-s", "S"),
        ("shift-tab", "shift-tab"),
        ("backtab", "shift-tab"),
        ("Enter", "enter"),
        ("return", "enter"),
        ("escape", "esc"),
        ("PgDn", "pgdn"),
        ("page_up", "pgup"),
        ("space", "space"),
        (" ", "space"),
        ("f1", "f1"),
        ("F12", "f12"),
        ("alt-x", "alt-x"),
        ("shift-up", "shift-up"),
        ("ctrl--", "ctrl--"),
    ] {
        let chord = KeyChord::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(chord.to_string(), canonical, "{text:?}");
        assert_eq!(KeyChord::parse(canonical), Ok(chord), "{canonical:?} reads back");
    }
}

#[test]
fn unreadable_keys() {
    for (text, reason) in [
        ("", "the key is empty"),
        ("ctrl-", "a modifier needs a key after it"),
        ("hyper-x", "`hyper-x` is not a key name"),
        ("f25", "`f25` is not a key name"),
        ("f0", "`f0` is not a key name"),
        ("ctrl-ctrl-c", "the modifier `ctrl` is repeated"),
        ("qq", "`qq` is not a key name"),
    ] {
        assert_eq!(KeyChord::parse(text), Err(reason.to_owned()), "{text:?}");
    }
}

#[test]
fn overrides_replace_an_actions_keys() {
    let keymap = Keymap::with_overrides(&overrides(&[("quit", &["z", "ctrl-q"]), ("export", &[])]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(keymap.action(&key(KeyCode::Char('z'), NONE)), Some(Action::Quit));
    assert_eq!(keymap.action(&key(KeyCode::Char('q'), CTRL)), Some(Action::Quit));
    assert_eq!(keymap.action(&key(KeyCode::Char('q'), NONE)), None, "default key replaced");
    assert_eq!(keymap.action(&key(KeyCode::Char('c'), CTRL)), None, "default key replaced");
    assert_eq!(keymap.action(&key(KeyCode::Char('e'), NONE)), None, "empty list unbinds");
    let described = keymap.describe();
    let keys_of = |name: &str| described.iter().find(|b| b.action == name).map(|b| b.keys.clone());
    assert_eq!(keys_of("quit"), Some(vec!["z".to_owned(), "ctrl-q".to_owned()]));
    assert_eq!(keys_of("export"), Some(vec![]));
    assert_eq!(keys_of("help"), Some(vec!["?".to_owned(), "f1".to_owned()]));
    assert_eq!(described.len(), action_names().len());
}

#[test]
fn bad_overrides_name_the_action_the_key_and_the_fix() {
    let key_help = "write a single character (\"q\", \"?\", \"G\") or a key name (enter, esc, tab, shift-tab, \
                    backspace, delete, up, down, left, right, home, end, pgup, pgdn, space, f1 … f24), optionally \
                    after ctrl-, alt- or shift-";
    let actions = action_names().join(", ");
    let cases: [(Overrides<'_>, String); 5] = [
        (
            &[("quitt", &["x"])],
            format!("unknown action `quitt` (bound to [\"x\"]), did you mean `quit`?; actions are: {actions}"),
        ),
        (&[("launch", &["l", "L"])], format!("unknown action `launch` (bound to [\"l\", \"L\"]); actions are: {actions}")),
        (
            &[("quit", &["q", "ctrl-"])],
            format!("action `quit`: cannot read key \"ctrl-\": a modifier needs a key after it; {key_help}"),
        ),
        (
            &[("export", &["super-e"])],
            format!("action `export`: cannot read key \"super-e\": `super-e` is not a key name; {key_help}"),
        ),
        (
            &[("help", &["q"])],
            "key \"q\" is bound to both `help` and `quit`; give each key to one action (an override replaces \
             that action's default keys, so override the other action as well)"
                .to_owned(),
        ),
    ];
    for (pairs, expected) in cases {
        let error = Keymap::with_overrides(&overrides(pairs)).err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some(expected.as_str()), "{pairs:?}");
    }
}

#[test]
fn swapping_keys_between_actions_is_fine() {
    let keymap = Keymap::with_overrides(&overrides(&[("help", &["q"]), ("quit", &["?"])]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(keymap.action(&key(KeyCode::Char('q'), NONE)), Some(Action::Help));
    assert_eq!(keymap.action(&key(KeyCode::Char('?'), NONE)), Some(Action::Quit));
}
