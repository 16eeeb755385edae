//! Actions and the keymap that maps keys to them.
//!
//! An [`Action`] is what the user asked for, independent of the key that asked.
//! The [`Keymap`] binds keys to the named actions of normal mode; the config file's
//! `[keys]` section overrides it by action name. The filter prompt and the help
//! overlay read keys their own way (see [`crate::input`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::tab::Tab;

/// Something the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Leave netlens.
    Quit,
    /// The tab to the right.
    NextTab,
    /// The tab to the left.
    PrevTab,
    /// A given tab.
    SelectTab(Tab),
    /// One row up (towards newer events).
    Up,
    /// One row down.
    Down,
    /// One page up.
    PageUp,
    /// One page down.
    PageDown,
    /// The first row.
    Top,
    /// The last row.
    Bottom,
    /// Open the filter prompt for the current table.
    Filter,
    /// Sort by the next column.
    CycleSort,
    /// Reverse the sort order.
    ReverseSort,
    /// Group the Connections table by process, or stop grouping.
    ToggleGroup,
    /// Connections tab: show the closed rows, or fold them into one summary line.
    ToggleClosed,
    /// Open the details of the selected row.
    Open,
    /// Close details or help; clear an applied filter.
    Close,
    /// Freeze or resume the view (collectors keep running).
    TogglePause,
    /// Export a snapshot.
    Export,
    /// Write an incident bundle: the snapshot and the flight recorder's journal.
    Incident,
    /// Show or hide the help overlay.
    Help,
    /// Toggle follow mode on the Events tab.
    Follow,
    /// Open the route lookup prompt (`ip route get`, any tab).
    RouteLookup,
    /// Paths tab: open the prompt that adds a path target.
    AddTarget,
    /// Paths tab: stop watching the selected user target.
    RemoveTarget,
    /// Paths tab: probe the selected target now.
    ProbeNow,
    /// Open the prompt that traces a name the way the system resolver looks it up
    /// (any tab; the trace shows on the DNS tab).
    Trace,
    /// DNS tab: move the focus between the query log and the trace view.
    SwitchFocus,
    /// Prompt: type a character.
    PromptInput(char),
    /// Prompt: delete the last character.
    PromptBackspace,
    /// Prompt: delete the last word.
    PromptDeleteWord,
    /// Prompt: delete everything.
    PromptClear,
    /// Prompt: keep the previous entry it opened with and edit it (an arrow, Home or
    /// End), instead of replacing it with the first character typed.
    PromptKeep,
    /// Prompt: apply the filter.
    PromptSubmit,
    /// Prompt: close without changing the filter.
    PromptCancel,
    /// The terminal has a new size: width, height in cells.
    Resize(u16, u16),
    /// A replay key (only while a replay is shown).
    Replay(crate::replay::ReplayKey),
}

/// Where a binding is listed in the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Switching tabs.
    Views,
    /// Moving through rows.
    Move,
    /// Acting on the current table.
    Tables,
    /// Acting on path targets (Paths tab).
    Paths,
    /// Tracing names and the DNS tab's views.
    Dns,
    /// Everything else.
    General,
}

impl Group {
    /// The heading in the help overlay.
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            Self::Views => "Tabs",
            Self::Move => "Move",
            Self::Tables => "Tables",
            Self::Paths => "Paths",
            Self::Dns => "DNS",
            Self::General => "General",
        }
    }
}

/// A bindable action: its config name, what it does, and its default keys.
struct Bindable {
    name: &'static str,
    action: Action,
    group: Group,
    description: &'static str,
    defaults: &'static [&'static str],
}

const fn bindable(
    name: &'static str,
    action: Action,
    group: Group,
    description: &'static str,
    defaults: &'static [&'static str],
) -> Bindable {
    Bindable { name, action, group, description, defaults }
}

