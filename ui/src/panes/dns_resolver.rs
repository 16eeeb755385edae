//! The DNS tab's resolver box: nameservers, search list, options, host sources and
//! address selection, with what is wrong with them.

use netlens_collectors::Store;
use netlens_collectors::model::{ResolverConfig, SourceId, SourceState};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::theme::Theme;
use crate::widgets::banner::source_banner;
use crate::widgets::pane::pane;
use crate::widgets::text::{Doc, wrap};

/// Label column of the resolver box.
const LABEL: usize = 12;

/// Rows the resolver box wants (borders included) for lines `room` cells wide.
pub(crate) fn resolver_height(
    store: &Store,
    theme: &Theme,
    compact: bool,
    warning_lines: usize,
    room: usize,
) -> u16 {
    let banner = store
        .source(SourceId::Dns)
        .is_some_and(|s| matches!(s.status, SourceState::Degraded | SourceState::Failed));
    resolver_doc(store, theme, compact, warning_lines, room).len() as u16 + 2 + u16::from(banner)
}

fn label(text: &str) -> String {
    format!("{text:<LABEL$}")
}

/// `127.0.0.53 10.9.9.9 (stub → 10.0.0.53 10.0.1.53)`.
fn nameserver_spans(config: &ResolverConfig, theme: &Theme) -> Vec<(String, Style)> {
    let mut spans = Vec::new();
    if config.nameservers.is_empty() {
        spans.push(("none: glibc asks 127.0.0.1".to_owned(), theme.warn()));
        return spans;
    }
    spans.push((list(&config.nameservers), theme.accent()));
    if config.stub {
        spans.push((" (stub → ".to_owned(), theme.muted()));
        if config.upstreams.is_empty() {
            spans.push(("upstreams unknown".to_owned(), theme.muted()));
        } else {
            spans.push((list(&config.upstreams), theme.text()));
        }
        spans.push((")".to_owned(), theme.muted()));
    }
    spans
}

/// Items separated by spaces.
fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// `timeout 2s · attempts 2`: how long one server is waited for, and how many rounds.
fn limits_text(config: &ResolverConfig) -> String {
    format!("timeout {}s · attempts {}", config.timeout_s, config.attempts)
}

/// Every other option as written (`edns0 trust-ad rotate`); ndots, timeout and
/// attempts are shown on their own.
fn other_options(config: &ResolverConfig) -> String {
    let others: Vec<&str> = config
        .options
        .iter()
        .map(String::as_str)
        .filter(|option| !["ndots:", "timeout:", "attempts:"].iter().any(|shown| option.starts_with(shown)))
        .collect();
    others.join(" ")
}

/// `ndots 1 · timeout 2s · attempts 2 · edns0 trust-ad`: the three that shape a lookup,
/// then every other option as written.
fn options_text(config: &ResolverConfig) -> String {
    let mut text = format!("ndots {} · {}", config.ndots, limits_text(config));
    let others = other_options(config);
    if !others.is_empty() {
        text.push_str(" · ");
        text.push_str(&others);
    }
    text
}

/// The hosts sources in nsswitch order without their `[STATUS=action]` items, for
/// the compact box.
fn hosts_sources(config: &ResolverConfig) -> String {
    let words: Vec<&str> = config
        .hosts_order
        .iter()
        .flat_map(|entry| entry.split_whitespace())
        .filter(|word| !word.starts_with('['))
        .collect();
    words.join(" ")
}

/// `RFC 6724 defaults`, or how many rules gai.conf sets.
fn gai_text(config: &ResolverConfig) -> String {
    match config.gai_rules.len() {
        0 => "RFC 6724 defaults".to_owned(),
        1 => "1 rule".to_owned(),
        n => format!("{n} rules"),
    }
}

