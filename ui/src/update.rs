//! The pure update: an action changes the UI state and may ask the app for a side
//! effect. Nothing here does I/O; the store is only read (to clamp cursors to the rows
//! that exist and to keep selections on the same item when the order changes).
//!
//! The app-wide keys (tabs, pause, help, export, the prompts) are handled here; every
//! other key goes to the component with the focus (see `component.rs`), and only
//! what it leaves alone gets the app-wide fallback: a hint saying where the key works.

mod overlays;
mod prompt;

use netlens_collectors::Store;

use crate::action::Action;
pub use crate::command::Command;
use crate::component::Reply;
use crate::context::Handle;
use crate::state::{HelpOverlay, Mode, StatusLevel, Tab, UiState};

/// Apply `action` to `ui`, reading `store` (the frozen copy while paused).
pub fn update(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    // A hint from the previous key press has been read by now.
    if ui.status.as_ref().is_some_and(|status| status.hint) && !matches!(action, Action::Resize(..)) {
        ui.status = None;
    }
    settle(ui, store);
    match action {
        Action::Quit => return Some(Command::Quit),
        Action::Resize(width, height) => {
            ui.set_viewport(width, height);
            return None;
        }
        _ => {}
    }
    match ui.mode {
        Mode::Prompt => prompt::handle(ui, store, action),
        Mode::Help | Mode::RouteLookup => overlays::handle(ui, store, action),
        Mode::Normal => normal(ui, store, action),
    }
}

/// The lists that follow the store between key presses catch up with it, whichever
/// tab shows.
fn settle(ui: &mut UiState, store: &Store) {
    for tab in [Tab::Events, Tab::Dns] {
        ui.tabs.get_mut(tab).settle(store);
    }
}

/// Hand `action` to the current tab.
fn dispatch(ui: &mut UiState, store: &Store, action: Action) -> Reply {
    let UiState { tab, tabs, status, .. } = ui;
    let mut ctx = Handle { store, status };
    tabs.get_mut(*tab).handle(action, &mut ctx)
}

/// Apply a filter typed at `/` to the current tab; `false` when it does not parse.
pub(crate) fn set_filter(ui: &mut UiState, store: &Store, text: &str) -> bool {
    let UiState { tab, tabs, status, .. } = ui;
    let mut ctx = Handle { store, status };
    tabs.get_mut(*tab).set_filter(text, &mut ctx)
}

/// What a read-only view cannot do: it would act on a live host that is not there.
fn live_only(action: Action) -> Option<&'static str> {
    Some(match action {
        Action::AddTarget => "adding a target",
        Action::RemoveTarget => "removing a target",
        Action::ProbeNow => "probing",
        Action::RouteLookup => "a route lookup",
        Action::Trace => "a trace",
        Action::Incident => "an incident bundle",
        _ => return None,
    })
}

/// What a key does in a replay or an opened snapshot.
enum ReadOnlyKey {
    /// Nothing special: the key does what it does live.
    Pass,
    /// Handled here, with what the app is asked to do.
    Done(Option<Command>),
}

/// A key in a replay or an opened snapshot: the replay keys move the cursor, live-only
/// keys say why they do nothing.
fn read_only(ui: &mut UiState, store: &Store, action: Action) -> ReadOnlyKey {
    use crate::replay::{ReplayCommand as C, ReplayKey as K};
    let Some(view) = ui.read_only.as_ref() else { return ReadOnlyKey::Pass };
    let replaying = view.cursor.is_some();
    if let Some(what) = live_only(action) {
        ui.hint(format!("read-only: {what} needs the live host"), StatusLevel::Warning);
        return ReadOnlyKey::Done(None);
    }
    let key = match action {
        Action::Replay(key) if replaying => key,
        Action::TogglePause if replaying => K::PlayPause,
        Action::TogglePause => {
            ui.hint("an opened snapshot is one moment: nothing runs", StatusLevel::Info);
            return ReadOnlyKey::Done(None);
        }
        _ => return ReadOnlyKey::Pass,
    };
    ReadOnlyKey::Done(Some(Command::Replay(match key {
        K::PlayPause => C::PlayPause,
        K::StepBack => C::Step(-1),
        K::StepForward => C::Step(1),
        K::MinuteBack => C::Minutes(-1),
        K::MinuteForward => C::Minutes(1),
        K::Faster => C::Faster,
        K::Slower => C::Slower,
        K::Jump => {
            prompt::open_jump(ui);
            return ReadOnlyKey::Done(None);
        }
        K::Next => C::Next(seek_filter(ui, store)),
        K::Previous => C::Previous(seek_filter(ui, store)),
    })))
}

