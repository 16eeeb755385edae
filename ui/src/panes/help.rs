//! The help overlay: every key binding in effect (as configured, not as documented),
//! the filter terms of the tab it was opened over, the Connections markers, the
//! prompt's keys and the mouse — in three columns that fit an 80×24 terminal without
//! scrolling (narrower screens get one column, which scrolls).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::action::{Binding, Group};
use crate::context::{Keys, Paint};
use crate::filter::{DNS_FIELDS, EVENT_FIELDS, Field, INTERFACE_FIELDS, PATH_FIELDS, ROUTE_FIELDS};
use crate::state::{Scroll, Tab};
use crate::theme::Theme;
use crate::widgets::marks::scroll_marks;
use crate::widgets::pane::pane;
use crate::widgets::text::{Doc, fill, width};

/// The overlay is three columns when its inside is this wide (80 columns leave 76):
/// the widest lines of each column, a blank after the first two.
const THREE_COLUMNS: [u16; 3] = [26, 25, 25];
/// Widest the overlay gets.
const MAX_WIDTH: u16 = 96;

/// Width of the keys column; longer keys push their description right.
const KEYS: usize = 8;

/// Actions listed on one line, as `keys-of-first keys-of-second  what both do`.
const PAIRS: &[(&str, &str, &str)] = &[
    ("up", "down", "up / down"),
    ("page_up", "page_down", "page up/down"),
    ("top", "bottom", "first/last"),
    ("cycle_sort", "reverse_sort", "sort/reverse"),
    ("open", "close", "open / back"),
    ("group", "closed", "group, closed"),
];

/// Shorter descriptions than the keymap's, for the narrow columns.
fn short(binding: &Binding) -> &'static str {
    match binding.action {
        "next_tab" => "next tab",
        "prev_tab" => "previous tab",
        "filter" => "filter",
        "group" => "conns: group",
        "closed" => "conns: closed rows",
        "follow" => "follow events",
        "add_target" => "add a target",
        "remove_target" => "remove target",
        "probe_now" => "probe now",
        "trace" => "trace a name",
        "switch_focus" => "log ↔ trace",
        "route_lookup" => "route lookup",
        "toggle_pause" => "pause / resume",
        "export" => "export",
        "help" => "this help",
        _ => binding.description,
    }
}

fn keys_text(binding: &Binding) -> String {
    if binding.keys.is_empty() { "(unbound)".to_owned() } else { binding.keys.join(" ") }
}

fn key_line(doc: &mut Doc, theme: &Theme, keys: &str, what: &str) {
    doc.line([(format!("  {keys:<KEYS$} "), theme.accent()), (what.to_owned(), theme.text())]);
}

/// The bindings of one group. The numbered tab keys share a line when each is a
/// single key, and the pairs in [`PAIRS`] share one.
fn group(keys: Keys<'_>, theme: &Theme, group: Group) -> Doc {
    let mut doc = Doc::default();
    doc.line([(group.title(), theme.title())]);
    let bindings: Vec<&Binding> = keys.all().iter().filter(|b| b.group == group).collect();
    let tab_keys: Vec<&str> = bindings
        .iter()
        .filter(|b| b.action.starts_with("tab_"))
        .filter_map(|b| match b.keys.as_slice() {
            [key] => Some(key.as_str()),
            _ => None,
        })
        .collect();
    let merge_tabs = tab_keys.len() == Tab::ALL.len();
    let find = |action: &str| bindings.iter().find(|b| b.action == action).copied();
    for binding in &bindings {
        if merge_tabs && binding.action.starts_with("tab_") {
            if binding.action == "tab_1" {
                // Seven keys do not fit the keys column: first … last.
                let keys = match tab_keys.as_slice() {
                    [first, .., last] if tab_keys.len() > 5 => format!("{first} … {last}"),
                    _ => tab_keys.join(" "),
                };
                key_line(&mut doc, theme, &keys, "tabs in order");
            }
            continue;
        }
        if PAIRS.iter().any(|(_, second, _)| *second == binding.action) {
            continue;
        }
        if let Some((_, second, what)) = PAIRS.iter().find(|(first, ..)| *first == binding.action)
            && let Some(other) = find(second)
        {
            let keys = format!("{} {}", keys_text(binding), keys_text(other));
            key_line(&mut doc, theme, &keys, what);
            continue;
        }
        key_line(&mut doc, theme, &keys_text(binding), short(binding));
    }
    doc
}

