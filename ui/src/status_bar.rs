//! The status bar: the host, the worst current state of what netlens watches, its own
//! cost, PAUSED, the latest message while it lasts, and where help is.
//!
//! "The worst current state" means what a user would want to hear first: a default
//! path that is not satisfied (`✗ default-ipv4 no_route`), a nameserver losing its
//! queries (`✗ dns 10.0.0.53 4 of 8 timed out`), a failed or degraded source, a user
//! target failing — the worst one named, the rest counted (`+2`). Only when none of
//! them applies does it say `● all ok`.

use netlens_collectors::Store;
use netlens_collectors::model::{PathStatus, SourceState};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::format::Memory;
use crate::panes::dns_summary::worst_server;
use crate::state::{StatusLevel, UiState};
use crate::theme::Theme;
use crate::widgets::text::{fill, put, put_spans, spans_width, width};

/// How bad one thing is; the worst sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    /// Broken: no default path, a failed source, a server losing most queries.
    Error,
    /// Worth a look: one default path of two, a degraded source, a target failing.
    Warning,
}

/// One thing that is not as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trouble {
    /// How bad it is.
    pub(crate) severity: Severity,
    /// What to say, without the mark.
    pub(crate) text: String,
}

/// Everything not as it should be now, the worst first (the order among equals is
/// the order below: paths, DNS, sources, targets).
pub(crate) fn troubles(store: &Store) -> Vec<Trouble> {
    let mut found = Vec::new();
    let defaults: Vec<_> = store.paths().iter().filter(|path| path.is_default_path()).collect();
    let any_default_ok = defaults.iter().any(|path| path.status == PathStatus::Satisfied);
    for path in defaults.iter().filter(|path| path.status != PathStatus::Satisfied) {
        // One family missing while the other works is a warning (many hosts have no
        // IPv6); no default path at all is an error.
        let severity = if any_default_ok { Severity::Warning } else { Severity::Error };
        let why = path.reason.map_or(path.status.as_str(), |reason| reason.as_str());
        found.push(Trouble { severity, text: format!("{} {why}", path.target) });
    }
    if let Some(trouble) = worst_server(store) {
        let severity = if trouble.failing() { Severity::Error } else { Severity::Warning };
        found.push(Trouble { severity, text: format!("dns {} {}", trouble.server, trouble.describe()) });
    }
    for source in store.sources() {
        let severity = match source.status {
            SourceState::Failed => Severity::Error,
            SourceState::Degraded => Severity::Warning,
            SourceState::Ok | SourceState::Off => continue,
        };
        found
            .push(Trouble { severity, text: format!("{} {}", source.name.as_str(), source.status.as_str()) });
    }
    let failing = store
        .paths()
        .iter()
        .filter(|path| !path.is_default_path() && path.status != PathStatus::Satisfied)
        .count();
    if failing > 0 {
        let s = if failing == 1 { "" } else { "s" };
        found.push(Trouble {
            severity: Severity::Warning,
            text: format!("{failing} target{s} not satisfied"),
        });
    }
    // Stable: equals keep the order above.
    found.sort_by_key(|trouble| trouble.severity);
    found
}

/// One piece of the status bar.
struct Segment {
    spans: Vec<(String, Style)>,
    /// Lower is dropped later when the bar is too narrow.
    keep: u8,
}

impl Segment {
    fn width(&self) -> u16 {
        self.spans.iter().map(|(text, _)| width(text) as u16).sum()
    }
}

