//! The help overlay: every key binding in effect (as configured, not as documented),
//! the filter syntax, the prompt's keys and the mouse.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::action::Group;
use crate::context::{Keys, Paint};
use crate::state::{Scroll, Tab};
use crate::theme::Theme;
use crate::widgets::marks::scroll_marks;
use crate::widgets::pane::pane;
use crate::widgets::text::{Doc, fill};

/// The overlay is two columns when its inside is at least this wide.
const TWO_COLUMNS: u16 = 70;
/// Widest the overlay gets.
const MAX_WIDTH: u16 = 96;

/// Width of the keys column.
const KEYS: usize = 10;

/// The bindings of one group. The numbered tab keys share a line when each is a
/// single key, which keeps the overlay on one 80×24 screen.
fn group(keys: Keys<'_>, theme: &Theme, group: Group) -> Doc {
    let mut doc = Doc::default();
    doc.line([(group.title(), theme.title())]);
    let bindings: Vec<_> = keys.all().iter().filter(|b| b.group == group).collect();
    let tab_keys: Vec<&str> = bindings
        .iter()
        .filter(|b| b.action.starts_with("tab_"))
        .filter_map(|b| match b.keys.as_slice() {
            [key] => Some(key.as_str()),
            _ => None,
        })
        .collect();
    let merge_tabs = tab_keys.len() == Tab::ALL.len();
    for binding in &bindings {
        if merge_tabs && binding.action.starts_with("tab_") {
            if binding.action == "tab_1" {
                // Seven keys do not fit the keys column: first … last.
                let keys = match tab_keys.as_slice() {
                    [first, .., last] if tab_keys.len() > 5 => format!("{first} … {last}"),
                    _ => tab_keys.join(" "),
                };
                doc.line([
                    (format!("  {keys:<KEYS$} "), theme.accent()),
                    ("tabs in order".to_owned(), theme.text()),
                ]);
            }
            continue;
        }
        let keys = if binding.keys.is_empty() { "(unbound)".to_owned() } else { binding.keys.join(" ") };
        doc.line([
            (format!("  {keys:<KEYS$} "), theme.accent()),
            (binding.description.to_owned(), theme.text()),
        ]);
    }
    doc
}

/// The filter syntax: the field names of every tab, or on the Connections tab its
/// expression language.
fn filter_terms(theme: &Theme, tab: Tab) -> Doc {
    let mut doc = Doc::default();
    if tab == Tab::Connections {
        doc.line([("Connection filter", theme.title()), ("  every term holds", theme.muted())]);
        for line in [
            "port: lport: rport: proto: state:",
            "proc: pid: user: local: remote:",
            "rtt>100ms rx>1MB tx<10k retrans>0",
            "age>5m  warn  warn:stalled  closed",
            "remote:10.0.0.0/8  !term negates",
        ] {
            doc.line([(format!("  {line}"), theme.accent())]);
        }
        return doc;
    }
    doc.line([("Filter terms", theme.title()), (" field:text or any word", theme.muted())]);
    for (tab, fields) in [
        ("interfaces", "name kind state"),
        ("routes", "table dev proto"),
        ("", "type family"),
        ("paths", "target status dev kind"),
        ("dns", "name proc server type"),
        ("", "rcode"),
        ("events", "source kind subject"),
        ("conns", "port: proc: rtt>100ms …"),
    ] {
        doc.line([(format!("  {tab:<KEYS$} "), theme.muted()), (fields.to_owned(), theme.accent())]);
    }
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
    doc.line(pair("  enter", " apply · ", "esc", " cancel"));
    doc.line(pair("  ctrl-u", " clear · ", "ctrl-w", " word"));
    doc.line(pair("  click", " a tab · ", "wheel", " moves"));
    doc
}

/// The overlay's columns for an inside `width` wide.
fn columns(keys: Keys<'_>, tab: Tab, theme: &Theme, width: u16) -> Vec<Doc> {
    let join = |blocks: Vec<Doc>| {
        let mut doc = Doc::default();
        for block in blocks {
            if doc.len() > 0 {
                doc.blank();
            }
            doc.append(block);
        }
        doc
    };
    let (views, moves, tables, paths, dns, general) = (
        group(keys, theme, Group::Views),
        group(keys, theme, Group::Move),
        group(keys, theme, Group::Tables),
        group(keys, theme, Group::Paths),
        group(keys, theme, Group::Dns),
        group(keys, theme, Group::General),
    );
    if width >= TWO_COLUMNS {
        vec![
            join(vec![views, moves, general, paths]),
            join(vec![tables, dns, filter_terms(theme, tab), prompt_and_mouse(theme)]),
        ]
    } else {
        vec![join(vec![
            views,
            moves,
            tables,
            paths,
            dns,
            general,
            filter_terms(theme, tab),
            prompt_and_mouse(theme),
        ])]
    }
}

/// The overlay box inside `body` (the area between the tab bar and the status bar),
/// and the columns it holds.
fn layout(keys: Keys<'_>, tab: Tab, theme: &Theme, body: Rect) -> (Rect, Vec<Doc>) {
    let width = body.width.min(MAX_WIDTH);
    let columns = columns(keys, tab, theme, width.saturating_sub(4));
    let tallest = columns.iter().map(Doc::len).max().unwrap_or(0);
    let mut height = body.height.min(tallest as u16 + 2);
    // A box a row or two short of the pane would leave slivers of its border showing.
    if body.height - height <= 2 {
        height = body.height;
    }
    let outer =
        Rect::new(body.x + (body.width - width) / 2, body.y + (body.height - height) / 2, width, height);
    (outer, columns)
}

/// Draw the overlay over `body` (the keys of `tab`'s filter in it), recording how far
/// it can scroll.
pub(crate) fn render(frame: &mut Frame, body: Rect, scroll: &mut Scroll, tab: Tab, ctx: &Paint<'_>) {
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
    let tallest = columns.iter().map(Doc::len).max().unwrap_or(0);
    let shown = usize::from(padded.height);
    let scroll = scroll.record(tallest.saturating_sub(shown), shown);
    let column_width = padded.width / columns.len().max(1) as u16;
    for (i, column) in columns.iter().enumerate() {
        let x = padded.x + column_width * i as u16;
        column.render(buf, Rect::new(x, padded.y, column_width.saturating_sub(1), padded.height), scroll);
    }
    scroll_marks(buf, outer, scroll, usize::from(padded.height), tallest, theme);
}
