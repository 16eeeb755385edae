//! UI state: which tab, what is selected, how tables are sorted and filtered, which
//! overlay is open. Only [`update`](crate::update()) changes it (plus the few setters
//! the app needs for things that happen outside key presses: export results, the
//! terminal size, the keymap in effect).

use netlens_collectors::model::Timestamp;
use netlens_collectors::paths::query::LookupRequest;

use crate::action::{Binding, Keymap};
use crate::conn_filter::ConnFilter;
use crate::filter::Filter;

/// The tabs, in tab-bar order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Tab {
    /// Default routes, interface summary, latest events, sources and host facts.
    #[default]
    Overview,
    /// Every interface with its state, addresses and rates; Enter opens details.
    Interfaces,
    /// Every path target with its verdict, interface, gateway and probe; Enter opens
    /// its checks, probe history, Happy Eyeballs race and transitions.
    Paths,
    /// The resolver configuration with its warnings, per-server health, the live query
    /// log and the latest trace (`t`).
    Dns,
    /// Every socket with its state, peer, process, rates and TCP statistics.
    Connections,
    /// Routes by table, policy rules and neighbours.
    Routes,
    /// The event timeline, newest first.
    Events,
}

impl Tab {
    /// Every tab, in tab-bar order.
    pub const ALL: [Self; 7] = [
        Self::Overview,
        Self::Interfaces,
        Self::Paths,
        Self::Dns,
        Self::Connections,
        Self::Routes,
        Self::Events,
    ];

    /// The tab's title.
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            Self::Overview => "Overview",
            Self::Interfaces => "Interfaces",
            Self::Paths => "Paths",
            Self::Dns => "DNS",
            Self::Connections => "Connections",
            Self::Routes => "Routes",
            Self::Events => "Events",
        }
    }

    /// A shorter title for narrow terminals.
    #[must_use]
    pub const fn short_title(self) -> &'static str {
        match self {
            Self::Overview => "Over",
            Self::Interfaces => "Ifaces",
            Self::Paths => "Paths",
            Self::Dns => "DNS",
            Self::Connections => "Conns",
            Self::Routes => "Routes",
            Self::Events => "Events",
        }
    }

    /// Position in the tab bar, from 0.
    #[must_use]
    pub const fn position(self) -> usize {
        match self {
            Self::Overview => 0,
            Self::Interfaces => 1,
            Self::Paths => 2,
            Self::Dns => 3,
            Self::Connections => 4,
            Self::Routes => 5,
            Self::Events => 6,
        }
    }

    /// The name of the action that selects the tab (`tab_1` …), for hints that name
    /// its key as configured.
    #[must_use]
    pub const fn binding(self) -> &'static str {
        match self {
            Self::Overview => "tab_1",
            Self::Interfaces => "tab_2",
            Self::Paths => "tab_3",
            Self::Dns => "tab_4",
            Self::Connections => "tab_5",
            Self::Routes => "tab_6",
            Self::Events => "tab_7",
        }
    }

    /// The tab to the right, wrapping around.
    #[must_use]
    pub const fn next(self) -> Self {
        Self::ALL[(self.position() + 1) % Self::ALL.len()]
    }

    /// The tab to the left, wrapping around.
    #[must_use]
    pub const fn previous(self) -> Self {
        Self::ALL[(self.position() + Self::ALL.len() - 1) % Self::ALL.len()]
    }

    /// Whether the tab holds a table that `/`, `s` and `S` act on.
    #[must_use]
    pub const fn has_table(self) -> bool {
        !matches!(self, Self::Overview)
    }
}

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

/// The latest status-bar message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    /// What to say.
    pub text: String,
    /// How to colour it.
    pub level: StatusLevel,
    /// When the app reported it; `None` for a short hint from a key press, which the
    /// next key press clears.
    pub at: Option<Timestamp>,
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

/// What the one-line prompt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptKind {
    /// `/`: the current table's filter.
    #[default]
    Filter,
    /// `r`: a route lookup, `DEST [via=IF] [mark=N] [from=ADDR]`.
    RouteLookup,
    /// `a` on the Paths tab: a new path target, `DEST[,via=IF][,mark=N][,probe=KIND]`.
    AddTarget,
    /// `t`: a name to trace the way the system resolver looks it up.
    Trace,
}

/// A cursor over the rows of a list and the first row shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListState {
    /// The selected row, counted among the rows the filter lets through.
    pub(crate) cursor: usize,
    /// The first row drawn (in display rows, which may include section headings).
    pub(crate) offset: usize,
}

