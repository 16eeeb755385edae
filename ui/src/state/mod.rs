//! UI state: which tab, what is selected, how tables are sorted and filtered, which
//! overlay is open. Only [`update`](crate::update()) changes it (plus the few setters
//! the app needs for things that happen outside key presses: export results, the
//! terminal size, the keymap in effect).

use netlens_collectors::model::Timestamp;
use netlens_collectors::paths::query::LookupRequest;

use crate::action::{Binding, Keymap};

pub use crate::tab::Tab;

mod overlays;
mod sort;
mod table;
mod tabs;

pub use overlays::{HelpOverlay, LookupPopup, Prompt, PromptKind};
pub use sort::{ConnectionSort, InterfaceSort, Newest, PathSort, RouteSort, SortKey};
pub(crate) use table::Motion;
pub use table::{Scroll, TableState};
pub use tabs::{
    ConnectionDetails, ConnectionsState, Details, DnsFocus, DnsState, EventDetails, EventsState,
    FindingDetails, InterfacesState, OverviewState, PathDetails, PathsState, PendingTrace, RoutesState, Tabs,
};

/// How a status-bar message is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatusLevel {
    /// A neutral fact (e.g. where a snapshot was written).
    #[default]
    Info,
    /// Something worked.
    Success,
    /// Something needs attention.
    Warning,
    /// Something failed (e.g. an export error).
    Error,
}

/// How long a status message stays: long enough to read, short enough that
/// "adding web.lab.test:8080…" does not outlive what it announced. Problems stay
/// twice as long.
pub const MESSAGE_SECONDS: i64 = 5;

/// The latest status-bar message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    /// What to say.
    pub text: String,
    /// How to colour it.
    pub level: StatusLevel,
    /// When the app reported it, or (for a hint from a key press) when a frame first
    /// showed it; `None` until then. It expires [`MESSAGE_SECONDS`] later.
    pub at: Option<Timestamp>,
    /// A hint from a key press: the next key press clears it too.
    pub(crate) hint: bool,
}

impl StatusMessage {
    /// Whether it is still worth showing at `now` (frame time, not a clock read).
    #[must_use]
    pub fn live_at(&self, now: Timestamp) -> bool {
        let seconds = match self.level {
            StatusLevel::Info | StatusLevel::Success => MESSAGE_SECONDS,
            StatusLevel::Warning | StatusLevel::Error => 2 * MESSAGE_SECONDS,
        };
        self.at.is_none_or(|at| (now - at).whole_seconds() < seconds)
    }
}

impl StatusMessage {
    /// A hint from a key press, not yet drawn.
    pub(crate) fn hint(text: impl Into<String>, level: StatusLevel) -> Self {
        Self { text: text.into(), level, at: None, hint: true }
    }
}

/// What the keyboard is talking to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Tabs, tables, details.
    #[default]
    Normal,
    /// A one-line prompt (see [`PromptKind`]): typing edits, Enter applies, Esc cancels.
    Prompt,
    /// The help overlay.
    Help,
    /// The route lookup popup: the kernel's answer to the last lookup asked for.
    RouteLookup,
}

/// Everything the UI remembers between frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiState {
    pub(crate) tab: Tab,
    pub(crate) mode: Mode,
    pub(crate) paused: bool,
    /// Terminal size in cells; `(0, 0)` until the app reports it.
    pub(crate) viewport: (u16, u16),
    /// Each tab's state; each tab is a component (see `crate::component`).
    pub(crate) tabs: Tabs,
    /// The help overlay.
    pub(crate) help: HelpOverlay,
    /// Where the last frame put each tab's label in the tab bar: `(tab, first column,
    /// width)`, for mouse clicks. Empty before the first frame.
    pub(crate) tab_hits: Vec<(Tab, u16, u16)>,
    /// The one-line prompt.
    pub(crate) prompt: Prompt,
    /// The route lookup popup.
    pub(crate) lookup: LookupPopup,
    pub(crate) status: Option<StatusMessage>,
    /// The bindings in effect, for the help overlay and the hints.
    pub(crate) bindings: Vec<Binding>,
    /// A replay or an opened snapshot instead of the live host.
    pub(crate) read_only: Option<crate::replay::ReadOnly>,
}

impl Default for UiState {
    fn default() -> Self {
        Self::new()
    }
}

impl UiState {
    /// The initial state: Overview, following new events, default key bindings.
    #[must_use]
    pub fn new() -> Self {
        Self::with_keymap(&Keymap::default())
    }

    /// The initial state, with the help overlay and hints describing `keymap`.
    #[must_use]
    pub fn with_keymap(keymap: &Keymap) -> Self {
        Self {
            tab: Tab::Overview,
            mode: Mode::Normal,
            paused: false,
            viewport: (0, 0),
            tabs: Tabs::default(),
            help: HelpOverlay::default(),
            tab_hits: Vec::new(),
            prompt: Prompt::default(),
            lookup: LookupPopup::default(),
            status: None,
            bindings: keymap.describe(),
            read_only: None,
        }
    }

    /// Describe `keymap` in the help overlay and hints (call it when the keymap is not
    /// the default one).
    pub fn set_keymap(&mut self, keymap: &Keymap) {
        self.bindings = keymap.describe();
    }