/// What `n` and `N` look for: on the Paths tab the selected path's status changes, on
/// the Events tab events of the selected event's kind, elsewhere any change.
fn seek_filter(ui: &UiState, store: &Store) -> crate::replay::SeekFilter {
    use netlens_collectors::model::TimelineKind;
    match ui.tab {
        Tab::Paths => crate::replay::SeekFilter {
            kind: Some(TimelineKind::PathStatus),
            subject: crate::tabs::paths::selected_path(&ui.tabs.paths, store),
        },
        Tab::Events => crate::replay::SeekFilter {
            kind: ui.tabs.events.selected_entry(store).map(|entry| entry.kind),
            subject: None,
        },
        _ => crate::replay::SeekFilter::default(),
    }
}

fn normal(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    if let ReadOnlyKey::Done(outcome) = read_only(ui, store, action) {
        return outcome;
    }
    match action {
        Action::Export => return Some(Command::Export),
        Action::Incident => return Some(Command::Incident),
        Action::NextTab => ui.tab = ui.tab.next(),
        Action::PrevTab => ui.tab = ui.tab.previous(),
        Action::SelectTab(tab) => ui.tab = tab,
        Action::TogglePause => ui.paused = !ui.paused,
        Action::Help => {
            ui.mode = Mode::Help;
            let replay = ui.read_only.as_ref().is_some_and(|view| view.cursor.is_some());
            ui.help = HelpOverlay { tab: ui.tab, replay, ..HelpOverlay::default() };
        }
        Action::Follow => {
            ui.tabs.events.toggle_follow();
            if ui.tab != Tab::Events {
                let state = if ui.tabs.events.follow { "on" } else { "off" };
                ui.hint(format!("events follow the newest: {state}"), StatusLevel::Info);
            }
        }
        Action::Filter => prompt::open_filter(ui),
        Action::RouteLookup => prompt::open_lookup(ui),
        Action::Trace => prompt::open_trace(ui, store),
        Action::AddTarget => prompt::open_add_target(ui),
        _ => {
            return match dispatch(ui, store, action) {
                // Removing a target is asked first: `y` removes, any other key keeps.
                Reply::Run(Command::RemoveTarget(target)) => {
                    prompt::confirm_remove(ui, target);
                    None
                }
                Reply::Run(command) => Some(command),
                Reply::Handled | Reply::Dismiss => None,
                Reply::Ignored => {
                    fallback(ui, store, action);
                    None
                }
            };
        }
    }
    None
}

/// What a key the current tab leaves alone does: mostly a hint saying where it works.
fn fallback(ui: &mut UiState, store: &Store, action: Action) {
    let on_paths = |ui: &UiState, what: &str| {
        let key = ui.keys_of(Tab::Paths.binding()).unwrap_or("3");
        format!("{what} works on the Paths tab ({key})")
    };
    match action {
        Action::ToggleGroup => {
            let key = ui.keys_of(Tab::Connections.binding()).unwrap_or("5");
            let text = format!("grouping by process works on the Connections tab ({key})");
            ui.hint(text, StatusLevel::Info);
        }
        Action::CycleSort | Action::ReverseSort => {
            ui.hint(
                "sorting works on the Interfaces, Paths, Connections and Routes tables",
                StatusLevel::Info,
            );
        }
        Action::Open => {
            ui.hint(
                "enter opens details on the Interfaces, Paths, Connections and Events tabs",
                StatusLevel::Info,
            );
        }
        Action::Close => {
            let tab = ui.tab;
            if ui.tabs.get(tab).filter().is_some_and(|text| !text.is_empty()) {
                set_filter(ui, store, "");
                ui.hint("filter cleared", StatusLevel::Info);
            }
        }
        Action::RemoveTarget => {
            let text = on_paths(ui, "removing");
            ui.hint(text, StatusLevel::Info);
        }
        Action::ProbeNow => {
            let text = on_paths(ui, "probing");
            ui.hint(text, StatusLevel::Info);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