/// Draw the status bar on `row`, with the message of `ui` (already aged by
/// [`UiState::expire_status`]).
pub(crate) fn render(buf: &mut Buffer, row: Rect, store: &Store, ui: &UiState, theme: &Theme) {
    let bar = theme.status_bar();
    fill(buf, row, bar);
    let host = &store.system().host;
    let mut left = Vec::new();
    if let Some(view) = &ui.read_only {
        left.push(read_only_segment(view, theme, bar));
    } else if ui.paused {
        left.push(Segment { spans: vec![(" PAUSED ".to_owned(), theme.paused())], keep: 0 });
    }
    let hostname = if host.hostname.is_empty() { "netlens" } else { host.hostname.as_str() };
    left.push(Segment { spans: vec![(hostname.to_owned(), bar.patch(theme.accent()))], keep: 2 });
    if let Some(netns) = &host.netns {
        left.push(Segment {
            spans: vec![
                ("netns ".to_owned(), bar.patch(theme.muted())),
                (netns.clone(), bar.patch(theme.info())),
            ],
            keep: 1,
        });
    }
    let health = health_segment(store, theme, bar);
    if !health.spans.is_empty() {
        left.push(health);
    }
    if let Some(segment) = findings_segment(store, theme, bar) {
        left.push(segment);
    }
    let usage = store.usage();
    if usage.rss_bytes > 0 {
        left.push(Segment {
            spans: vec![
                ("netlens ".to_owned(), bar.patch(theme.muted())),
                (format!("{:.1}% {}", usage.cpu_pct, Memory(usage.rss_bytes)), bar),
            ],
            keep: 5,
        });
    }
    let help_key = ui.keys_of("help").unwrap_or("?");
    let help = Segment {
        spans: vec![
            (help_key.to_owned(), bar.patch(theme.accent())),
            (" help ".to_owned(), bar.patch(theme.muted())),
        ],
        keep: 1,
    };
    let message = ui.status.as_ref().map(|status| {
        let style = match status.level {
            StatusLevel::Info => theme.info(),
            StatusLevel::Success => theme.ok(),
            StatusLevel::Warning => theme.warn(),
            StatusLevel::Error => theme.error(),
        };
        (status.text.as_str(), bar.patch(style))
    });

    // Drop the least important segments until the rest plus a readable message fit.
    let separator = 3;
    let message_min = message.map_or(0, |(text, _)| (width(text) as u16).min(24));
    loop {
        let used: u16 = left.iter().map(|s| s.width() + separator).sum::<u16>() + help.width() + 1;
        if used + message_min <= row.width || left.len() <= 1 {
            break;
        }
        let Some(drop) = left.iter().enumerate().max_by_key(|(_, s)| s.keep).map(|(i, _)| i) else { break };
        left.remove(drop);
    }
    let mut x = row.x + 1;
    for (i, segment) in left.iter().enumerate() {
        if i > 0 {
            x += put(buf, x, row.y, row.right().saturating_sub(x), " │ ", bar.patch(theme.border()));
        }
        let spans: Vec<(&str, Style)> = segment.spans.iter().map(|(t, s)| (t.as_str(), *s)).collect();
        x += put_spans(buf, x, row.y, row.right().saturating_sub(x), &spans);
    }
    if message.is_some() {
        x += put(buf, x, row.y, row.right().saturating_sub(x), " │ ", bar.patch(theme.border()));
    }
    let help_spans: Vec<(&str, Style)> = help.spans.iter().map(|(t, s)| (t.as_str(), *s)).collect();
    let help_width = spans_width(&help_spans) as u16;
    let help_x = row.right().saturating_sub(help_width);
    if help_x > x {
        put_spans(buf, help_x, row.y, help_width, &help_spans);
    }
    if let Some((text, style)) = message {
        put(buf, x, row.y, help_x.saturating_sub(x + 1), text, style);
    }
}

/// A replay's cursor, `▶ 4× 03:12:07 +12:07/1:00:00 1,234/56,789 rec.nlj`, or the
/// snapshot shown: never dropped, it says the screen is not the live host.
fn read_only_segment(view: &crate::replay::ReadOnly, theme: &Theme, bar: Style) -> Segment {
    let Some(cursor) = &view.cursor else {
        return Segment {
            spans: vec![
                (" READ-ONLY ".to_owned(), theme.paused()),
                (format!(" {}", view.source), bar.patch(theme.info())),
            ],
            keep: 0,
        };
    };
    let mark = if cursor.playing { "▶" } else { "‖" };
    let clock = cursor.at.to_offset(time::UtcOffset::UTC);
    let time = format!("{:02}:{:02}:{:02}", clock.hour(), clock.minute(), clock.second());
    Segment {
        spans: vec![
            (format!(" {mark} {} ", cursor.speed), theme.paused()),
            (format!(" {time}"), bar.patch(theme.accent())),
            (
                format!(
                    " +{}/{}",
                    crate::replay::clock(cursor.at - cursor.first),
                    crate::replay::clock(cursor.last - cursor.first)
                ),
                bar,
            ),
            (format!(" #{}/{}", cursor.position, cursor.total), bar.patch(theme.muted())),
            (format!(" {}", view.source), bar.patch(theme.info())),
        ],
        keep: 0,
    }
}

/// How many findings are open, marked as the worst of them: `✗ 3 findings`.
fn findings_segment(store: &Store, theme: &Theme, bar: Style) -> Option<Segment> {
    let open = store.findings().open();
    let worst = open.first()?;
    let (mark, style) = crate::panes::findings::mark(worst.severity, theme);
    let s = if open.len() == 1 { "" } else { "s" };
    Some(Segment {
        spans: vec![
            (format!("{mark} "), bar.patch(style)),
            (format!("{} finding{s}", open.len()), bar.patch(style)),
        ],
        keep: 1,
    })
}

/// `● all ok`, or the worst trouble with how many more there are.
fn health_segment(store: &Store, theme: &Theme, bar: Style) -> Segment {
    let mut spans = Vec::new();
    let found = troubles(store);
    match found.first() {
        None if store.sources().next().is_none() => {
            spans.push(("○ sources starting".to_owned(), bar.patch(theme.muted())));
        }
        // Open findings say what is wrong in their own segment; "all ok" beside them
        // would contradict it.
        None if !store.findings().open().is_empty() => {}
        None => {
            spans.push(("● ".to_owned(), bar.patch(theme.ok())));
            spans.push(("all ok".to_owned(), bar));
        }
        Some(worst) => {
            let (mark, style) = match worst.severity {
                Severity::Error => ("✗ ", theme.error()),
                Severity::Warning => ("⚠ ", theme.warn()),
            };
            spans.push((mark.to_owned(), bar.patch(style)));
            spans.push((worst.text.clone(), bar.patch(style)));
            if found.len() > 1 {
                spans.push((format!(" +{}", found.len() - 1), bar.patch(theme.muted())));
            }
        }
    }
    Segment { spans, keep: 1 }
}

#[cfg(test)]
mod tests;
