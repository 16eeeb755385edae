//! Timeline entries as table rows: age, time, source, kind, subject, and the sentence
//! with a ×N badge for coalesced bursts.

use std::fmt;

use netlens_collectors::model::{TimelineEntry, TimelineKind, Timestamp};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::table::{Column, Layout, Row, header};
use super::text::{Scratch, put, width};
use crate::format::{Clock, Span};
use crate::theme::Theme;

/// Column indexes into [`FULL`] and [`COMPACT`]: both list the same columns, the
/// compact one only ranks them for a small box.
const AGE: usize = 0;
const TIME: usize = 1;
const SOURCE: usize = 2;
const KIND: usize = 3;
const SUBJECT: usize = 4;
const EVENT: usize = 5;

/// The Events tab's columns: the sentence matters most, the clock time least.
pub(crate) const FULL: [Column; 6] = [
    Column::right("AGE", 6, 0),
    Column::left("TIME", 8, 8, 5, 9),
    Column::left("SOURCE", 11, 11, 4, 9),
    Column::left("KIND", 13, 18, 1, 0),
    Column::left("SUBJECT", 8, 14, 2, 1),
    Column::left("EVENT", 42, u16::MAX, 0, 2),
];

/// The Overview's latest events: age, kind and sentence.
pub(crate) const COMPACT: [Column; 6] = [
    Column::right("AGE", 6, 0),
    Column::left("TIME", 8, 8, 4, 9),
    Column::left("SOURCE", 11, 11, 5, 9),
    Column::left("KIND", 13, 18, 2, 0),
    Column::left("SUBJECT", 8, 14, 6, 1),
    Column::left("EVENT", 52, u16::MAX, 0, 2),
];

/// A half-width box (the Overview beside its top talkers at 80×24): age and sentence.
pub(crate) const NARROW: [Column; 6] = [
    Column::right("AGE", 6, 0),
    Column::left("TIME", 8, 8, 5, 9),
    Column::left("SOURCE", 11, 11, 6, 9),
    Column::left("KIND", 13, 18, 3, 9),
    Column::left("SUBJECT", 8, 14, 7, 1),
    Column::left("EVENT", 32, u16::MAX, 0, 0),
];

/// Age without "ago", for a column headed AGE: `now`, `12s`, `1m28s`, `-2s`.
struct Age {
    at: Timestamp,
    now: Timestamp,
}

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = (self.now - self.at).whole_seconds();
        match seconds {
            0 => f.write_str("now"),
            s if s > 0 => Span(s.unsigned_abs()).fmt(f),
            s => write!(f, "-{}", Span(s.unsigned_abs())),
        }
    }
}

/// The colour a kind of change reads in: additions healthy, removals broken, changes
/// worth a look, bookkeeping neutral.
pub(crate) const fn kind_style(theme: &Theme, kind: TimelineKind) -> Style {
    use TimelineKind as K;
    match kind {
        K::LinkAdded | K::AddressAdded | K::RouteAdded | K::RuleAdded => theme.ok(),
        K::LinkRemoved | K::AddressRemoved | K::RouteRemoved | K::RuleRemoved | K::NeighborRemoved => {
            theme.error()
        }
        K::LinkChanged
        | K::LinkRenamed
        | K::AddressChanged
        | K::NeighborChanged
        | K::Resynced
        | K::ConnectionWarning
        | K::PathStatus
        | K::PathMoved
        | K::DnsConfig
        | K::DnsChange
        | K::Finding => theme.warn(),
        // A burst is explained, never alarmed about (DESIGN.md §1, note 7).
        K::SourceStatus | K::Export | K::Notice | K::ConnectionBurst => theme.info(),
    }
}

/// Draw a heading (if `with_header`) and one row per entry into `area`; `selected` is
/// the position of the selected entry among `entries`.
#[expect(clippy::too_many_arguments, reason = "a drawing call: each argument is one input of the frame")]
pub(crate) fn render<'e>(
    buf: &mut Buffer,
    area: Rect,
    theme: &Theme,
    now: Timestamp,
    columns: &[Column],
    with_header: bool,
    entries: impl Iterator<Item = &'e TimelineEntry>,
    selected: Option<usize>,
) {
    if area.is_empty() {
        return;
    }
    let layout = Layout::new(columns, area.x, area.width);
    let mut y = area.y;
    if with_header {
        header(buf, y, columns, &layout, theme, None);
        y += 1;
    }
    let mut scratch = Scratch::default();
    for (i, entry) in entries.enumerate() {
        if y >= area.bottom() {
            break;
        }
        let selection = (selected == Some(i)).then(|| theme.selection());
        let mut row = Row::new(buf, area, y, &layout, columns, selection, &mut scratch);
        row.display(AGE, Age { at: entry.at, now }, theme.muted());
        row.display(TIME, Clock(entry.at), theme.muted());
        row.text(SOURCE, entry.source.as_str(), theme.muted());
        row.text(KIND, entry.kind.as_str(), kind_style(theme, entry.kind));
        row.text(SUBJECT, &entry.subject, theme.text());
        sentence(&mut row, entry, theme);
        y += 1;
    }
}

/// The sentence, then `×N` when a burst was folded into this entry.
fn sentence(row: &mut Row<'_>, entry: &TimelineEntry, theme: &Theme) {
    let Some(slot) = row.slot(EVENT) else { return };
    let (text_style, badge_style) = (row.style(theme.text()), row.style(theme.info()));
    let y = row.y();
    let (buf, scratch) = row.parts();
    if entry.count > 1 {
        let badge = scratch.format(format_args!("×{}", entry.count));
        let badge_width = width(badge) as u16;
        if slot.width > badge_width + 4 {
            let used = put(buf, slot.x, y, slot.width - badge_width - 1, &entry.detail, text_style);
            put(buf, slot.x + used + 1, y, badge_width, badge, badge_style);
            return;
        }
    }
    put(buf, slot.x, y, slot.width, &entry.detail, text_style);
}