/// Sort keys of the Interfaces table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InterfaceSort {
    /// Kernel index: the order interfaces were created.
    #[default]
    Index,
    /// Name.
    Name,
    /// Functional kind.
    Kind,
    /// Operational state, up first.
    State,
    /// MTU.
    Mtu,
    /// Receive rate, busiest first.
    Rx,
    /// Transmit rate, busiest first.
    Tx,
}

impl InterfaceSort {
    /// The next key for `s`.
    #[must_use]
    pub const fn next(self) -> Self {
        match self {
            Self::Index => Self::Name,
            Self::Name => Self::Kind,
            Self::Kind => Self::State,
            Self::State => Self::Mtu,
            Self::Mtu => Self::Rx,
            Self::Rx => Self::Tx,
            Self::Tx => Self::Index,
        }
    }

    /// The key's name in hints.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Index => "index",
            Self::Name => "name",
            Self::Kind => "kind",
            Self::State => "state",
            Self::Mtu => "mtu",
            Self::Rx => "rx",
            Self::Tx => "tx",
        }
    }

    /// Rates read best busiest first; everything else ascending.
    #[must_use]
    pub const fn descending_by_default(self) -> bool {
        matches!(self, Self::Rx | Self::Tx)
    }
}

/// Sort keys of the routes inside each table on the Routes tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouteSort {
    /// The order the kernel listed them in.
    #[default]
    Kernel,
    /// Destination prefix.
    Destination,
    /// Gateway.
    Gateway,
    /// Output interface.
    Device,
    /// Metric (priority).
    Metric,
    /// Installing protocol.
    Protocol,
}

impl RouteSort {
    /// The next key for `s`.
    #[must_use]
    pub const fn next(self) -> Self {
        match self {
            Self::Kernel => Self::Destination,
            Self::Destination => Self::Gateway,
            Self::Gateway => Self::Device,
            Self::Device => Self::Metric,
            Self::Metric => Self::Protocol,
            Self::Protocol => Self::Kernel,
        }
    }

    /// The key's name in hints.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Kernel => "kernel order",
            Self::Destination => "destination",
            Self::Gateway => "gateway",
            Self::Device => "device",
            Self::Metric => "metric",
            Self::Protocol => "protocol",
        }
    }
}

/// Sort keys of the Connections table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionSort {
    /// State: established first, then connecting, closing, listening, closed; within a
    /// state by process and peer, so the order holds still while counters move.
    #[default]
    State,
    /// Local address and port.
    Local,
    /// Remote address and port.
    Remote,
    /// Owning process name, unknown owners last.
    Process,
    /// Receive rate, busiest first.
    Rx,
    /// Transmit rate, busiest first.
    Tx,
    /// Smoothed RTT, slowest first.
    Rtt,
    /// Retransmitted segments, most first.
    Retransmits,
    /// Age, oldest first.
    Age,
    /// Protocol, TCP first.
    Protocol,
}

impl ConnectionSort {
    /// The next key for `s`, in column order.
    #[must_use]
    pub const fn next(self) -> Self {
        match self {
            Self::State => Self::Local,
            Self::Local => Self::Remote,
            Self::Remote => Self::Process,
            Self::Process => Self::Rx,
            Self::Rx => Self::Tx,
            Self::Tx => Self::Rtt,
            Self::Rtt => Self::Retransmits,
            Self::Retransmits => Self::Age,
            Self::Age => Self::Protocol,
            Self::Protocol => Self::State,
        }
    }

    /// The key's name in hints.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::State => "state",
            Self::Local => "local",
            Self::Remote => "remote",
            Self::Process => "process",
            Self::Rx => "rx",
            Self::Tx => "tx",
            Self::Rtt => "rtt",
            Self::Retransmits => "retransmits",
            Self::Age => "age",
            Self::Protocol => "protocol",
        }
    }

    /// Measures read best largest first; everything else ascending.
    #[must_use]
    pub const fn descending_by_default(self) -> bool {
        matches!(self, Self::Rx | Self::Tx | Self::Rtt | Self::Retransmits | Self::Age)
    }
}

/// Sort keys of the Paths table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathSort {
    /// As configured: the default paths first, then user targets in the order given.
    #[default]
    Configured,
    /// Target text.
    Target,
    /// Status: unsatisfied first, then failing, then satisfied.
    Status,
    /// Output interface.
    Interface,
    /// Probe round-trip time, slowest first.
    Rtt,
    /// Probe loss, most first.
    Loss,
    /// Time in the current status, longest first.
    Since,
}

