//! What a component reads besides its own state: the store, the key bindings in
//! effect, and — while drawing — the theme and the clock; while handling a key, the
//! status line it may leave a hint on.

use netlens_collectors::Store;
use netlens_collectors::model::Timestamp;

use crate::action::Binding;
use crate::state::{StatusLevel, StatusMessage};
use crate::theme::Theme;

/// The key bindings in effect, so hints name keys as configured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys<'a>(pub(crate) &'a [Binding]);

impl<'a> Keys<'a> {
    /// The first key bound to `action` (`open`, `trace`, …), if any.
    pub(crate) fn of(self, action: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|binding| binding.action == action)
            .and_then(|binding| binding.keys.first())
            .map(String::as_str)
    }

    /// Every binding, in help order.
    pub(crate) const fn all(self) -> &'a [Binding] {
        self.0
    }
}

/// What drawing reads: the store as it stands (or frozen, while paused), the theme,
/// the moment relative times are seen from, and the bindings for hints.
#[derive(Clone, Copy)]
pub(crate) struct Paint<'a> {
    pub(crate) store: &'a Store,
    pub(crate) theme: &'a Theme,
    pub(crate) now: Timestamp,
    pub(crate) keys: Keys<'a>,
}

/// What handling a key reads: the store, and the status line it may leave a hint on.
pub(crate) struct Handle<'a> {
    pub(crate) store: &'a Store,
    pub(crate) status: &'a mut Option<StatusMessage>,
}

impl Handle<'_> {
    /// A short hint from this key press; the next key press clears it.
    pub(crate) fn hint(&mut self, text: impl Into<String>, level: StatusLevel) {
        *self.status = Some(StatusMessage::hint(text, level));
    }

    /// The moment relative filters and ages are judged at while handling keys: the
    /// store's latest event (the view uses the clock, which differs from it by less
    /// than a refresh).
    pub(crate) fn now(&self) -> Timestamp {
        self.store.updated_at().unwrap_or(Timestamp::UNIX_EPOCH)
    }
}
