//! The Overview's host box: the host's facts, what netlens holds, the Kernel
//! section, and the sources.

use netlens_collectors::Store;
use netlens_collectors::model::{SourceState, Timestamp};

use super::{LABEL, access, kernel};
use crate::format::{Memory, Span};
use crate::theme::Theme;
use crate::widgets::text::Doc;

/// Host, kernel, load, privileges and the health of each source.
pub(super) fn facts(store: &Store, theme: &Theme, now: Timestamp, width: usize) -> Doc {
    let system = store.system();
    let host = &system.host;
    let mut doc = Doc::default();
    let label = |text: &str| (format!("{text:<LABEL$}"), theme.muted());
    let hostname = if host.hostname.is_empty() { "–".to_owned() } else { host.hostname.clone() };
    doc.line([label("host"), (hostname, theme.accent())]);
    if let Some(netns) = &host.netns {
        doc.line([label("netns"), (netns.clone(), theme.info())]);
    }
    if !host.kernel.is_empty() {
        doc.line([label("kernel"), (host.kernel.clone(), theme.text())]);
    }
    if system.cpus > 0 {
        doc.line([
            label("load"),
            (format!("{:.1}%", system.cpu_pct), theme.text()),
            (format!(" of {} cpus · up {}", system.cpus, Span(system.uptime_s)), theme.muted()),
        ]);
    }
    if system.memory_total_bytes > 0 {
        doc.line([
            label("memory"),
            (Memory(system.memory_used_bytes).to_string(), theme.text()),
            (format!(" of {}", Memory(system.memory_total_bytes)), theme.muted()),
        ]);
    }
    access::lines(&mut doc, &host.privileges, theme);
    kernel::lines(&mut doc, store, theme);
    sources(&mut doc, store, theme, width);
    if let Some(updated) = store.updated_at() {
        doc.line([label("updated"), (crate::format::Ago { at: updated, now }.to_string(), theme.muted())]);
    }
    doc
}

/// The sources: those below full fidelity each on a line with why; the healthy and
/// the off ones by name only, as many to a line as `width` holds.
fn sources(doc: &mut Doc, store: &Store, theme: &Theme, width: usize) {
    let label = |first: bool| (format!("{:<LABEL$}", if first { "sources" } else { "" }), theme.muted());
    let mut first = true;
    for source in store.sources().filter(|s| matches!(s.status, SourceState::Degraded | SourceState::Failed))
    {
        let style = if source.status == SourceState::Failed { theme.error() } else { theme.warn() };
        doc.line([
            label(first),
            ("● ".to_owned(), style),
            (format!("{} ", source.name.as_str()), theme.text()),
            (source.status.as_str().to_owned(), style),
            (format!(" · {}", source.detail), theme.muted()),
        ]);
        first = false;
    }
    let mut line = vec![label(first)];
    let mut used = LABEL;
    for source in store.sources().filter(|s| matches!(s.status, SourceState::Ok | SourceState::Off)) {
        let (dot, style) =
            if source.status == SourceState::Ok { ("● ", theme.ok()) } else { ("○ ", theme.muted()) };
        let name = source.name.as_str();
        let needed = 2 + name.chars().count() + 1;
        if used + needed > width && line.len() > 1 {
            doc.line(std::mem::take(&mut line));
            first = false;
            line.push(label(first));
            used = LABEL;
        }
        line.push((dot.to_owned(), style));
        line.push((format!("{name} "), theme.text()));
        used += needed;
    }
    if line.len() > 1 {
        doc.line(line);
    } else if first {
        doc.line([label(true), ("starting…".to_owned(), theme.muted())]);
    }
}
