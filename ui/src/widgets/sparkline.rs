//! One-row sparklines: the newest value at the right edge. A column of them shares one
//! scale ([`column_scale`], the same function the charts use) and says it in its
//! header, so 74 B/s never looks like 3 MB/s; a lone sparkline is scaled to its own
//! peak, but never below [`SCALE_FLOOR`], so a few router solicitations do not draw
//! as a saturated link.

use netlens_collectors::InterfaceEntry;
use ratatui::buffer::Buffer;
use ratatui::style::Style;

pub(crate) use super::chart::SCALE_FLOOR;
use super::chart::rate_scale;
use crate::format::Rate;

/// Eighths of a cell, from empty to full.
const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Most cells one sparkline draws; wider requests are clipped to it.
const MAX_WIDTH: usize = 256;

/// An interface's traffic as its sparkline draws it: receive plus transmit per sample.
pub(crate) fn traffic(entry: &InterfaceEntry) -> impl DoubleEndedIterator<Item = f64> + '_ {
    entry.history.iter().map(|s| s.rates.rx_bytes_per_s + s.rates.tx_bytes_per_s)
}

/// The one scale of a column of traffic sparklines: the round top above every sample
/// every row holds (not only the ones a column of this width shows), so rows compare
/// with each other and the Overview and the Interfaces tab scale the same data alike.
pub(crate) fn column_scale<'e>(entries: impl IntoIterator<Item = &'e InterfaceEntry>) -> f64 {
    rate_scale(entries.into_iter().flat_map(traffic))
}

/// A column header that says the shared scale: `TRAFFIC ≤ 5.00 MB/s`; the scale
/// alone (`≤ 5.00 MB/s`) on a narrower slot, the title alone on a narrower one still.
pub(crate) fn scale_header(title: &str, scale: f64, width: u16) -> String {
    let scale = format!("≤ {}", Rate(Some(scale)));
    let full = format!("{title} {scale}");
    let fits = |text: &str| text.chars().count() <= usize::from(width);
    if fits(&full) {
        full
    } else if fits(&scale) {
        scale
    } else {
        title.to_owned()
    }
}

/// Draw the newest `width` of `values` at (`x`, `y`), scaled to a peak of at least
/// `floor` (pass a column's shared scale so rows compare with each other). Zero values
/// draw a baseline in `baseline` style so idle stretches read as idle rather than
/// missing; cells older than the history stay blank.
#[expect(clippy::too_many_arguments, reason = "a drawing call: each argument is one input of the cells")]
pub(crate) fn sparkline_scaled<I>(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    width: u16,
    values: I,
    style: Style,
    baseline: Style,
    floor: f64,
) where
    I: DoubleEndedIterator<Item = f64>,
{
    let area = buf.area;
    if y < area.top() || y >= area.bottom() || x >= area.right() || x < area.left() {
        return;
    }
    let width = usize::from(width.min(area.right() - x)).min(MAX_WIDTH);
    let mut newest = [0.0_f64; MAX_WIDTH];
    let mut shown = 0;
    for value in values.rev().take(width) {
        newest[shown] = if value.is_finite() { value.max(0.0) } else { 0.0 };
        shown += 1;
    }
    let peak = newest[..shown].iter().copied().fold(floor, f64::max);
    let right = x + width as u16;
    for (i, value) in newest[..shown].iter().enumerate() {
        let cell = &mut buf[(right - 1 - i as u16, y)];
        match level(*value, peak) {
            0 => cell.set_char(BARS[1]).set_style(baseline),
            n => cell.set_char(BARS[n]).set_style(style),
        };
    }
}

/// The bar for `value` against `peak`: 0 for nothing, else 1 ..= 8. Any traffic at
/// all shows at least the lowest bar.
fn level(value: f64, peak: f64) -> usize {
    if peak <= 0.0 || value <= 0.0 { 0 } else { ((value / peak) * 8.0).ceil().clamp(1.0, 8.0) as usize }
}

