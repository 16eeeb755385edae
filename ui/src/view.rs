//! The top-level layout: a tab bar, the current tab's pane, a status bar, and the
//! overlays that float above them.
//!
//! ```text
//! ┌──────────────────────────────────────────────────────────────────────────────────┐
//! │ netlens  1 Overview  2 Interfaces  3 Paths  4 DNS  5 Connections  6 Routes  7 Ev… │ tab bar (clickable)
//! ├──────────────────────────────────────────────────────────────────────────────────┤
//! │╭ pane title ───────────────────────────────────────────────── notes (sort …) ╮│
//! ││ counts · caveats (Connections)                                              ││
//! ││ HEADINGS                                                                    ││
//! ││ rows … (only the visible ones are built)                                    ││ the tab's pane
//! ││                 ╭ help overlay (?) ╮   ╭ Route lookup (r) ───────╮          ││
//! ││                 ╰──────────────────╯   │ query / answer / rule   │          ││
//! ││                                        ╰─────────────────────────╯          ││
//! ││ (the DNS tab has its own layout of four boxes: see `panes/dns.rs`)          ││
//! │╰────────────────────────────────────────────────────────────────── 3/200 ───╯│
//! │╭ selected row's preview (Interfaces, Paths, Connections; when there is room) ╮│
//! │╰─────────────────────────────────────────────────────────────────────────────╯│
//! │ ✗ why the text cannot apply, or how to write it (when it does not fit beside)  │
//! │ add target › typed text (a previous entry shows selected)   enter add · esc   │ last pane row
//! ├──────────────────────────────────────────────────────────────────────────────────┤
//! │ enter details  a add  x remove  P probe  / filter  s sort  g top  ? help         │ key hints (≥ 20 rows)
//! │ devbox │ ✗ default-ipv4 no_route +1 │ netlens 0.3% 9.65 MB │ PAUSED │ message  ? help │ status bar
//! └──────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! The Overview stacks the default paths (or the default routes before any path is
//! evaluated) with a line on DNS, then interfaces beside host & sources, then top talkers above the latest
//! events — or beside them when the screen is too short to stack (80×24).
//!
//! Below [`MIN_WIDTH`] × [`MIN_HEIGHT`] only a short "terminal too small" note is drawn.

use netlens_collectors::Store;
use netlens_collectors::model::Timestamp;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::component::Component;
use crate::context::{Keys, Paint};
use crate::format::Clock;
use crate::state::{Mode, Tab, UiState};
use crate::theme::Theme;
use crate::widgets::text::{fill, put, width};
use crate::widgets::{split_bottom, split_top};
use crate::{hints, status_bar};

/// Narrowest terminal the panes are drawn in.
pub const MIN_WIDTH: u16 = 40;
/// Shortest terminal the panes are drawn in.
pub const MIN_HEIGHT: u16 = 10;

/// From this height a line above the status bar lists the current tab's keys.
pub const HINT_BAR_HEIGHT: u16 = 20;

/// Draw the whole screen for `store` as the UI state says, with relative times seen
/// from `now`.
///
/// Drawing records the geometry it used into `ui` (rows each table shows, how far
/// text views can scroll, where the tab bar put each tab), so the next key acts on
/// what is on screen.
pub fn draw(frame: &mut Frame, store: &Store, ui: &mut UiState, theme: &Theme, now: Timestamp) {
    let area = frame.area();
    fill(frame.buffer_mut(), area, theme.base());
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame.buffer_mut(), area, theme);
        return;
    }
    ui.expire_status(now);
    let (tab_row, rest) = split_top(area, 1);
    // The most severe open finding, on every tab, while one is open.
    let (banner_row, rest) = split_top(rest, u16::from(!store.findings().open().is_empty()));
    let overview_key = ui.keys_of(Tab::Overview.binding()).unwrap_or("1").to_owned();
    crate::panes::findings::banner(frame.buffer_mut(), banner_row, store, theme, &overview_key);
    let (rest, status_row) = split_bottom(rest, 1);
    let (body, hint_row) = split_bottom(rest, u16::from(area.height >= HINT_BAR_HEIGHT));
    tab_bar(frame.buffer_mut(), tab_row, ui, theme, now);
    status_bar::render(frame.buffer_mut(), status_row, store, ui, theme);
    hints::render(frame.buffer_mut(), hint_row, ui, theme);
    let UiState { tab, tabs, bindings, .. } = ui;
    let paint = Paint { store, theme, now, keys: Keys(bindings) };
    tabs.get_mut(*tab).render(frame, body, &paint);
    match ui.mode {
        Mode::Normal => {}
        Mode::Prompt => {
            let UiState { prompt, bindings, .. } = ui;
            prompt.render(frame, body, &Paint { store, theme, now, keys: Keys(bindings) });
        }
        Mode::Help => {
            let UiState { help, bindings, .. } = ui;
            help.render(frame, body, &Paint { store, theme, now, keys: Keys(bindings) });
        }
        Mode::RouteLookup => {
            let UiState { lookup, bindings, .. } = ui;
            lookup.render(frame, body, &Paint { store, theme, now, keys: Keys(bindings) });
        }
    }
}

