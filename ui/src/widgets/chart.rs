//! Byte-rate charts with axes (ratatui's `Chart`, braille markers): receive above the
//! zero line, transmit below it, a labelled scale and a time axis; and the one scale
//! function every rate picture uses, so the same bytes draw the same height in the
//! Overview, the Interfaces table and the details.

use netlens_collectors::history::Ring;
use netlens_collectors::{InterfaceEntry, RateSample, Store};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Widget};

use super::pane::pane;
use super::sparkline::traffic;
use crate::format::{Rate, Span};
use crate::theme::Theme;

/// The smallest top of a byte-rate scale (1 KB/s): below it traffic is background
/// chatter (router solicitations), and must not draw as a saturated link.
pub(crate) const SCALE_FLOOR: f64 = 1000.0;

/// Rows a rate chart needs to say anything: three of plot, the time axis and its labels.
pub(crate) const MIN_CHART_HEIGHT: u16 = 5;

/// Columns a rate chart needs: the scale's labels plus a readable plot.
pub(crate) const MIN_CHART_WIDTH: u16 = 30;

/// The top of a scale that holds `peak`: the next 1, 2, 3 or 5 × 10ⁿ, and at least
/// `floor`. Round tops make the axis label a number people read at a glance.
pub(crate) fn nice_ceiling(peak: f64, floor: f64) -> f64 {
    let peak = if peak.is_finite() { peak.max(floor) } else { floor };
    if peak <= 0.0 {
        return 1.0;
    }
    // Dividing for negative exponents keeps tops like 0.3 exact (3 × 0.1 is not).
    let exponent = peak.log10().floor() as i32;
    let top = |step: f64| {
        if exponent >= 0 { step * 10_f64.powi(exponent) } else { step / 10_f64.powi(-exponent) }
    };
    [1.0, 2.0, 3.0, 5.0, 10.0].into_iter().map(top).find(|t| *t >= peak * (1.0 - 1e-9)).unwrap_or(top(10.0))
}

/// The shared byte-rate scale of a set of rates: the round top above the largest.
/// Every rate picture (sparkline column, chart) is scaled by this one function.
pub(crate) fn rate_scale(rates: impl IntoIterator<Item = f64>) -> f64 {
    let peak = rates.into_iter().filter(|v| v.is_finite()).fold(0.0, f64::max);
    nice_ceiling(peak, SCALE_FLOOR)
}

/// An interface's rate history as chart points: seconds before the newest sample on
/// the x axis, receive positive and transmit negative on the y axis.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RatePoints {
    /// Receive rates, `(seconds before now, bytes per second)`.
    pub rx: Vec<(f64, f64)>,
    /// Transmit rates as negative values, so they draw below the zero line.
    pub tx: Vec<(f64, f64)>,
    /// How many seconds the history covers (at least one).
    pub span_s: f64,
    /// The shared top of the scale (both directions).
    pub peak: f64,
}

impl RatePoints {
    /// Points of `history`, timed on the monotonic clock where samples carry it (else
    /// one second apart, as the collector samples).
    pub(crate) fn of(history: &Ring<RateSample>) -> Self {
        let newest = history.last().and_then(|s| s.mono);
        let count = history.len();
        let mut points = Self { span_s: 1.0, ..Self::default() };
        for (i, sample) in history.iter().enumerate() {
            let x = match (sample.mono, newest) {
                (Some(at), Some(newest)) => -(newest - at).as_seconds_f64(),
                _ => -((count - 1 - i) as f64),
            };
            points.rx.push((x, sample.rates.rx_bytes_per_s.max(0.0)));
            points.tx.push((x, -sample.rates.tx_bytes_per_s.max(0.0)));
            points.span_s = points.span_s.max(-x);
        }
        points.peak = rate_scale(points.rx.iter().map(|p| p.1).chain(points.tx.iter().map(|p| -p.1)));
        points
    }
}

