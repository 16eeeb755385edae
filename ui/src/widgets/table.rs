//! A sortable table that builds only the rows on screen.
//!
//! Columns declare a minimum and maximum width and two ranks: `keep` decides which
//! columns survive on a narrow screen (lower stays longer), `grow` which get the spare
//! width first. The caller draws each visible row through a [`Row`], which clips and
//! truncates every cell and paints the selection.

use std::fmt;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::text::{Align, Scratch, fill, put, put_aligned, width};
use crate::theme::Theme;

/// Most columns any table has.
pub(crate) const MAX_COLUMNS: usize = 12;

/// One column of a table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    /// Heading.
    pub title: &'static str,
    /// Narrowest useful width.
    pub min: u16,
    /// Widest useful width.
    pub max: u16,
    /// Lower ranks are dropped last when the screen is narrow.
    pub keep: u8,
    /// Lower ranks get spare width first.
    pub grow: u8,
    /// Alignment of the heading and cells.
    pub align: Align,
}

impl Column {
    /// A left-aligned column.
    pub(crate) const fn left(title: &'static str, min: u16, max: u16, keep: u8, grow: u8) -> Self {
        Self { title, min, max, keep, grow, align: Align::Left }
    }

    /// A right-aligned (numeric) column of fixed width.
    pub(crate) const fn right(title: &'static str, width: u16, keep: u8) -> Self {
        Self { title, min: width, max: width, keep, grow: u8::MAX, align: Align::Right }
    }
}

/// Where a column landed on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    /// First cell.
    pub x: u16,
    /// Width in cells.
    pub width: u16,
}

/// The columns that fit in a width, and where.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    slots: [Option<Slot>; MAX_COLUMNS],
}

impl Layout {
    /// Fit `columns` into `width` cells starting at `x`, one blank cell between columns,
    /// each column as wide as it declares (see [`Layout::fit`] for content-sized ones).
    pub(crate) fn new(columns: &[Column], x: u16, width: u16) -> Self {
        Self::fit(columns, &Measure::default(), x, width)
    }

    /// Fit `columns` into `width` cells starting at `x`, sized to what `measure` saw in
    /// the rows on screen. A measured column wants its widest cell (or its heading, if
    /// wider), capped at its maximum, and may shrink below its declared minimum to that;
    /// a measured column with nothing in it is left out.
    ///
    /// 1. Columns are taken in `keep` order while their minimum fits.
    /// 2. The spare width brings them to what they want, in `grow` order: the
    ///    flexible (text) columns are the ones cut when the screen is narrow.
    /// 3. While a column the table cannot do without (`keep` 0) is cut, the least
    ///    important rank of columns shown gives its room away, if that makes it
    ///    whole: a peer's name is worth more than the local port, a pid suffix is not
    ///    worth the RTT.
    /// 4. What is left is spread evenly over the measured columns still under their
    ///    maximum, so the table spans the width without cutting anything.
    pub(crate) fn fit(columns: &[Column], measure: &Measure, x: u16, width: u16) -> Self {
        let n = columns.len().min(MAX_COLUMNS);
        let mut want = [0_u16; MAX_COLUMNS];
        for (i, column) in columns.iter().enumerate().take(n) {
            want[i] = match measure.widths[i] {
                None => column.max,
                Some(0) => 0,
                Some(cells) => cells.max(heading_width(column)).min(column.max),
            };
        }
        let columns = &columns[..n];
        let (mut widths, mut included, mut spare) = place(columns, measure, &want, u8::MAX, width);
        // Each round leaves out at least one more rank, so this ends within `n` rounds.
        loop {
            let cut = (0..n).find(|&i| {
                included[i] && columns[i].keep == 0 && measure.widths[i].is_some() && widths[i] < want[i]
            });
            let Some(cut) = cut else { break };
            let Some(rank) =
                (0..n).filter(|&i| included[i]).map(|i| columns[i].keep).max().filter(|&k| k > 0)
            else {
                break;
            };
            let trial = place(columns, measure, &want, rank, width);
            if trial.0[cut] < want[cut] {
                break;
            }
            (widths, included, spare) = trial;
        }
        let mut order: [usize; MAX_COLUMNS] = std::array::from_fn(|i| i);
        order[..n].sort_by_key(|&i| (columns[i].grow, i));
        // Even shares, a cell at a time past the first round, so no column takes it all.
        let open = |i: usize, widths: &[u16; MAX_COLUMNS]| {
            included[i] && measure.widths[i].is_some() && widths[i] < columns[i].max
        };
        while spare > 0 {
            let takers = order[..n].iter().filter(|&&i| open(i, &widths)).count() as u16;
            if takers == 0 {
                break;
            }
            let each = (spare / takers).max(1);
            for &i in &order[..n] {
                if spare > 0 && open(i, &widths) {
                    let add = each.min(columns[i].max - widths[i]).min(spare);
                    widths[i] += add;
                    spare -= add;
                }
            }
        }
        let mut slots = [None; MAX_COLUMNS];
        let mut cx = x;
        for i in 0..n {
            if included[i] {
                slots[i] = Some(Slot { x: cx, width: widths[i] });
                cx += widths[i] + 1;
            }
        }
        Self { slots }
    }