impl PathSort {
    /// The next key for `s`, in column order.
    #[must_use]
    pub const fn next(self) -> Self {
        match self {
            Self::Configured => Self::Target,
            Self::Target => Self::Status,
            Self::Status => Self::Interface,
            Self::Interface => Self::Rtt,
            Self::Rtt => Self::Loss,
            Self::Loss => Self::Since,
            Self::Since => Self::Configured,
        }
    }

    /// The key's name in hints.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Configured => "configured",
            Self::Target => "target",
            Self::Status => "status",
            Self::Interface => "interface",
            Self::Rtt => "rtt",
            Self::Loss => "loss",
            Self::Since => "time in state",
        }
    }

    /// Measures read best largest first; everything else ascending.
    #[must_use]
    pub const fn descending_by_default(self) -> bool {
        matches!(self, Self::Rtt | Self::Loss | Self::Since)
    }
}

/// The open details view of one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathDetails {
    /// The target, in canonical form (its identity in the store).
    pub(crate) target: String,
    /// Lines scrolled down.
    pub(crate) scroll: usize,
}

/// The Paths tab. The cursor counts rows the filter lets through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathsState {
    pub(crate) list: ListState,
    pub(crate) sort: PathSort,
    pub(crate) reversed: bool,
    pub(crate) filter: Filter,
    pub(crate) details: Option<PathDetails>,
}

/// Which part of the DNS tab the movement keys act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsFocus {
    /// The live query log: rows move.
    #[default]
    Log,
    /// The trace view: it scrolls (and takes the log's room on a short screen).
    Trace,
}

/// A trace asked for whose result has not reached the store yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTrace {
    /// The name as typed (trimmed).
    pub(crate) name: String,
    /// The store's latest event when it was asked: a trace of the name that started
    /// before this is an older one.
    pub(crate) since: Timestamp,
}

/// The DNS tab. The log cursor counts from the newest query the filter lets through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsState {
    pub(crate) list: ListState,
    pub(crate) filter: Filter,
    /// `Dns::logged()` when the cursor was last placed: queries that arrived since push
    /// the selected one down, and the cursor follows it (on the newest row it stays on
    /// the newest).
    pub(crate) anchor: u64,
    pub(crate) focus: DnsFocus,
    /// Lines the trace view is scrolled down.
    pub(crate) trace_scroll: usize,
    pub(crate) pending: Option<PendingTrace>,
}

/// The open details view of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionDetails {
    /// The kernel's socket cookie (addresses and owners can repeat; cookies do not).
    pub(crate) cookie: u64,
    /// Lines scrolled down.
    pub(crate) scroll: usize,
}

/// The Connections tab. The selection is kept by socket cookie, so it stays on the
/// same connection while rows come, go and reorder under it every refresh; the cursor
/// is where it was last seen, for when it goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionsState {
    pub(crate) list: ListState,
    pub(crate) selected: Option<u64>,
    pub(crate) sort: ConnectionSort,
    pub(crate) reversed: bool,
    pub(crate) filter: ConnFilter,
    pub(crate) grouped: bool,
    pub(crate) details: Option<ConnectionDetails>,
}

/// The open details view of one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Details {
    /// Kernel index of the interface (names change; indexes do not).
    pub(crate) index: u32,
    /// Lines scrolled down.
    pub(crate) scroll: usize,
}

/// The Interfaces tab.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfacesState {
    pub(crate) list: ListState,
    pub(crate) sort: InterfaceSort,
    pub(crate) reversed: bool,
    pub(crate) filter: Filter,
    pub(crate) details: Option<Details>,
}

/// The Routes tab.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutesState {
    pub(crate) list: ListState,
    pub(crate) sort: RouteSort,
    pub(crate) reversed: bool,
    pub(crate) filter: Filter,
}

/// The Events tab. The cursor counts from the newest entry the filter lets through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventsState {
    pub(crate) list: ListState,
    pub(crate) filter: Filter,
    /// `Timeline::appended()` when the cursor was last placed: entries that arrived
    /// since push the selected one down, and the cursor follows it.
    pub(crate) anchor: u64,
}