/// The y-axis labels, bottom to top: transmit's top, zero, receive's top (absolute
/// values: transmit is drawn negative only to sit below the line).
pub(crate) fn rate_labels(peak: f64) -> [String; 3] {
    let top = Rate(Some(peak)).to_string();
    [format!("tx {top}"), "0".to_owned(), format!("rx {top}")]
}

/// The x-axis labels, left to right: how far back the history reaches, and now.
pub(crate) fn time_labels(span_s: f64) -> [String; 2] {
    [format!("-{}", Span(span_s.round().max(1.0) as u64)), "now".to_owned()]
}

/// Draw `points` into `area`: receive above the zero line, transmit below, with the
/// scale on the left and the time axis beneath. Too small an area draws nothing.
pub(crate) fn rate_chart(buf: &mut Buffer, area: Rect, points: &RatePoints, theme: &Theme) {
    if area.height < MIN_CHART_HEIGHT || area.width < MIN_CHART_WIDTH || points.rx.is_empty() {
        return;
    }
    let zero = [(-points.span_s, 0.0), (0.0, 0.0)];
    let datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.muted())
            .data(&zero),
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.rx())
            .data(&points.rx),
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.tx())
            .data(&points.tx),
    ];
    let [tx, zero_label, rx] = rate_labels(points.peak);
    let y_labels =
        [Line::styled(tx, theme.tx()), Line::styled(zero_label, theme.muted()), Line::styled(rx, theme.rx())];
    let x_labels = time_labels(points.span_s).map(|text| Line::styled(text, theme.muted()));
    Chart::new(datasets)
        .legend_position(None)
        .x_axis(Axis::default().bounds([-points.span_s, 0.0]).labels(x_labels).style(theme.border()))
        .y_axis(Axis::default().bounds([-points.peak, points.peak]).labels(y_labels).style(theme.border()))
        .render(area, buf);
}

/// Width a chart pane needs; the row holds as many as fit, two to four.
const CHART_PANE_WIDTH: u16 = 48;

/// Interfaces by recent traffic (receive plus transmit over the last ten samples),
/// busiest first; idle ones left out.
pub(crate) fn busiest(store: &Store) -> Vec<&InterfaceEntry> {
    let recent = |e: &InterfaceEntry| traffic(e).rev().take(10).sum::<f64>();
    let mut entries: Vec<(&InterfaceEntry, f64)> =
        store.interfaces().map(|e| (e, recent(e))).filter(|(_, rate)| *rate > 0.0).collect();
    entries.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.info.index.cmp(&b.0.info.index)));
    entries.into_iter().map(|(entry, _)| entry).collect()
}

/// A row of rate charts, one per busy interface (as many as fit, at most four).
pub(crate) fn busiest_charts(buf: &mut Buffer, area: Rect, store: &Store, theme: &Theme) {
    let busiest = busiest(store);
    let count = (area.width / CHART_PANE_WIDTH).clamp(2, 4).min(busiest.len() as u16);
    if count == 0 {
        return;
    }
    let width = area.width / count;
    for (i, entry) in busiest.iter().take(usize::from(count)).enumerate() {
        let x = area.x + width * i as u16;
        let w = if i + 1 == usize::from(count) { area.right() - x } else { width };
        let pane_area = Rect { x, width: w, ..area };
        let rx = format!(" rx {}", Rate(entry.rates.map(|r| r.rx_bytes_per_s)));
        let tx = format!(" tx {}", Rate(entry.rates.map(|r| r.tx_bytes_per_s)));
        let title =
            [(entry.info.name.as_str(), theme.title()), (rx.as_str(), theme.rx()), (tx.as_str(), theme.tx())];
        let inner = pane(buf, pane_area, theme.border(), &title, &[]);
        rate_chart(buf, inner, &RatePoints::of(&entry.history), theme);
    }
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "scale tops and sample points are exact values")]
mod tests {
    use netlens_collectors::model::InterfaceRates;

    use super::*;

