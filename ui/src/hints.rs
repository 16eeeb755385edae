//! The key-hint bar: one line above the status bar (when the terminal has room)
//! naming the most useful keys of what has the focus — the current tab, its open
//! details, or the overlay — with the keys as configured. A key left unbound is left
//! out; what does not fit the width is left out from the right.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::state::{Mode, PromptKind, Tab, UiState};
use crate::theme::Theme;
use crate::widgets::text::{fill, put_spans, width};

/// A hint: the action whose first key is shown (by its config name), or a fixed key
/// for what no binding names (prompt editing), and what it does here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// The first key bound to this action.
    Action(&'static str, &'static str),
    /// A key read outside the keymap.
    Fixed(&'static str, &'static str),
}

use Hint::{Action as Bound, Fixed};

/// Inside a details view: scroll and leave.
const DETAILS: &[Hint] =
    &[Fixed("↑↓", "scroll"), Bound("close", "back"), Bound("top", "top"), Bound("help", "help")];

/// The hints for what has the focus now, most useful first.
pub(crate) fn current(ui: &UiState) -> &'static [Hint] {
    match ui.mode {
        Mode::Prompt => prompt_hints(ui),
        Mode::Help => &[Fixed("↑↓", "scroll"), Bound("close", "close")],
        Mode::RouteLookup => &[Bound("route_lookup", "ask again"), Bound("close", "close")],
        Mode::Normal => match ui.read_only.as_ref().map(|view| view.cursor.is_some()) {
            Some(true) if !details_open(ui) => REPLAY,
            Some(false) if !details_open(ui) => SNAPSHOT,
            _ => tab_hints(ui),
        },
    }
}

/// A replay: the cursor's keys first; the live-only keys would only say "read-only".
const REPLAY: &[Hint] = &[
    Fixed("space", "play"),
    Fixed("← →", "step"),
    Fixed("[ ]", "±1 min"),
    Fixed("+ -", "speed"),
    Fixed("J", "jump"),
    Fixed("n N", "next/prev"),
    Bound("export", "export"),
    Bound("next_tab", "next tab"),
    Bound("help", "help"),
    Bound("quit", "quit"),
];

/// An opened snapshot: nothing runs, so moving and exporting is all there is.
const SNAPSHOT: &[Hint] = &[
    Bound("next_tab", "next tab"),
    Bound("open", "details"),
    Bound("filter", "filter"),
    Bound("export", "export"),
    Bound("help", "help"),
    Bound("quit", "quit"),
];

/// Whether the current tab shows a details view (its own hints apply then).
fn details_open(ui: &UiState) -> bool {
    let tabs = &ui.tabs;
    match ui.tab {
        Tab::Interfaces => tabs.interfaces.details.is_some(),
        Tab::Paths => tabs.paths.details.is_some(),
        Tab::Connections => tabs.connections.details.is_some(),
        Tab::Events => tabs.events.details.is_some(),
        Tab::Overview | Tab::Dns | Tab::Routes => false,
    }
}

/// While a prompt is open: how to write what it asks for (every form a target
/// takes), so the forms stay in sight beside an error.
fn prompt_hints(ui: &UiState) -> &'static [Hint] {
    match ui.prompt.kind {
        PromptKind::ConfirmRemove => &[Fixed("y", "removes"), Fixed("any other key", "keeps it")],
        PromptKind::JumpTo => &[
            Fixed("2026-12-03T03:12:07Z", "a time"),
            Fixed("+90s", "from the start"),
            Fixed("-5m", "from the end"),
            Fixed("start end", ""),
            Fixed("esc", "cancel"),
        ],
        PromptKind::AddTarget => &[
            Fixed("host:port", ""),
            Fixed("[ipv6]:port", ""),
            Fixed("host[:port],probe=icmp|dns|none", ""),
            Fixed(",via=IF", ""),
            Fixed(",mark=N", ""),
        ],
        PromptKind::RouteLookup => &[
            Fixed("DEST", "address"),
            Fixed("via=IF", "out of"),
            Fixed("mark=N", "fwmark"),
            Fixed("from=ADDR", "source"),
            Fixed("esc", "cancel"),
        ],
        PromptKind::Trace => {
            &[Fixed("NAME", "a host name; search list and ndots apply"), Fixed("esc", "cancel")]
        }
        PromptKind::Filter if ui.prompt.tab == Tab::Connections => {
            &[Fixed("port:443 state:estab proc:curl rtt>100ms !term", "all hold"), Fixed("esc", "cancel")]
        }
        PromptKind::Filter => &[Fixed("field:text", "or any word"), Fixed("esc", "cancel")],
    }
}