/// Everything the UI remembers between frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiState {
    pub(crate) tab: Tab,
    pub(crate) mode: Mode,
    pub(crate) paused: bool,
    pub(crate) follow: bool,
    /// Terminal size in cells; `(0, 0)` until the app reports it.
    pub(crate) viewport: (u16, u16),
    pub(crate) interfaces: InterfacesState,
    pub(crate) paths: PathsState,
    pub(crate) dns: DnsState,
    pub(crate) connections: ConnectionsState,
    pub(crate) routes: RoutesState,
    pub(crate) events: EventsState,
    pub(crate) help_scroll: usize,
    /// What the prompt is for.
    pub(crate) prompt: PromptKind,
    /// The text being typed in the prompt.
    pub(crate) draft: String,
    /// The route lookup last asked for: the popup shows the store's answer to it.
    pub(crate) lookup: Option<LookupRequest>,
    pub(crate) status: Option<StatusMessage>,
    /// The bindings in effect, for the help overlay and the hints.
    pub(crate) bindings: Vec<Binding>,
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
            follow: true,
            viewport: (0, 0),
            interfaces: InterfacesState::default(),
            paths: PathsState::default(),
            dns: DnsState::default(),
            connections: ConnectionsState::default(),
            routes: RoutesState::default(),
            events: EventsState::default(),
            help_scroll: 0,
            prompt: PromptKind::Filter,
            draft: String::new(),
            lookup: None,
            status: None,
            bindings: keymap.describe(),
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

    /// Whether the view is paused (the app then renders from a frozen store).
    #[must_use]
    pub const fn paused(&self) -> bool {
        self.paused
    }

    /// Whether the Events tab stays on the newest entry.
    #[must_use]
    pub const fn follow(&self) -> bool {
        self.follow
    }

    /// What the keyboard is talking to.
    #[must_use]
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether the details view of an interface is open.
    #[must_use]
    pub const fn details_open(&self) -> bool {
        self.interfaces.details.is_some()
    }

    /// The target whose path details are open, if any.
    #[must_use]
    pub fn path_details(&self) -> Option<&str> {
        self.paths.details.as_ref().map(|open| open.target.as_str())
    }

    /// What the prompt is for (meaningful while [`Mode::Prompt`]).
    #[must_use]
    pub const fn prompt_kind(&self) -> PromptKind {
        self.prompt
    }

    /// The route lookup last asked for, if any.
    #[must_use]
    pub const fn lookup(&self) -> Option<&LookupRequest> {
        self.lookup.as_ref()
    }

    /// The socket cookie of the connection whose details are open, if any.
    #[must_use]
    pub const fn connection_details(&self) -> Option<u64> {
        match self.connections.details {
            Some(open) => Some(open.cookie),
            None => None,
        }
    }

    /// What the DNS tab's movement keys act on.
    #[must_use]
    pub const fn dns_focus(&self) -> DnsFocus {
        self.dns.focus
    }

    /// The name of a trace asked for whose result has not arrived yet (as of the last
    /// key press; the view checks the store it draws).
    #[must_use]
    pub fn pending_trace(&self) -> Option<&str> {
        self.dns.pending.as_ref().map(|pending| pending.name.as_str())
    }

    /// The trace asked for will not come (the DNS source is off, or did not take the
    /// request): stop showing "tracing NAME…" for it.
    pub fn abandon_trace(&mut self) {
        self.dns.pending = None;
    }

    /// Whether the Connections table is grouped by process.
    #[must_use]
    pub const fn grouped(&self) -> bool {
        self.connections.grouped
    }

    /// The filter applied to a tab's table, as typed (empty when none).
    #[must_use]
    pub fn filter(&self, tab: Tab) -> &str {
        match tab {
            Tab::Overview => "",
            Tab::Interfaces => self.interfaces.filter.text(),
            Tab::Paths => self.paths.filter.text(),
            Tab::Dns => self.dns.filter.text(),
            Tab::Connections => self.connections.filter.text(),
            Tab::Routes => self.routes.filter.text(),
            Tab::Events => self.events.filter.text(),
        }
    }

    /// The text being typed in the prompt.
    #[must_use]
    pub fn draft(&self) -> &str {
        &self.draft
    }

    /// The latest status-bar message.
    #[must_use]
    pub const fn status(&self) -> Option<&StatusMessage> {
        self.status.as_ref()
    }

    /// Show `text` in the status bar (export results and errors).
    pub fn set_status(&mut self, text: impl Into<String>, level: StatusLevel, at: Timestamp) {
        self.status = Some(StatusMessage { text: text.into(), level, at: Some(at) });
    }

    /// A short hint from a key press; the next key press clears it.
    pub(crate) fn hint(&mut self, text: impl Into<String>, level: StatusLevel) {
        self.status = Some(StatusMessage { text: text.into(), level, at: None });
    }

    /// Record the terminal size (also done by `Action::Resize`): page sizes and
    /// mouse hit-testing depend on it.
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