/// Words joined by spaces into lines of at most `room` columns, each indented.
fn flow(doc: &mut Doc, words: &[&str], room: usize, style: Style) {
    let mut line = String::from(" ");
    for word in words {
        if width(&line) + 1 + width(word) > room && !line.trim().is_empty() {
            doc.line([(std::mem::replace(&mut line, String::from(" ")), style)]);
        }
        line.push(' ');
        line.push_str(word);
    }
    if !line.trim().is_empty() {
        doc.line([(line, style)]);
    }
}

/// The filter terms of the tab under the overlay: its field names, or on the
/// Connections tab its expression language.
fn filter_terms(theme: &Theme, tab: Tab, room: usize) -> Doc {
    let mut doc = Doc::default();
    if tab == Tab::Connections {
        doc.line([("Filter", theme.title()), (" all terms hold", theme.muted())]);
        let words = [
            "port:",
            "lport:",
            "rport:",
            "proto:",
            "state:",
            "proc:",
            "pid:",
            "user:",
            "local:",
            "remote:10.0.0.0/8",
            "rtt>100ms",
            "rx>1MB",
            "tx<10k",
            "retrans>0",
            "age>5m",
            "warn",
            "warn:stalled",
            "closed",
            "!term",
            "negates",
        ];
        flow(&mut doc, &words, room, theme.accent());
        return doc;
    }
    let fields: &[Field] = match tab {
        Tab::Overview => &[],
        Tab::Interfaces => INTERFACE_FIELDS,
        Tab::Paths => PATH_FIELDS,
        Tab::Dns => DNS_FIELDS,
        Tab::Connections | Tab::Routes => ROUTE_FIELDS,
        Tab::Events => EVENT_FIELDS,
    };
    if fields.is_empty() {
        doc.line([("Filter", theme.title()), (" on table tabs", theme.muted())]);
        return doc;
    }
    doc.line([(format!("Filter {}", tab.short_title()), theme.title())]);
    let names: Vec<String> = fields.iter().map(|field| format!("{}:", field.name())).collect();
    let mut words: Vec<&str> = names.iter().map(String::as_str).collect();
    words.extend(["or", "any", "word"]);
    flow(&mut doc, &words, room, theme.accent());
    doc
}

/// What the Connections tab's first column means.
fn markers(theme: &Theme) -> Doc {
    let mut doc = Doc::default();
    doc.line([("Conn marks", theme.title())]);
    doc.line([("  ! ", theme.warn()), ("alarm: stall, zero", theme.text())]);
    doc.line([("    ", theme.text()), ("window, retransmits", theme.text())]);
    doc.line([("  ~ ", theme.info()), ("note: burst, also-ran", theme.text())]);
    doc
}

fn prompt_and_mouse(theme: &Theme) -> Doc {
    let mut doc = Doc::default();
    doc.line([("Prompt & mouse", theme.title())]);
    let pair = |a: &str, b: &str, c: &str, d: &str| {
        [
            (a.to_owned(), theme.accent()),
            (b.to_owned(), theme.text()),
            (c.to_owned(), theme.accent()),
            (d.to_owned(), theme.text()),
        ]
    };
    doc.line(pair("  enter", " apply  ", "esc", " cancel"));
    doc.line(pair("  ctrl-u/-w", " clear/word", "", ""));
    doc.line(pair("  click", " tab  ", "wheel", " moves"));
    doc
}

fn join(blocks: Vec<Doc>) -> Doc {
    let mut doc = Doc::default();
    for block in blocks {
        if doc.len() > 0 {
            doc.blank();
        }
        doc.append(block);
    }
    doc
}

/// The overlay's columns, with their widths, for an inside `width` wide.
/// The replay keys, when a replay is shown.
fn replay_keys(theme: &Theme) -> Doc {
    let mut doc = Doc::default();
    doc.line([("Replay", theme.title())]);
    for (key, what) in crate::replay::KEYS {
        doc.line([(format!("  {key:<6}"), theme.accent()), ((*what).to_owned(), theme.text())]);
    }
    doc
}

