//! Test helpers: the app's loop in miniature, so unit tests see what a user sees —
//! every key is followed by a frame, which records the geometry the next key reads.

use netlens_collectors::{Store, fake};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::action::Action;
use crate::command::Command;
use crate::state::UiState;
use crate::theme::Theme;

/// Draw a frame of `ui` on a terminal of the size last reported (80×24 before any).
pub(crate) fn draw(ui: &mut UiState, store: &Store) {
    let (width, height) = match ui.viewport() {
        (0, _) | (_, 0) => (80, 24),
        size => size,
    };
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|frame| crate::view::draw(frame, store, ui, &Theme::default(), fake::NOW))
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Apply `action`, then draw, as the app does.
pub(crate) fn update(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    let command = crate::update::update(ui, store, action);
    draw(ui, store);
    command
}