/// Every action a key can be bound to, in help-overlay order.
const BINDABLE: [Bindable; 34] = [
    bindable("next_tab", Action::NextTab, Group::Views, "next tab", &["tab"]),
    bindable("prev_tab", Action::PrevTab, Group::Views, "previous tab", &["shift-tab"]),
    bindable("tab_1", Action::SelectTab(Tab::Overview), Group::Views, "Overview", &["1"]),
    bindable("tab_2", Action::SelectTab(Tab::Interfaces), Group::Views, "Interfaces", &["2"]),
    bindable("tab_3", Action::SelectTab(Tab::Paths), Group::Views, "Paths", &["3"]),
    bindable("tab_4", Action::SelectTab(Tab::Dns), Group::Views, "DNS", &["4"]),
    bindable("tab_5", Action::SelectTab(Tab::Connections), Group::Views, "Connections", &["5"]),
    bindable("tab_6", Action::SelectTab(Tab::Routes), Group::Views, "Routes", &["6"]),
    bindable("tab_7", Action::SelectTab(Tab::Events), Group::Views, "Events", &["7"]),
    bindable("up", Action::Up, Group::Move, "up (newer events)", &["up", "k"]),
    bindable("down", Action::Down, Group::Move, "down", &["down", "j"]),
    bindable("page_up", Action::PageUp, Group::Move, "page up", &["pgup"]),
    bindable("page_down", Action::PageDown, Group::Move, "page down", &["pgdn"]),
    // `g`/`home` and `G`/`end` jump to either end on every table, as in `less`.
    bindable("top", Action::Top, Group::Move, "first row (newest)", &["g", "home"]),
    bindable("bottom", Action::Bottom, Group::Move, "last row", &["G", "end"]),
    bindable("filter", Action::Filter, Group::Tables, "filter the table", &["/"]),
    bindable("cycle_sort", Action::CycleSort, Group::Tables, "sort by next column", &["s"]),
    bindable("reverse_sort", Action::ReverseSort, Group::Tables, "reverse the sort", &["S"]),
    bindable("group", Action::ToggleGroup, Group::Tables, "conns: group by process", &["o"]),
    bindable("closed", Action::ToggleClosed, Group::Tables, "conns: show closed rows", &["c"]),
    bindable("open", Action::Open, Group::Tables, "open details", &["enter"]),
    bindable("close", Action::Close, Group::Tables, "close details or filter", &["esc"]),
    bindable("follow", Action::Follow, Group::Tables, "events: follow newest", &["f"]),
    bindable("add_target", Action::AddTarget, Group::Paths, "add a target", &["a"]),
    bindable("remove_target", Action::RemoveTarget, Group::Paths, "remove the target", &["x", "delete"]),
    // `p` pauses everywhere; a probe is the capital.
    bindable("probe_now", Action::ProbeNow, Group::Paths, "probe it now", &["P"]),
    bindable("trace", Action::Trace, Group::Dns, "trace a name", &["t"]),
    // Tab already walks the tabs; the arrows no table uses move between the two views.
    bindable("switch_focus", Action::SwitchFocus, Group::Dns, "log ↔ trace view", &["left", "right"]),
    bindable("route_lookup", Action::RouteLookup, Group::General, "route lookup", &["r"]),
    bindable("toggle_pause", Action::TogglePause, Group::General, "pause / resume view", &["p"]),
    bindable("export", Action::Export, Group::General, "export a snapshot", &["e"]),
    bindable("incident", Action::Incident, Group::General, "incident bundle", &["E"]),
    bindable("help", Action::Help, Group::General, "this help", &["?", "f1"]),
    bindable("quit", Action::Quit, Group::General, "quit", &["q", "ctrl-c"]),
];

fn bindables() -> impl Iterator<Item = &'static Bindable> {
    BINDABLE.iter()
}

/// A key with its modifiers, normalised so that a binding and a key press compare
/// equal: characters carry their own case (no SHIFT), Shift-Tab is `BackTab`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    code: KeyCode,
    modifiers: KeyModifiers,
}

impl KeyChord {
    /// The chord of a key press.
    #[must_use]
    pub fn from_event(event: &KeyEvent) -> Self {
        Self::normalised(event.code, event.modifiers)
    }

    fn normalised(code: KeyCode, modifiers: KeyModifiers) -> Self {
        let mut modifiers = modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Char(c) => {
                modifiers.remove(KeyModifiers::SHIFT);
                // Terminals report Ctrl-Shift-C and Ctrl-C alike; treat letters under
                // Ctrl as lower case so "ctrl-c" matches both.
                if modifiers.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    code
                }
            }
            KeyCode::BackTab => {
                modifiers.remove(KeyModifiers::SHIFT);
                code
            }
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Self { code, modifiers }
    }

    /// Parse a key as written in the config: `q`, `?`, `G`, `ctrl-c`, `shift-tab`,
    /// `enter`, `esc`, `pgdn`, `f1`, …
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the key is empty".to_owned());
        }
        let mut rest = text;
        let mut modifiers = KeyModifiers::NONE;
        // A single character is always a key, even "-"; prefixes need something after.
        while rest.chars().count() > 1 {
            let lower = rest.to_ascii_lowercase();
            let (modifier, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            if modifiers.contains(modifier) {
                return Err(format!("the modifier `{}` is repeated", &rest[..len - 1]));
            }
            modifiers |= modifier;
            rest = &rest[len..];
        }
        if rest.is_empty() {
            return Err("a modifier needs a key after it".to_owned());
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if modifiers.contains(KeyModifiers::SHIFT) && c.is_ascii_alphabetic() => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c.to_ascii_uppercase())
            }
            (Some(c), None) => KeyCode::Char(c),
            _ => {
                named_key(&rest.to_ascii_lowercase()).ok_or_else(|| format!("`{rest}` is not a key name"))?
            }
        };
        Ok(Self::normalised(code, modifiers))
    }
}

/// A key by name, as written in the config.
fn named_key(name: &str) -> Option<KeyCode> {
    Some(match name {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pgup" | "pageup" | "page_up" => KeyCode::PageUp,
        "pgdn" | "pagedown" | "page_down" => KeyCode::PageDown,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "space" => KeyCode::Char(' '),
        other => {
            let n: u8 = other.strip_prefix('f')?.parse().ok()?;
            if !(1..=24).contains(&n) {
                return None;
            }
            KeyCode::F(n)
        }
    })
}