fn tab_hints(ui: &UiState) -> &'static [Hint] {
    let tabs = &ui.tabs;
    match ui.tab {
        Tab::Overview => &[
            Bound("next_tab", "next tab"),
            Bound("route_lookup", "route lookup"),
            Bound("trace", "trace a name"),
            Bound("toggle_pause", "pause"),
            Bound("export", "export"),
            Bound("help", "help"),
            Bound("quit", "quit"),
        ],
        Tab::Interfaces if tabs.interfaces.details.is_some() => DETAILS,
        Tab::Paths if tabs.paths.details.is_some() => &[
            Fixed("↑↓", "scroll"),
            Bound("close", "back"),
            Bound("probe_now", "probe now"),
            Bound("remove_target", "remove"),
        ],
        Tab::Connections if tabs.connections.details.is_some() => DETAILS,
        Tab::Events if tabs.events.details.is_some() => &[Bound("close", "close"), Fixed("↑↓", "scroll")],
        Tab::Interfaces | Tab::Routes => &[
            Bound("open", "details"),
            Bound("filter", "filter"),
            Bound("cycle_sort", "sort"),
            Bound("reverse_sort", "reverse"),
            Bound("top", "top"),
            Bound("bottom", "end"),
            Bound("help", "help"),
        ],
        Tab::Paths => &[
            Bound("open", "details"),
            Bound("add_target", "add"),
            Bound("remove_target", "remove"),
            Bound("probe_now", "probe now"),
            Bound("filter", "filter"),
            Bound("cycle_sort", "sort"),
            Bound("help", "help"),
        ],
        Tab::Dns => &[
            Bound("trace", "trace a name"),
            Bound("switch_focus", "log ↔ trace"),
            Bound("filter", "filter"),
            Bound("top", "newest"),
            Bound("help", "help"),
        ],
        Tab::Connections => &[
            Bound("open", "details"),
            Bound("filter", "filter"),
            Bound("cycle_sort", "sort"),
            Bound("group", "group by process"),
            Bound("closed", "closed rows"),
            Bound("top", "top"),
            Bound("help", "help"),
        ],
        Tab::Events => &[
            Bound("open", "show whole"),
            Bound("follow", "follow newest"),
            Bound("filter", "filter"),
            Bound("top", "newest"),
            Bound("help", "help"),
        ],
    }
}

/// The hints as `(key, what)` pairs, with the keys in effect.
pub(crate) fn resolved(ui: &UiState) -> Vec<(&str, &'static str)> {
    current(ui)
        .iter()
        .filter_map(|hint| match *hint {
            Bound(action, what) => ui.keys_of(action).map(|key| (key, what)),
            Fixed(key, what) => Some((key, what)),
        })
        .collect()
}

/// Draw the bar on `row` (nothing when it has no height).
pub(crate) fn render(buf: &mut Buffer, row: Rect, ui: &UiState, theme: &Theme) {
    if row.height == 0 || row.width == 0 {
        return;
    }
    fill(buf, row, theme.base());
    let mut x = row.x + 1;
    for (key, what) in resolved(ui) {
        let gap = if what.is_empty() { "" } else { " " };
        let need = (width(key) + gap.len() + width(what)) as u16;
        if x + need > row.right() {
            break;
        }
        let spans = [(key, theme.accent()), (gap, theme.muted()), (what, theme.muted())];
        x += put_spans(buf, x, row.y, row.right() - x, &spans) + 2;
    }
}