    /// Where column `i` is, if it is shown.
    pub(crate) fn slot(&self, i: usize) -> Option<Slot> {
        self.slots.get(i).copied().flatten()
    }
}

/// Steps 1 and 2 of [`Layout::fit`]: the columns ranked below `limit` that fit at their
/// minimum, grown towards what they `want`; with the cells left over.
fn place(
    columns: &[Column],
    measure: &Measure,
    want: &[u16; MAX_COLUMNS],
    limit: u8,
    width: u16,
) -> ([u16; MAX_COLUMNS], [bool; MAX_COLUMNS], u16) {
    let n = columns.len();
    let floor = |i: usize| columns[i].min.min(want[i]);
    let mut widths = [0_u16; MAX_COLUMNS];
    let mut included = [false; MAX_COLUMNS];
    let mut order: [usize; MAX_COLUMNS] = std::array::from_fn(|i| i);
    order[..n].sort_by_key(|&i| (columns[i].keep, i));
    let mut used = 0_u16;
    let mut count = 0;
    for &i in &order[..n] {
        if want[i] == 0 || columns[i].keep >= limit {
            continue;
        }
        let need = floor(i) + u16::from(count > 0);
        if used + need <= width {
            included[i] = true;
            widths[i] = floor(i);
            used += need;
            count += 1;
        }
    }
    if count == 0 && n > 0 && width > 0 {
        // Not even the most important column fits: show what there is of it.
        if let Some(&first) = order[..n].iter().find(|&&i| want[i] > 0) {
            included[first] = true;
            widths[first] = width;
            used = width;
        }
    }
    let mut spare = width - used;
    // Measured columns the table cannot do without get their content first.
    order[..n].sort_by_key(|&i| (!(columns[i].keep == 0 && measure.widths[i].is_some()), columns[i].grow, i));
    for &i in &order[..n] {
        if included[i] && spare > 0 {
            let add = spare.min(want[i].saturating_sub(widths[i]));
            widths[i] += add;
            spare -= add;
        }
    }
    (widths, included, spare)
}

/// The widest cell seen per column in the rows on screen, for [`Layout::fit`]. A
/// column never measured keeps its declared width.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Measure {
    widths: [Option<u16>; MAX_COLUMNS],
}

impl Measure {
    /// Measure `columns` (and only those) by their content; they start empty.
    pub(crate) fn of(columns: &[usize]) -> Self {
        let mut measure = Self::default();
        for &i in columns {
            if let Some(slot) = measure.widths.get_mut(i) {
                *slot = Some(0);
            }
        }
        measure
    }

    /// A cell of `cells` width in column `i` (ignored if `i` is not measured).
    pub(crate) fn cell(&mut self, i: usize, cells: usize) {
        if let Some(Some(widest)) = self.widths.get_mut(i) {
            *widest = (*widest).max(u16::try_from(cells).unwrap_or(u16::MAX));
        }
    }

    /// A cell holding `text` in column `i`.
    pub(crate) fn text(&mut self, i: usize, text: &str) {
        self.cell(i, width(text));
    }
}

/// The cells a heading takes, with one for the sort arrow.
fn heading_width(column: &Column) -> u16 {
    u16::try_from(width(column.title) + 1).unwrap_or(u16::MAX)
}

/// Draw the headings on row `y`; `sorted` marks a column with ▲ (ascending) or ▼.
pub(crate) fn header(
    buf: &mut Buffer,
    y: u16,
    columns: &[Column],
    layout: &Layout,
    theme: &Theme,
    sorted: Option<(usize, bool)>,
) {
    for (i, column) in columns.iter().enumerate() {
        let Some(slot) = layout.slot(i) else { continue };
        match sorted {
            Some((index, descending)) if index == i && slot.width > 1 => {
                let arrow = if descending { "▼" } else { "▲" };
                let title_width = (column.title.len() as u16).min(slot.width - 1);
                let x = match column.align {
                    Align::Left => slot.x,
                    Align::Right => slot.x + slot.width - 1 - title_width,
                };
                put(buf, x, y, title_width, column.title, theme.header().patch(theme.accent()));
                put(buf, x + title_width, y, 1, arrow, theme.accent());
            }
            _ => put_aligned(buf, slot.x, y, slot.width, column.title, theme.header(), column.align),
        }
    }
}