impl fmt::Display for KeyChord {
    /// The canonical spelling, which [`KeyChord::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A binding in effect, as the help overlay lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The action's name in the config (`quit`, `next_tab`, …).
    pub action: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Its help-overlay group.
    pub group: Group,
    /// Its keys, canonically spelled; empty when unbound.
    pub keys: Vec<String>,
}

/// Why a `[keys]` override was rejected. Messages name the action and the key and
/// say how to fix them; the caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    /// An action name netlens does not know.
    #[error("unknown action `{action}` (bound to {keys}){hint}; actions are: {known}", known = action_names().join(", "))]
    UnknownAction {
        /// The name as written.
        action: String,
        /// Its keys as written, quoted.
        keys: String,
        /// `, did you mean `…`?` when a known name is close, else empty.
        hint: String,
    },
    /// A key that cannot be read.
    #[error(
        "action `{action}`: cannot read key \"{key}\": {reason}; write a single character (\"q\", \"?\", \"G\") \
         or a key name (enter, esc, tab, shift-tab, backspace, delete, up, down, left, right, home, end, pgup, \
         pgdn, space, f1 … f24), optionally after ctrl-, alt- or shift-"
    )]
    BadKey {
        /// The action being bound.
        action: String,
        /// The key as written.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// One key bound to two actions.
    #[error(
        "key \"{key}\" is bound to both `{first}` and `{second}`; give each key to one action (an override \
         replaces that action's default keys, so override the other action as well)"
    )]
    Conflict {
        /// The key, canonically spelled.
        key: String,
        /// The action listed first in help order.
        first: String,
        /// The other action.
        second: String,
    },
}

/// The action names the config accepts, in help order.
#[must_use]
pub fn action_names() -> Vec<&'static str> {
    bindables().map(|b| b.name).collect()
}

/// Keys to actions in normal mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    /// Keys per bindable action, in [`BINDABLE`] order.
    keys: Vec<Vec<KeyChord>>,
    lookup: HashMap<KeyChord, Action>,
}

impl Default for Keymap {
    /// The documented default bindings.
    fn default() -> Self {
        match Self::with_overrides(&BTreeMap::new()) {
            Ok(keymap) => keymap,
            // The defaults are constants checked by tests; an empty keymap would still
            // let the terminal's own Ctrl-C (SIGINT) end the program.
            Err(_) => Self { keys: Vec::new(), lookup: HashMap::new() },
        }
    }
}

impl Keymap {
    /// The default bindings with `overrides` applied: each named action gets exactly
    /// the listed keys (an empty list unbinds it).
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Self, KeymapError> {
        for (action, keys) in overrides {
            if !bindables().any(|b| b.name == action) {
                let quoted: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
                let hint =
                    closest_action(action).map(|a| format!(", did you mean `{a}`?")).unwrap_or_default();
                return Err(KeymapError::UnknownAction {
                    action: action.clone(),
                    keys: format!("[{}]", quoted.join(", ")),
                    hint,
                });
            }
        }
        let mut keys = Vec::with_capacity(BINDABLE.len());
        let mut lookup: HashMap<KeyChord, Action> = HashMap::new();
        let mut owner: HashMap<KeyChord, &'static str> = HashMap::new();
        for bindable in &BINDABLE {
            let chords = match overrides.get(bindable.name) {
                Some(texts) => texts
                    .iter()
                    .map(|text| {
                        KeyChord::parse(text).map_err(|reason| KeymapError::BadKey {
                            action: bindable.name.to_owned(),
                            key: text.clone(),
                            reason,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None => bindable.defaults.iter().filter_map(|text| KeyChord::parse(text).ok()).collect(),
            };
            for chord in &chords {
                if let Some(first) = owner.get(chord)
                    && *first != bindable.name
                {
                    return Err(KeymapError::Conflict {
                        key: chord.to_string(),
                        first: (*first).to_owned(),
                        second: bindable.name.to_owned(),
                    });
                }
                owner.insert(*chord, bindable.name);
                lookup.insert(*chord, bindable.action);
            }
            keys.push(chords);
        }
        Ok(Self { keys, lookup })
    }

    /// The action a key press asks for in normal mode.
    #[must_use]
    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        self.lookup.get(&KeyChord::from_event(key)).copied()
    }

    /// Every bindable action with its keys in effect, in help order.
    #[must_use]
    pub fn describe(&self) -> Vec<Binding> {
        BINDABLE
            .iter()
            .zip(&self.keys)
            .map(|(bindable, chords)| Binding {
                action: bindable.name,
                description: bindable.description,
                group: bindable.group,
                keys: chords.iter().map(ToString::to_string).collect(),
            })
            .collect()
    }
}

/// The known action name closest to a misspelt one, if close enough to be a typo.
fn closest_action(name: &str) -> Option<&'static str> {
    bindables()
        .map(|b| (crate::theme::edit_distance(name, b.name), b.name))
        .filter(|(distance, known)| *distance <= 2.max(known.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests;