/// The configuration as lines: every fact on its own line with the warnings wrapped
/// to `room` cells, or (`compact`) in two lines and at most `warning_lines` warnings,
/// cut at the edge.
pub(crate) fn resolver_doc(
    store: &Store,
    theme: &Theme,
    compact: bool,
    warning_lines: usize,
    room: usize,
) -> Doc {
    let dns = store.dns();
    let mut doc = Doc::default();
    let Some(config) = dns.config() else {
        let (text, style) = match store.source(SourceId::Dns) {
            Some(status) if status.status != SourceState::Ok => {
                let style = if status.status == SourceState::Failed { theme.error() } else { theme.muted() };
                (format!("dns source {}: {}", status.status.as_str(), status.detail), style)
            }
            _ => ("waiting for the first resolver read…".to_owned(), theme.muted()),
        };
        doc.line([(text, style)]);
        return doc;
    };
    let search = if config.search.is_empty() { "(none)".to_owned() } else { config.search.join(" ") };
    let nat64 = dns.dns64().and_then(|report| report.prefix.clone());
    if compact {
        // Most telling first on each line, so a narrow screen cuts the least.
        let mut first = nameserver_spans(config, theme);
        if let Some(prefix) = nat64 {
            first.push((" · NAT64 ".to_owned(), theme.muted()));
            first.push((prefix, theme.info()));
        }
        doc.line(first);
        let mut second = vec![
            ("search ".to_owned(), theme.muted()),
            (search, theme.text()),
            (format!(" · ndots {}", config.ndots), theme.text()),
            (" · hosts ".to_owned(), theme.muted()),
            (hosts_sources(config), theme.text()),
            (format!(" · {}", limits_text(config)), theme.text()),
        ];
        let others = other_options(config);
        if !others.is_empty() {
            second.push((format!(" · {others}"), theme.text()));
        }
        second.push((" · gai ".to_owned(), theme.muted()));
        second.push((gai_text(config), theme.text()));
        doc.line(second);
        let warnings = dns.warnings();
        // Each warning on its own line while they fit; the last line sums up the rest.
        let whole =
            if warnings.len() <= warning_lines { warnings.len() } else { warning_lines.saturating_sub(1) };
        for warning in &warnings[..whole] {
            doc.line([(format!("⚠ {warning}"), theme.warn())]);
        }
        if let Some(next) = warnings.get(whole) {
            let count = warnings.len() - whole;
            let prefix =
                if whole == 0 { format!("⚠ {count} warnings: ") } else { format!("⚠ {count} more: ") };
            doc.line([(prefix, theme.warn()), (next.clone(), theme.warn())]);
        }
        return doc;
    }
    let mut servers = vec![(label("nameservers"), theme.muted())];
    servers.extend(nameserver_spans(config, theme));
    doc.line(servers);
    doc.line([(label("search"), theme.muted()), (search, theme.text())]);
    doc.line([(label("options"), theme.muted()), (options_text(config), theme.text())]);
    doc.line([
        (label("hosts"), theme.muted()),
        (config.hosts_order.join(" "), theme.text()),
        (" · gai.conf ".to_owned(), theme.muted()),
        (gai_text(config), theme.text()),
    ]);
    // Each warning whole (it says how to fix what it names), before the lines a short
    // box may cut.
    for warning in dns.warnings() {
        for (i, part) in wrap(warning, room.saturating_sub(2).max(20)).into_iter().enumerate() {
            let mark = if i == 0 { "⚠ " } else { "  " };
            doc.line([(format!("{mark}{part}"), theme.warn())]);
        }
    }
    if let Some(prefix) = nat64 {
        doc.line([
            (label("NAT64"), theme.muted()),
            (prefix, theme.info()),
            (" · DNS64 synthesises AAAA".to_owned(), theme.muted()),
        ]);
    }
    doc.line([(label("read"), theme.muted()), (config.sources.join("  "), theme.muted())]);
    doc
}

/// The resolver box.
pub(crate) fn resolver(
    buf: &mut Buffer,
    area: Rect,
    store: &Store,
    theme: &Theme,
    compact: bool,
    warning_lines: usize,
) {
    if area.is_empty() {
        return;
    }
    let files = store.dns().config().map(|config| config.sources.len()).unwrap_or_default();
    let read = match files {
        0 => String::new(),
        1 => "1 file read".to_owned(),
        n => format!("{n} files read"),
    };
    let notes: &[(&str, Style)] = if compact { &[(read.as_str(), theme.muted())] } else { &[] };
    let inner = pane(buf, area, theme.border(), &[("Resolver", theme.title())], notes);
    let inner = source_banner(buf, inner, store, SourceId::Dns, theme);
    if inner.is_empty() {
        return;
    }
    let padded = Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(1), inner.height);
    resolver_doc(store, theme, compact, warning_lines, usize::from(padded.width)).render(buf, padded, 0);
}