/// The bar for `value` against `peak`, at least the lowest one: for sparklines assembled
/// cell by cell (a probe history with failures marked between the bars).
pub(crate) fn bar(value: f64, peak: f64) -> char {
    let value = if value.is_finite() { value.max(0.0) } else { 0.0 };
    BARS[level(value, peak).max(1)]
}

/// The newest `width` values as a string of bars, for text that is not a table cell.
pub(crate) fn bars<I>(values: I, width: usize) -> String
where
    I: DoubleEndedIterator<Item = f64>,
{
    bars_scaled(values, width, SCALE_FLOOR)
}

/// [`bars`] scaled to a peak of at least `floor`, for values that are not byte rates
/// (round-trip times in milliseconds).
pub(crate) fn bars_scaled<I>(values: I, width: usize, floor: f64) -> String
where
    I: DoubleEndedIterator<Item = f64>,
{
    let newest: Vec<f64> =
        values.rev().take(width).map(|v| if v.is_finite() { v.max(0.0) } else { 0.0 }).collect();
    let peak = newest.iter().copied().fold(floor, f64::max);
    newest.iter().rev().map(|v| BARS[level(*v, peak).max(1)]).collect()
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;

    use super::*;

    #[test]
    fn right_aligned_scaled_to_peak() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 1));
        let values = [0.0, 1000.0, 4000.0, 8000.0];
        sparkline_scaled(&mut buf, 0, 0, 6, values.iter().copied(), Style::new(), Style::new(), SCALE_FLOOR);
        let row: String = (0..6).map(|x| buf[(x, 0)].symbol().to_owned()).collect();
        assert_eq!(row, "  ▁▁▄█");
    }

    #[test]
    fn chatter_below_the_floor_stays_low() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 3, 1));
        let values = [0.0, 60.0, 500.0];
        sparkline_scaled(&mut buf, 0, 0, 3, values.iter().copied(), Style::new(), Style::new(), SCALE_FLOOR);
        let row: String = (0..3).map(|x| buf[(x, 0)].symbol().to_owned()).collect();
        assert_eq!(row, "▁▁▄", "500 B/s is half of the 1 KB/s floor, not a full bar");
    }

    #[test]
    fn a_column_shares_one_scale_and_says_it() {
        // A quiet row beside a busy one: against the shared 5 MB/s scale, 74 B/s draws
        // the lowest bar, not a full one.
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 2));
        let scale = rate_scale([74.0, 3_100_000.0]);
        sparkline_scaled(&mut buf, 0, 0, 2, [74.0, 74.0].into_iter(), Style::new(), Style::new(), scale);
        sparkline_scaled(&mut buf, 0, 1, 2, [3_100_000.0].into_iter(), Style::new(), Style::new(), scale);
        let row = |y| (0..2).map(|x| buf[(x, y)].symbol().to_owned()).collect::<String>();
        assert_eq!(row(0), "▁▁");
        assert_eq!(row(1), " ▅");
        assert_eq!(scale_header("TRAFFIC", scale, 40), "TRAFFIC ≤ 5.00 MB/s");
        assert_eq!(scale_header("TRAFFIC", scale, 15), "≤ 5.00 MB/s", "narrower: the scale alone");
        assert_eq!(scale_header("TRAFFIC", scale, 10), "TRAFFIC", "too narrow: the title alone");
    }

    #[test]
    fn keeps_only_the_newest_that_fit() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        let values = [100_000.0, 100_000.0, 1000.0, 2000.0];
        sparkline_scaled(&mut buf, 0, 0, 9, values.iter().copied(), Style::new(), Style::new(), SCALE_FLOOR);
        let row: String = (0..2).map(|x| buf[(x, 0)].symbol().to_owned()).collect();
        assert_eq!(row, "▄█");
        assert_eq!(bars(values.iter().copied(), 3), "█▁▁");
    }
}
