//! Read-only views: a replay of a journal with its time cursor (`netlens replay`), or
//! a snapshot opened from a file (`netlens open`). The UI only shows the cursor and
//! turns keys into requests; the app owns the journal and moves the cursor.

use netlens_collectors::model::{TimelineEntry, TimelineKind, Timestamp};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a read-only view shows instead of the live host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnly {
    /// Where the state comes from, as the status bar names it (`replay rec.nlj`,
    /// `snapshot from host-a.json`).
    pub source: String,
    /// A replay's time cursor; `None` for a snapshot (one moment, nothing to move).
    pub cursor: Option<Cursor>,
}

/// Where a replay stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The time of the state shown.
    pub at: Timestamp,
    /// The first event's time.
    pub first: Timestamp,
    /// The last event's time.
    pub last: Timestamp,
    /// Events folded so far.
    pub position: u64,
    /// Events in the journal.
    pub total: u64,
    /// Whether time runs.
    pub playing: bool,
    /// How fast it runs, as shown (`1×`, `8×`).
    pub speed: String,
}

/// A replay key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplayKey {
    /// Space: play or pause.
    PlayPause,
    /// `←`: one event back.
    StepBack,
    /// `→`: one event on.
    StepForward,
    /// `[`: a minute back.
    MinuteBack,
    /// `]`: a minute on.
    MinuteForward,
    /// `+`: faster.
    Faster,
    /// `-`: slower.
    Slower,
    /// `J`: the prompt for a time to jump to.
    Jump,
    /// `n`: the next change of the selected kind.
    Next,
    /// `N`: the previous change of the selected kind.
    Previous,
}

/// The replay keys, for the help overlay: key, what it does.
pub const KEYS: &[(&str, &str)] = &[
    ("space", "play / pause"),
    ("← →", "one event back / on"),
    ("[ ]", "a minute back / on"),
    ("+ -", "faster / slower"),
    ("J", "jump to a time"),
    ("n N", "next / previous like selected"),
    ("e", "export the state shown"),
];

/// The replay key `key` is, if any. These keys are fixed: a replay has no config.
#[must_use]
pub fn key(key: &KeyEvent) -> Option<ReplayKey> {
    if key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) {
        return None;
    }
    Some(match key.code {
        KeyCode::Char(' ') => ReplayKey::PlayPause,
        KeyCode::Left => ReplayKey::StepBack,
        KeyCode::Right => ReplayKey::StepForward,
        KeyCode::Char('[') => ReplayKey::MinuteBack,
        KeyCode::Char(']') => ReplayKey::MinuteForward,
        KeyCode::Char('+' | '=') => ReplayKey::Faster,
        KeyCode::Char('-') => ReplayKey::Slower,
        KeyCode::Char('J') => ReplayKey::Jump,
        KeyCode::Char('n') => ReplayKey::Next,
        KeyCode::Char('N') => ReplayKey::Previous,
        _ => return None,
    })
}

/// What the app is asked to do with the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayCommand {
    /// Play or pause.
    PlayPause,
    /// Move by this many events.
    Step(i64),
    /// Move by this many minutes.
    Minutes(i64),
    /// Play faster.
    Faster,
    /// Play slower.
    Slower,
    /// Jump to the time written so (RFC 3339, `+90s` from the start, …).
    Jump(String),
    /// Forward to the next timeline entry the filter accepts.
    Next(SeekFilter),
    /// Back to the previous one.
    Previous(SeekFilter),
}

/// Which changes `n` and `N` move between: the kind of the selected event, the
/// status changes of the selected path, or any change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeekFilter {
    /// Only entries of this kind.
    pub kind: Option<TimelineKind>,
    /// Only entries about this subject.
    pub subject: Option<String>,
}

impl SeekFilter {
    /// Whether `entry` is one to stop at.
    #[must_use]
    pub fn matches(&self, entry: &TimelineEntry) -> bool {
        self.kind.is_none_or(|kind| entry.kind == kind)
            && self.subject.as_ref().is_none_or(|subject| entry.subject == *subject)
    }

    /// How the status line names what was sought: `path_status of default-ipv4`.
    #[must_use]
    pub fn describe(&self) -> String {
        match (&self.kind, &self.subject) {
            (None, _) => "change".to_owned(),
            (Some(kind), None) => kind.as_str().to_owned(),
            (Some(kind), Some(subject)) => format!("{} of {subject}", kind.as_str()),
        }
    }
}

/// `mm:ss` or `h:mm:ss` of a non-negative span.
#[must_use]
pub fn clock(span: time::Duration) -> String {
    let seconds = span.whole_seconds().max(0);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_clocks() {
        let press = |code| KeyEvent::new(code, KeyModifiers::NONE);
        assert_eq!(key(&press(KeyCode::Char(' '))), Some(ReplayKey::PlayPause));
        assert_eq!(key(&KeyEvent::new(KeyCode::Char('J'), KeyModifiers::SHIFT)), Some(ReplayKey::Jump));
        assert_eq!(key(&KeyEvent::new(KeyCode::Left, KeyModifiers::CONTROL)), None);
        assert_eq!(key(&press(KeyCode::Char('q'))), None);
        assert_eq!(clock(time::Duration::seconds(3725)), "1:02:05");
        assert_eq!(clock(time::Duration::seconds(65)), "1:05");
    }
}