/// One visible row being drawn.
pub(crate) struct Row<'a> {
    buf: &'a mut Buffer,
    y: u16,
    layout: &'a Layout,
    columns: &'a [Column],
    selection: Option<Style>,
    scratch: &'a mut Scratch,
}

impl<'a> Row<'a> {
    /// Start drawing row `y` across `area`'s width; a selected row is painted first.
    pub(crate) fn new(
        buf: &'a mut Buffer,
        area: Rect,
        y: u16,
        layout: &'a Layout,
        columns: &'a [Column],
        selection: Option<Style>,
        scratch: &'a mut Scratch,
    ) -> Self {
        if let Some(style) = selection {
            fill(buf, Rect::new(area.x, y, area.width, 1), style);
        }
        Self { buf, y, layout, columns, selection, scratch }
    }

    /// The style text gets: its own, or the selection's on the selected row (colours
    /// that carry meaning would be unreadable on every theme's selection otherwise).
    pub(crate) fn style(&self, style: Style) -> Style {
        self.selection.unwrap_or(style)
    }

    /// Where column `i` is, if shown.
    pub(crate) fn slot(&self, i: usize) -> Option<Slot> {
        self.layout.slot(i)
    }

    /// The row's line.
    pub(crate) const fn y(&self) -> u16 {
        self.y
    }

    /// The buffer, for cells drawn by hand (sparklines, lists of addresses).
    pub(crate) fn buf(&mut self) -> &mut Buffer {
        self.buf
    }

    /// Write text into column `i`.
    pub(crate) fn text(&mut self, i: usize, text: &str, style: Style) {
        let Some(slot) = self.layout.slot(i) else { return };
        let align = self.columns.get(i).map_or(Align::Left, |c| c.align);
        let style = self.style(style);
        put_aligned(self.buf, slot.x, self.y, slot.width, text, style, align);
    }

    /// Format `value` into column `i` without allocating.
    pub(crate) fn display(&mut self, i: usize, value: impl fmt::Display, style: Style) {
        let Some(slot) = self.layout.slot(i) else { return };
        let align = self.columns.get(i).map_or(Align::Left, |c| c.align);
        let style = self.style(style);
        let text = self.scratch.format(value);
        put_aligned(self.buf, slot.x, self.y, slot.width, text, style, align);
    }

    /// The scratch buffer and the buffer together, for cells assembled piece by piece.
    pub(crate) fn parts(&mut self) -> (&mut Buffer, &mut Scratch) {
        (self.buf, self.scratch)
    }
}