/// The note drawn instead of the panes on a tiny terminal: as much of it as fits,
/// centred.
fn too_small(buf: &mut Buffer, area: Rect, theme: &Theme) {
    let need = format!("need {MIN_WIDTH}×{MIN_HEIGHT}");
    let lines = ["terminal too small", need.as_str()];
    let top = area.y + area.height.saturating_sub(2) / 2;
    for (line, y) in lines.into_iter().zip(top..area.bottom()) {
        let w = (width(line) as u16).min(area.width);
        put(buf, area.x + (area.width - w) / 2, y, w, line, theme.muted());
    }
}

/// Where the tab bar puts each tab: `(tab, first column, width)`.
#[derive(Debug, Clone)]
pub(crate) struct TabBar {
    brand: bool,
    labels: Vec<(Tab, String, u16, u16)>,
}

/// Lay the tab bar out for a terminal `width` (0 counts as wide): full titles
/// with the app name, then without it, then without the blank between labels (their
/// own padding still parts them; this keeps full titles at 80 columns), then short
/// titles with and without the blank, then only the keys with the current tab's title
/// (seven tabs do not fit 40 columns any other way).
pub(crate) fn tab_bar_layout(ui: &UiState, width: u16) -> TabBar {
    const BRAND: u16 = 9;
    #[derive(Clone, Copy, PartialEq)]
    enum Titles {
        Full,
        Short,
        KeysOnly,
    }
    let build = |titles: Titles| -> Vec<String> {
        Tab::ALL
            .iter()
            .map(|tab| {
                let title = if titles == Titles::Full { tab.title() } else { tab.short_title() };
                match ui.keys_of(tab.binding()) {
                    Some(key) if key.chars().count() <= 3 => {
                        if titles == Titles::KeysOnly && *tab != ui.tab {
                            format!(" {key} ")
                        } else {
                            format!(" {key} {title} ")
                        }
                    }
                    _ => format!(" {title} "),
                }
            })
            .collect()
    };
    let total = |labels: &[String], gap: u16| labels.iter().map(|l| width_of(l) + gap).sum::<u16>();
    let (full, short) = (build(Titles::Full), build(Titles::Short));
    let (brand, gap, labels) = if width == 0 || total(&full, 1) + BRAND <= width {
        (true, 1, full)
    } else if let Some(gap) = [1, 0].into_iter().find(|gap| total(&full, *gap) <= width) {
        (false, gap, full)
    } else if let Some(gap) = [1, 0].into_iter().find(|gap| total(&short, *gap) <= width) {
        (false, gap, short)
    } else {
        (false, 1, build(Titles::KeysOnly))
    };
    let mut x = if brand { BRAND } else { 0 };
    let labels = Tab::ALL
        .into_iter()
        .zip(labels)
        .map(|(tab, label)| {
            let w = width_of(&label);
            let placed = (tab, label, x, w);
            x += w + gap;
            placed
        })
        .collect();
    TabBar { brand, labels }
}

