//! Terminal events to actions, by mode: the keymap in normal mode; text editing in the
//! prompt (filter, route lookup, add target, trace, a confirmation), where no key ever
//! reaches a global binding but Ctrl-C; scroll-or-dismiss in the help overlay;
//! ask-again-or-dismiss in the route lookup popup. Mouse: a click on a tab opens
//! it, the wheel moves.

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use crate::action::{Action, Keymap};
use crate::state::{Mode, UiState};
use crate::view::tab_at;

/// The action a terminal event asks for in the UI's current mode, if any.
#[must_use]
pub fn map_event(keymap: &Keymap, ui: &UiState, event: &Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => map_key(keymap, ui, key),
        Event::Mouse(mouse) => map_mouse(ui, *mouse),
        Event::Resize(width, height) => Some(Action::Resize(*width, *height)),
        _ => None,
    }
}

fn map_key(keymap: &Keymap, ui: &UiState, key: &KeyEvent) -> Option<Action> {
    match ui.mode() {
        // A replay's keys come first: its arrows move time, not the DNS focus.
        Mode::Normal if ui.read_only().is_some_and(|view| view.cursor.is_some()) => {
            crate::replay::key(key).map(Action::Replay).or_else(|| keymap.action(key))
        }
        Mode::Normal => keymap.action(key),
        Mode::Prompt => prompt_key(keymap, key),
        Mode::Help => Some(match keymap.action(key) {
            Some(
                action @ (Action::Quit
                | Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::Top
                | Action::Bottom
                | Action::Help
                | Action::NextTab
                | Action::PrevTab
                | Action::SelectTab(_)),
            ) => action,
            // Any other key dismisses the overlay, as in a pager.
            _ => Action::Close,
        }),
        Mode::RouteLookup => Some(match keymap.action(key) {
            Some(
                action @ (Action::Quit
                | Action::RouteLookup
                | Action::NextTab
                | Action::PrevTab
                | Action::SelectTab(_)),
            ) => action,
            // Any other key dismisses the popup.
            _ => Action::Close,
        }),
    }
}

/// Typing edits the prompt's text; Ctrl chords still reach bindings such as Ctrl-C.
fn prompt_key(keymap: &Keymap, key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Enter => Some(Action::PromptSubmit),
        KeyCode::Esc => Some(Action::PromptCancel),
        KeyCode::Backspace if ctrl || alt => Some(Action::PromptDeleteWord),
        KeyCode::Backspace => Some(Action::PromptBackspace),
        KeyCode::Char('u') if ctrl => Some(Action::PromptClear),
        KeyCode::Char('w') if ctrl => Some(Action::PromptDeleteWord),
        // No key moves inside the text (typing happens at its end); these keep the
        // previous entry a prompt opened with, to edit it.
        KeyCode::Right | KeyCode::Left | KeyCode::End | KeyCode::Home => Some(Action::PromptKeep),
        KeyCode::Char(c) if !ctrl && !alt => Some(Action::PromptInput(c)),
        _ if ctrl => keymap.action(key).filter(|action| *action == Action::Quit),
        _ => None,
    }
}

fn map_mouse(ui: &UiState, mouse: MouseEvent) -> Option<Action> {
    if ui.mode() == Mode::Prompt {
        return None;
    }
    match mouse.kind {
        MouseEventKind::Down(MouseButton::Left) if mouse.row == 0 => {
            tab_at(ui, mouse.column).map(Action::SelectTab)
        }
        MouseEventKind::ScrollDown => Some(Action::Down),
        MouseEventKind::ScrollUp => Some(Action::Up),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