/// The first row to draw so that display row `target` is visible in `visible` rows,
/// starting from the remembered `offset` and never leaving blank rows at the bottom.
pub(crate) fn scroll(offset: usize, target: usize, visible: usize, total: usize) -> usize {
    if visible == 0 {
        return target;
    }
    let offset = if target < offset {
        target
    } else if target >= offset + visible {
        target + 1 - visible
    } else {
        offset
    };
    offset.min(total.saturating_sub(visible))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [Column; 4] = [
        Column::left("NAME", 6, 10, 0, 1),
        Column::left("ADDR", 8, 30, 1, 0),
        Column::right("RX", 5, 0),
        Column::left("SPARK", 10, 20, 2, 2),
    ];

    fn widths(layout: &Layout) -> Vec<Option<u16>> {
        (0..COLUMNS.len()).map(|i| layout.slot(i).map(|s| s.width)).collect()
    }

    #[test]
    fn narrow_screens_drop_low_priority_columns() {
        // NAME 6 + RX 5 + gap = 12; ADDR needs 9 more.
        assert_eq!(widths(&Layout::new(&COLUMNS, 0, 12)), [Some(6), None, Some(5), None]);
        assert_eq!(widths(&Layout::new(&COLUMNS, 0, 21)), [Some(6), Some(8), Some(5), None]);
        // Spare width goes to ADDR (grow 0) before NAME (grow 1).
        assert_eq!(widths(&Layout::new(&COLUMNS, 0, 25)), [Some(6), Some(12), Some(5), None]);
        let wide = Layout::new(&COLUMNS, 2, 80);
        assert_eq!(widths(&wide), [Some(10), Some(30), Some(5), Some(20)]);
        assert_eq!(wide.slot(1), Some(Slot { x: 13, width: 30 }));
    }

    /// TARGET, NAME (often empty), STATUS: text columns sized by content; RTT fixed.
    const MEASURED: [Column; 4] = [
        Column::left("TARGET", 10, 40, 0, 0),
        Column::left("NAME", 8, 40, 2, 1),
        Column::left("STATUS", 12, 40, 1, 2),
        Column::right("RTT", 7, 0),
    ];

    fn measured(target: usize, name: usize, status: usize) -> Measure {
        let mut measure = Measure::of(&[0, 1, 2]);
        measure.cell(0, target);
        measure.cell(1, name);
        measure.cell(2, status);
        measure
    }

    fn fitted(measure: &Measure, width: u16) -> Vec<Option<u16>> {
        let layout = Layout::fit(&MEASURED, measure, 0, width);
        (0..MEASURED.len()).map(|i| layout.slot(i).map(|s| s.width)).collect()
    }

    #[test]
    fn columns_take_what_their_content_needs() {
        // 22 + 1 + 9 + 1 + 31 + 1 + 7 = 72: everything whole at 72 columns.
        let measure = measured(22, 9, 31);
        assert_eq!(fitted(&measure, 72), [Some(22), Some(9), Some(31), Some(7)]);
        // A long cell beyond the declared minimum is kept whole when the row has room.
        let layout = Layout::fit(&MEASURED, &measured(30, 0, 31), 0, 120);
        assert!(layout.slot(2).is_some_and(|s| s.width >= 31), "{layout:?}");
        // A cell wider than the maximum is capped there.
        assert_eq!(fitted(&measured(60, 0, 12), 200)[0], Some(40));
    }

    #[test]
    fn an_empty_measured_column_gives_its_room_away() {
        let layout = Layout::fit(&MEASURED, &measured(22, 0, 31), 0, 62);
        assert_eq!(layout.slot(1), None, "no NAME heading over an empty column");
        assert_eq!(layout.slot(2), Some(Slot { x: 23, width: 31 }), "STATUS moves up, whole");
        // A short cell lets a column shrink below its declared minimum, to its heading
        // and a cell for the sort arrow.
        assert_eq!(fitted(&measured(22, 1, 12), 49), [Some(22), Some(5), Some(12), Some(7)]);
    }

    #[test]
    fn narrow_screens_cut_the_flexible_columns_first() {
        // 50 cells for 22 + 9 + 31 + 7 wanted: RTT stays whole, TARGET (keep 0) would
        // be cut, so NAME (keep 2, the least needed) gives its room away; STATUS
        // (keep 1) is cut, and claims no other column's room.
        let widths = fitted(&measured(22, 9, 31), 50);
        assert_eq!(widths, [Some(22), None, Some(19), Some(7)]);
        let total: u16 = widths.iter().flatten().sum::<u16>() + 2;
        assert_eq!(total, 50, "the width is used exactly");
        // A column that dropping one other would not make whole drops nothing.
        let widths = fitted(&measured(40, 9, 31), 50);
        assert_eq!(widths, [Some(20), Some(8), Some(12), Some(7)]);
        // Unmeasured columns are never "cut": a declared layout drops nothing extra.
        assert_eq!(widths_of(&Layout::new(&COLUMNS, 0, 25)).iter().flatten().count(), 3);
    }

    #[test]
    fn room_left_over_is_shared_by_the_measured_columns() {
        let layout = Layout::fit(&MEASURED, &measured(22, 9, 31), 0, 100);
        let widths: Vec<u16> = (0..4).filter_map(|i| layout.slot(i).map(|s| s.width)).collect();
        assert_eq!(widths.iter().sum::<u16>() + 3, 100, "the table spans the width: {widths:?}");
        assert_eq!(widths[3], 7, "fixed columns stay fixed");
        assert!(widths[0] > 22 && widths[1] > 9 && widths[2] > 31, "each got a share: {widths:?}");
        // Unmeasured, the layout is the declared one.
        let plain = Layout::new(&COLUMNS, 2, 80);
        let fitted = Layout::fit(&COLUMNS, &Measure::default(), 2, 80);
        assert_eq!(widths_of(&plain), widths_of(&fitted));
    }

    fn widths_of(layout: &Layout) -> Vec<Option<Slot>> {
        (0..MAX_COLUMNS).map(|i| layout.slot(i)).collect()
    }

    #[test]
    fn too_narrow_for_anything_truncates_the_first() {
        assert_eq!(widths(&Layout::new(&COLUMNS, 0, 3)), [Some(3), None, None, None]);
        assert_eq!(widths(&Layout::new(&COLUMNS, 0, 0)), [None, None, None, None]);
    }

    #[test]
    fn scrolling_keeps_the_target_visible() {
        for (offset, target, visible, total, expected) in [
            (0, 0, 5, 20, 0),
            (0, 4, 5, 20, 0),
            (0, 5, 5, 20, 1),
            (10, 3, 5, 20, 3),
            (18, 19, 5, 20, 15),
            (7, 2, 5, 3, 0),
            (3, 3, 0, 10, 3),
        ] {
            assert_eq!(
                scroll(offset, target, visible, total),
                expected,
                "{offset} {target} {visible} {total}"
            );
        }
    }
}