fn width_of(text: &str) -> u16 {
    width(text) as u16
}

/// The tab under column `x` of the tab bar as the last frame drew it, if any.
pub(crate) fn tab_at(ui: &UiState, x: u16) -> Option<Tab> {
    ui.tab_hits.iter().find(|(_, start, w)| x >= *start && x < start + w).map(|(tab, ..)| *tab)
}

/// Draw the tab bar, and record where each tab's label went for mouse clicks.
fn tab_bar(buf: &mut Buffer, row: Rect, ui: &mut UiState, theme: &Theme, now: Timestamp) {
    fill(buf, row, theme.tab_bar());
    let layout = tab_bar_layout(ui, row.width);
    ui.tab_hits.clear();
    ui.tab_hits.extend(layout.labels.iter().map(|(tab, _, x, w)| (*tab, row.x + x, *w)));
    if layout.brand {
        put(buf, row.x + 1, row.y, 7, "netlens", theme.tab_bar().patch(theme.title()));
    }
    let mut end = 0;
    for (tab, label, x, w) in &layout.labels {
        let style =
            if *tab == ui.tab { theme.tab_active() } else { theme.tab_bar().patch(theme.tab_inactive()) };
        put(buf, row.x + x, row.y, (*w).min(row.width.saturating_sub(*x)), label, style);
        end = x + w;
    }
    let clock = format!("{} UTC ", Clock(now));
    let clock_width = width_of(&clock);
    if end + clock_width + 2 <= row.width {
        put(buf, row.right() - clock_width, row.y, clock_width, &clock, theme.tab_bar().patch(theme.muted()));
    }
}

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::action::Action;
    use crate::panes;
    use crate::state::{ConnectionDetails, Details, PathDetails, Scroll};
    use crate::update::update;
    use crate::widgets::prompt;

    /// The size gate in `draw` hides the panes below 40×10; each piece must still
    /// survive any area on its own (and `draw` any terminal).
    #[test]
    fn every_piece_survives_any_small_area() {
        let store = fake::store();
        let mut ui = UiState::new();
        update(&mut ui, &store, Action::Down);
        let mut help = ui.clone();
        update(&mut help, &store, Action::Help);
        let mut grouped = ui.clone();
        update(&mut grouped, &store, Action::SelectTab(Tab::Connections));
        update(&mut grouped, &store, Action::ToggleGroup);
        let mut paths = ui.clone();
        update(&mut paths, &store, Action::SelectTab(Tab::Paths));
        let mut lookup = ui.clone();
        update(&mut lookup, &store, Action::RouteLookup);
        for c in "1.1.1.1".chars() {
            update(&mut lookup, &store, Action::PromptInput(c));
        }
        update(&mut lookup, &store, Action::PromptSubmit);
        let theme = Theme::default();
        let now = fake::NOW;
        for width in 1..=40 {
            for height in 1..=12 {
                let mut terminal =
                    Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
                let (mut ui, mut help, mut grouped, mut paths) =
                    (ui.clone(), help.clone(), grouped.clone(), paths.clone());
                let result = terminal.draw(|frame| {
                    let area = frame.area();
                    let bindings = ui.bindings().to_vec();
                    let ctx = Paint { store: &store, theme: &theme, now, keys: Keys(&bindings) };
                    panes::overview::render(frame, area, 0, &ctx);
                    panes::interfaces::render(frame, area, &mut ui.tabs.interfaces, &ctx);
                    panes::routes::render(frame, area, &mut ui.tabs.routes, &ctx);
                    panes::events::render(frame, area, &mut ui.tabs.events, &ctx);
                    panes::connections::render(frame, area, &mut ui.tabs.connections, &ctx);
                    panes::connections::render(frame, area, &mut grouped.tabs.connections, &ctx);
                    let scrolled = |line| Scroll { line, drawn: None };
                    for cookie in [6, 14, 24, 999] {
                        let mut open = ConnectionDetails { cookie, scroll: scrolled(3) };
                        panes::connection_details::render(frame, area, &mut open, &ctx);
                    }
                    for (index, line) in [(3, 5), (99, 0)] {
                        let mut open = Details { index, scroll: scrolled(line) };
                        panes::details::render(frame, area, &mut open, &ctx);
                    }
                    help.help.render(frame, area, &ctx);
                    panes::paths::render(frame, area, &mut paths.tabs.paths, &ctx);
                    for target in
                        ["default-ipv4", "example.org:443", "db.internal", "10.8.0.1,probe=icmp", "gone"]
                    {
                        let mut open = PathDetails { target: target.to_owned(), scroll: scrolled(4) };
                        panes::path_details::render(frame, area, &mut open, &ctx);
                    }
                    lookup.lookup.clone().render(frame, area, &ctx);
                    let buf = frame.buffer_mut();
                    if let Some(entry) = store.interface(3) {
                        panes::details::preview(buf, area, &store, entry, &theme, now, "enter details");
                    }
                    for path in store.paths() {
                        panes::path_details::preview(buf, area, &store, path, &theme, now, "enter details");
                    }
                    if let Some(entry) = store.connections().get(14) {
                        panes::connection_details::preview(buf, area, &store, entry, &theme, now, "enter");
                    }
                    let entry = prompt::Entry {
                        label: "filter Events",
                        text: "kind:route",
                        hint: "enter apply",
                        problem: None,
                        selected: true,
                    };
                    prompt::render(buf, area, &theme, &entry);
                    let problem = prompt::Problem { start: 4, end: 8, message: "`fast` is not a duration" };
                    let entry = prompt::Entry {
                        label: "filter Connections",
                        text: "rtt>fast",
                        hint: "enter",
                        problem: Some(problem),
                        selected: false,
                    };
                    prompt::render(buf, area, &theme, &entry);
                    tab_bar(buf, area, &mut ui, &theme, now);
                    status_bar::render(buf, area, &store, &ui, &theme);
                    hints::render(buf, area, &ui, &theme);
                    too_small(buf, area, &theme);
                });
                assert!(result.is_ok(), "{width}×{height}");
            }
        }
    }

    /// The DNS tab's boxes share out whatever area they get: every one of them, with
    /// the log or the trace focused, a trace on its way, a capture turned off, or no
    /// data at all, survives any small area.
    #[test]
    fn the_dns_tab_survives_any_small_area() {
        use netlens_collectors::Payload;
        use netlens_collectors::model::{SourceId, SourceState, SourceStatus};

        let store = fake::store();
        let mut dns = UiState::new();
        update(&mut dns, &store, Action::SelectTab(Tab::Dns));
        update(&mut dns, &store, Action::Down);
        let mut trace = dns.clone();
        update(&mut trace, &store, Action::SwitchFocus);
        update(&mut trace, &store, Action::Down);
        let mut tracing = dns.clone();
        update(&mut tracing, &store, Action::Trace);
        update(&mut tracing, &store, Action::PromptSubmit);
        let mut off = store.clone();
        let status = SourceStatus {
            name: SourceId::DnsCapture,
            status: SourceState::Off,
            detail: "turned off in the config".into(),
        };
        off.apply(fake::event(fake::NOW, SourceId::DnsCapture, Payload::Status(status)));
        let empty = Store::default();
        let theme = Theme::default();
        for width in 1..=40 {
            for height in 1..=12 {
                let mut terminal =
                    Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
                let result = terminal.draw(|frame| {
                    let area = frame.area();
                    let keys = Keys(dns.bindings());
                    for ui in [&dns, &trace, &tracing] {
                        for store in [&store, &off, &empty] {
                            let ctx = Paint { store, theme: &theme, now: fake::NOW, keys };
                            panes::dns::render(frame, area, &mut ui.tabs.dns.clone(), &ctx);
                        }
                    }
                    let ctx = Paint { store: &store, theme: &theme, now: fake::NOW, keys };
                    panes::dns_trace::render(
                        frame.buffer_mut(),
                        area,
                        &mut trace.tabs.dns.clone(),
                        &ctx,
                        true,
                    );
                });
                assert!(result.is_ok(), "{width}×{height}");
            }
        }
    }
}