    fn history(rates: &[(f64, f64)]) -> Ring<RateSample> {
        let mut ring = Ring::new(rates.len());
        for &(rx, tx) in rates {
            ring.push(RateSample {
                at: None,
                mono: None,
                rates: InterfaceRates {
                    rx_bytes_per_s: rx,
                    tx_bytes_per_s: tx,
                    rx_packets_per_s: 0.0,
                    tx_packets_per_s: 0.0,
                },
            });
        }
        ring
    }

    #[test]
    fn scale_tops_are_round_and_hold_the_peak() {
        for (peak, top) in [
            (0.0, 1000.0),
            (74.0, 1000.0),
            (1000.0, 1000.0),
            (1001.0, 2000.0),
            (3_100_000.0, 5_000_000.0),
            (2_600_000.0, 3_000_000.0),
            (1_900_000.0, 2_000_000.0),
            (6_000_000.0, 10_000_000.0),
            (f64::NAN, 1000.0),
        ] {
            assert_eq!(rate_scale([peak]), top, "peak {peak}");
        }
        assert_eq!(nice_ceiling(0.3, 0.0), 0.3, "below one the steps are the same");
    }

    #[test]
    fn one_scale_for_every_row() {
        // 74 B/s beside 3.1 MB/s: both drawn against 5 MB/s, so the quiet one stays low.
        let scale = rate_scale([74.0, 3_100_000.0]);
        assert_eq!(scale, 5_000_000.0);
        assert_eq!(Rate(Some(scale)).to_string(), "5.00 MB/s");
    }

    #[test]
    fn labels_name_units_and_time() {
        assert_eq!(rate_labels(5_000_000.0), ["tx 5.00 MB/s", "0", "rx 5.00 MB/s"]);
        assert_eq!(rate_labels(1000.0), ["tx 1.00 KB/s", "0", "rx 1.00 KB/s"]);
        assert_eq!(time_labels(119.0), ["-1m59s", "now"]);
        assert_eq!(time_labels(0.0), ["-1s", "now"]);
    }

    #[test]
    fn transmit_draws_below_the_axis() {
        let points = RatePoints::of(&history(&[(100.0, 2000.0), (3000.0, 50.0), (0.0, 0.0)]));
        assert_eq!(points.rx, [(-2.0, 100.0), (-1.0, 3000.0), (0.0, 0.0)]);
        assert_eq!(points.tx, [(-2.0, -2000.0), (-1.0, -50.0), (0.0, -0.0)]);
        assert!(points.tx.iter().all(|p| p.1 <= 0.0));
        assert_eq!(points.span_s, 2.0);
        assert_eq!(points.peak, 3000.0, "one scale for both directions: the larger, receive");
    }

    #[test]
    fn chart_draws_braille_with_labels_above_and_below() {
        let points = RatePoints::of(&history(&[(800.0, 0.0), (900.0, 400.0), (1000.0, 900.0)]));
        let area = Rect::new(0, 0, 40, 9);
        let mut buf = Buffer::empty(area);
        rate_chart(&mut buf, area, &points, &Theme::default());
        let rows: Vec<String> =
            (0..area.height).map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect()).collect();
        assert!(rows[0].starts_with("rx 1.00 KB/s"), "{rows:#?}");
        assert!(rows.iter().any(|r| r.starts_with("tx 1.00 KB/s")), "{rows:#?}");
        assert!(rows.iter().any(|r| r.contains("-2s") && r.contains("now")), "{rows:#?}");
        let braille = rows.iter().flat_map(|r| r.chars()).filter(|c| ('\u{2801}'..='\u{28ff}').contains(c));
        assert!(braille.count() > 10, "{rows:#?}");
    }

    #[test]
    fn too_small_draws_nothing() {
        let points = RatePoints::of(&history(&[(800.0, 0.0), (900.0, 400.0)]));
        let area = Rect::new(0, 0, 40, 4);
        let mut buf = Buffer::empty(area);
        rate_chart(&mut buf, area, &points, &Theme::default());
        assert_eq!(buf, Buffer::empty(area));
    }
}
