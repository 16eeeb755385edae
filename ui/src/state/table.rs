//! The state every table shares — selection, scroll, sort, filter — and the scroll
//! position of text views (details, the help overlay, the DNS trace).
//!
//! Geometry is not computed here: the view records what it drew (rows shown, lines
//! hidden) into these states, and movement reads that record. Before the first frame
//! nothing is recorded, so movement only moves the cursor and the view scrolls to it.

use super::sort::SortKey;
use crate::widgets::table::scroll;

/// Rows assumed in a page before the first frame said how many show (an 80×24
/// terminal's table).
const FIRST_PAGE: usize = 19;

/// A cursor movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Motion {
    /// Up by this many rows.
    Up(usize),
    /// Down by this many rows.
    Down(usize),
    /// To the first row.
    Top,
    /// To the last row.
    Bottom,
}

impl Motion {
    /// The motion of a movement key, with `page` rows to a page; `None` for any other key.
    pub(crate) const fn of(action: crate::action::Action, page: usize) -> Option<Self> {
        use crate::action::Action;
        match action {
            Action::Up => Some(Self::Up(1)),
            Action::Down => Some(Self::Down(1)),
            Action::PageUp => Some(Self::Up(page)),
            Action::PageDown => Some(Self::Down(page)),
            Action::Top => Some(Self::Top),
            Action::Bottom => Some(Self::Bottom),
            _ => None,
        }
    }

    /// Move `cursor` over `len` rows.
    pub(crate) fn apply(self, cursor: usize, len: usize) -> usize {
        let last = len.saturating_sub(1);
        match self {
            Self::Up(n) => cursor.min(last).saturating_sub(n),
            Self::Down(n) => cursor.saturating_add(n).min(last),
            Self::Top => 0,
            Self::Bottom => last,
        }
    }
}

/// One table: the selected row, the first row drawn, the sort key and direction, the
/// filter, and the rows the last frame showed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableState<S, F> {
    /// The selected row, counted among the rows the filter lets through.
    pub(crate) cursor: usize,
    /// The first row drawn (in display rows, which may include section headings).
    pub(crate) offset: usize,
    /// The sort key.
    pub(crate) sort: S,
    /// Whether `S` reversed the key's natural direction.
    pub(crate) reversed: bool,
    /// The filter typed at `/`.
    pub(crate) filter: F,
    /// Display rows the last frame showed; `None` before the table was drawn.
    pub(crate) shown: Option<usize>,
}

impl<S: SortKey, F> TableState<S, F> {
    /// Whether the rows run largest first.
    pub(crate) fn descending(&self) -> bool {
        self.sort.descending_by_default() != self.reversed
    }

    /// `s`: the next sort key, in its natural direction.
    pub(crate) fn cycle_sort(&mut self) {
        self.sort = self.sort.next();
        self.reversed = false;
    }

    /// `S`: the other direction.
    pub(crate) fn reverse(&mut self) {
        self.reversed = !self.reversed;
    }

    /// Rows a page moves: one less than the rows shown, so a row stays in view.
    pub(crate) fn page(&self) -> usize {
        self.shown.unwrap_or(FIRST_PAGE).saturating_sub(1).max(1)
    }

    /// Display rows shown, when known; the view keeps the cursor in view either way.
    pub(crate) fn visible(&self) -> Option<usize> {
        self.shown
    }

    /// Back to the first row (after the rows changed wholesale).
    pub(crate) fn rewind(&mut self) {
        self.cursor = 0;
        self.offset = 0;
    }

    /// Put the cursor on row `cursor` of `len` rows, one display row per row, scrolling
    /// as little as keeps it in view.
    pub(crate) fn place(&mut self, cursor: usize, len: usize) {
        self.cursor = cursor;
        if let Some(visible) = self.shown {
            self.offset = scroll(self.offset, cursor, visible, len);
        }
    }

    /// Move the cursor over `len` rows, one display row per row.
    pub(crate) fn move_by(&mut self, motion: Motion, len: usize) {
        self.place(motion.apply(self.cursor, len), len);
    }

    /// What the view drew: the first row and the rows shown.
    pub(crate) fn record(&mut self, offset: usize, shown: usize) {
        self.offset = offset;
        self.shown = Some(shown);
    }
}

/// A text view scrolled by lines, with what the last frame said about its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scroll {
    /// Lines scrolled down.
    pub(crate) line: usize,
    /// Lines hidden below the view when it is at the top, and the lines it shows, as
    /// the last frame drew it; `None` before.
    pub(crate) drawn: Option<(usize, usize)>,
}

impl Scroll {
    /// Move by `motion`, stopping at the end when the last frame said where it is.
    pub(crate) fn move_by(&mut self, motion: Motion) {
        let limit = self.drawn.map_or(usize::MAX, |(overflow, _)| overflow);
        self.line = motion.apply(self.line, limit.saturating_add(1));
    }

    /// Lines a page moves: the lines shown, less one.
    pub(crate) fn page(&self) -> usize {
        self.drawn.map_or(FIRST_PAGE, |(_, shown)| shown).saturating_sub(1).max(1)
    }

    /// What the view drew: `overflow` lines hidden at the top, `shown` lines shown; the
    /// position is clamped to the end. Returns the line drawn from.
    pub(crate) fn record(&mut self, overflow: usize, shown: usize) -> usize {
        self.line = self.line.min(overflow);
        self.drawn = Some((overflow, shown));
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{InterfaceSort, Newest};

    #[test]
    fn a_table_scrolls_by_what_the_last_frame_showed() {
        let mut table: TableState<Newest, ()> = TableState::default();
        table.move_by(Motion::Down(30), 100);
        assert_eq!((table.cursor, table.offset), (30, 0), "before a frame only the cursor moves");
        assert_eq!(table.page(), FIRST_PAGE - 1);
        table.record(21, 10);
        assert_eq!(table.page(), 9, "a page keeps one row in view");
        table.move_by(Motion::Down(table.page()), 100);
        assert_eq!((table.cursor, table.offset), (39, 30));
        table.move_by(Motion::Bottom, 100);
        assert_eq!((table.cursor, table.offset), (99, 90));
        table.move_by(Motion::Up(5), 100);
        assert_eq!((table.cursor, table.offset), (94, 90), "no scrolling while the cursor shows");
        table.rewind();
        assert_eq!((table.cursor, table.offset), (0, 0));
    }

    #[test]
    fn sort_keys_cycle_and_reverse() {
        let mut table: TableState<InterfaceSort, ()> = TableState::default();
        assert!(!table.descending());
        table.cycle_sort();
        table.reverse();
        assert_eq!((table.sort, table.descending()), (InterfaceSort::Name, true));
        for _ in 0..4 {
            table.cycle_sort();
        }
        assert_eq!((table.sort, table.descending()), (InterfaceSort::Rx, true), "rates read busiest first");
        assert!(!table.reversed, "a new key starts in its own direction");
    }

    #[test]
    fn a_scroll_stops_where_the_last_frame_ended() {
        let mut view = Scroll::default();
        view.move_by(Motion::Down(3));
        assert_eq!(view.line, 3, "before a frame nothing is known");
        assert_eq!(view.record(2, 10), 2, "the frame clamps it");
        view.move_by(Motion::Down(5));
        assert_eq!(view.line, 2);
        view.move_by(Motion::Up(1));
        assert_eq!(view.line, 1);
        assert_eq!(view.page(), 9);
    }
}