    /// The tab on screen.
    #[must_use]
    pub const fn tab(&self) -> Tab {
        self.tab
    }

    /// Show a read-only view (a replay, an opened snapshot), or the live host.
    pub fn set_read_only(&mut self, view: Option<crate::replay::ReadOnly>) {
        self.read_only = view;
    }

    /// The read-only view shown, if any.
    #[must_use]
    pub const fn read_only(&self) -> Option<&crate::replay::ReadOnly> {
        self.read_only.as_ref()
    }

    /// Whether the view is paused (the app then renders from a frozen store).
    #[must_use]
    pub const fn paused(&self) -> bool {
        self.paused
    }

    /// Whether the Events tab stays on the newest entry.
    #[must_use]
    pub const fn follow(&self) -> bool {
        self.tabs.events.follow
    }

    /// What the keyboard is talking to.
    #[must_use]
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether the details view of an interface is open.
    #[must_use]
    pub const fn details_open(&self) -> bool {
        self.tabs.interfaces.details.is_some()
    }

    /// The target whose path details are open, if any.
    #[must_use]
    pub fn path_details(&self) -> Option<&str> {
        self.tabs.paths.details.as_ref().map(|open| open.target.as_str())
    }

    /// What the prompt is for (meaningful while [`Mode::Prompt`]).
    #[must_use]
    pub const fn prompt_kind(&self) -> PromptKind {
        self.prompt.kind
    }

    /// The route lookup last asked for, if any.
    #[must_use]
    pub const fn lookup(&self) -> Option<&LookupRequest> {
        self.lookup.request.as_ref()
    }

    /// The socket cookie of the connection whose details are open, if any.
    #[must_use]
    pub const fn connection_details(&self) -> Option<u64> {
        match self.tabs.connections.details {
            Some(open) => Some(open.cookie),
            None => None,
        }
    }

    /// What the DNS tab's movement keys act on.
    #[must_use]
    pub const fn dns_focus(&self) -> DnsFocus {
        self.tabs.dns.focus
    }

    /// The name of a trace asked for whose result has not arrived yet (as of the last
    /// key press; the view checks the store it draws).
    #[must_use]
    pub fn pending_trace(&self) -> Option<&str> {
        self.tabs.dns.pending.as_ref().map(|pending| pending.name.as_str())
    }

    /// The trace asked for will not come (the DNS source is off, or did not take the
    /// request): stop showing "tracing NAME…" for it.
    pub fn abandon_trace(&mut self) {
        self.tabs.dns.pending = None;
    }

    /// Whether the Connections table is grouped by process.
    #[must_use]
    pub const fn grouped(&self) -> bool {
        self.tabs.connections.grouped
    }

    /// The filter applied to a tab's table, as typed (empty when none).
    #[must_use]
    pub fn filter(&self, tab: Tab) -> &str {
        match tab {
            Tab::Overview => "",
            Tab::Interfaces => self.tabs.interfaces.table.filter.text(),
            Tab::Paths => self.tabs.paths.table.filter.text(),
            Tab::Dns => self.tabs.dns.table.filter.text(),
            Tab::Connections => self.tabs.connections.table.filter.text(),
            Tab::Routes => self.tabs.routes.table.filter.text(),
            Tab::Events => self.tabs.events.table.filter.text(),
        }
    }

    /// The text being typed in the prompt.
    #[must_use]
    pub fn draft(&self) -> &str {
        &self.prompt.draft
    }

    /// The latest status-bar message.
    #[must_use]
    pub const fn status(&self) -> Option<&StatusMessage> {
        self.status.as_ref()
    }

    /// Show `text` in the status bar (export results and errors) for a few seconds
    /// from `at`.
    pub fn set_status(&mut self, text: impl Into<String>, level: StatusLevel, at: Timestamp) {
        self.status = Some(StatusMessage { text: text.into(), level, at: Some(at), hint: false });
    }

    /// A short hint from a key press; the next key press clears it, and it expires a
    /// few seconds after it was first drawn.
    pub(crate) fn hint(&mut self, text: impl Into<String>, level: StatusLevel) {
        self.status = Some(StatusMessage::hint(text, level));
    }

    /// Age the status message by the frame's time: stamp a new hint with it, and drop
    /// a message past its time. The UI reads no clock of its own; the app passes the
    /// time each frame is drawn for.
    pub fn expire_status(&mut self, now: Timestamp) {
        if let Some(status) = &mut self.status {
            status.at.get_or_insert(now);
            if !status.live_at(now) {
                self.status = None;
            }
        }
    }

    /// Record the terminal size (also done by `Action::Resize`). Page sizes and mouse
    /// hit boxes come from the frames drawn at that size, not from this.
    pub fn set_viewport(&mut self, width: u16, height: u16) {
        self.viewport = (width, height);
    }

    /// The terminal size last reported, `(0, 0)` if never.
    #[must_use]
    pub const fn viewport(&self) -> (u16, u16) {
        self.viewport
    }

    /// The bindings in effect.
    #[must_use]
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The keys of an action in effect, for hints (`? help`).
    pub(crate) fn keys_of(&self, action: &str) -> Option<&str> {
        self.bindings
            .iter()
            .find(|binding| binding.action == action)
            .and_then(|b| b.keys.first())
            .map(String::as_str)
    }
}