fn columns(keys: Keys<'_>, (tab, replay): (Tab, bool), theme: &Theme, width: u16) -> Vec<(Doc, u16)> {
    let (views, moves, tables, paths, dns, general) = (
        group(keys, theme, Group::Views),
        group(keys, theme, Group::Move),
        group(keys, theme, Group::Tables),
        group(keys, theme, Group::Paths),
        group(keys, theme, Group::Dns),
        group(keys, theme, Group::General),
    );
    let least: u16 = THREE_COLUMNS.iter().sum();
    if width >= least {
        let extra = (width - least) / 3;
        let [first, second, _] = THREE_COLUMNS.map(|w| w + extra);
        let third = width - first - second;
        vec![
            (join(vec![views, moves, general]), first),
            (join(vec![tables, paths, dns]), second),
            (
                join(
                    replay
                        .then(|| replay_keys(theme))
                        .into_iter()
                        .chain([
                            filter_terms(theme, tab, usize::from(third)),
                            markers(theme),
                            prompt_and_mouse(theme),
                        ])
                        .collect(),
                ),
                third,
            ),
        ]
    } else {
        let doc = join(
            replay
                .then(|| replay_keys(theme))
                .into_iter()
                .chain([
                    views,
                    moves,
                    tables,
                    paths,
                    dns,
                    general,
                    filter_terms(theme, tab, usize::from(width)),
                    markers(theme),
                    prompt_and_mouse(theme),
                ])
                .collect(),
        );
        vec![(doc, width)]
    }
}

/// The overlay box inside `body` (the area between the tab bar and the status bar),
/// and the columns it holds.
fn layout(keys: Keys<'_>, tab: (Tab, bool), theme: &Theme, body: Rect) -> (Rect, Vec<(Doc, u16)>) {
    let width = body.width.min(MAX_WIDTH);
    let columns = columns(keys, tab, theme, width.saturating_sub(4));
    let tallest = columns.iter().map(|(doc, _)| doc.len()).max().unwrap_or(0);
    let mut height = body.height.min(tallest as u16 + 2);
    // A box a row or two short of the pane would leave slivers of its border showing.
    if body.height - height <= 2 {
        height = body.height;
    }
    let outer =
        Rect::new(body.x + (body.width - width) / 2, body.y + (body.height - height) / 2, width, height);
    (outer, columns)
}

/// Draw the overlay over `body` (the filter terms of `tab` in it), recording how far
/// it can scroll.
pub(crate) fn render(frame: &mut Frame, body: Rect, scroll: &mut Scroll, tab: (Tab, bool), ctx: &Paint<'_>) {
    let Paint { theme, keys, .. } = *ctx;
    let (outer, columns) = layout(keys, tab, theme, body);
    let buf = frame.buffer_mut();
    fill(buf, outer, theme.overlay());
    let close = keys.of("close").unwrap_or("esc");
    let notes_text = format!("{close} closes");
    let inner =
        pane(buf, outer, theme.border_focused(), &[("Keys", theme.title())], &[(&notes_text, theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let padded = Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(2), inner.height);
    let tallest = columns.iter().map(|(doc, _)| doc.len()).max().unwrap_or(0);
    let shown = usize::from(padded.height);
    let scroll = scroll.record(tallest.saturating_sub(shown), shown);
    let mut x = padded.x;
    for (column, column_width) in &columns {
        let w = (*column_width).min(padded.right().saturating_sub(x));
        column.render(buf, Rect::new(x, padded.y, w, padded.height), scroll);
        x += w;
    }
    scroll_marks(buf, outer, scroll, usize::from(padded.height), tallest, theme);
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::state::UiState;

    /// At 80×24 the body between the tab bar and the key-hint and status bars is 21
    /// rows: the overlay fits it whole, on every tab, with nothing to scroll.
    #[test]
    fn fits_80_by_24_without_scrolling() {
        let store = netlens_collectors::fake::store();
        let ui = UiState::new();
        let theme = Theme::default();
        for tab in Tab::ALL {
            let mut terminal = Terminal::new(TestBackend::new(80, 21)).unwrap_or_else(|e| panic!("{e}"));
            let mut scroll = Scroll::default();
            terminal
                .draw(|frame| {
                    let now = netlens_collectors::fake::NOW;
                    let ctx = Paint { store: &store, theme: &theme, now, keys: Keys(ui.bindings()) };
                    render(frame, frame.area(), &mut scroll, (tab, false), &ctx);
                })
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(scroll.drawn.map(|(overflow, _)| overflow), Some(0), "{tab:?} scrolls");
            let screen: String =
                terminal.backend().buffer().content().iter().map(ratatui::buffer::Cell::symbol).collect();
            // The only ellipsis is the one in `1 … 7`: nothing is cut.
            assert_eq!(screen.matches('…').count(), 1, "{tab:?}: something is cut:\n{screen}");
            for needed in ["! ", "~ ", "first/last", "g home G end", "o", "group, closed", "add a target"] {
                assert!(screen.contains(needed), "{tab:?}: {needed} missing:\n{screen}");
            }
        }
    }
}
