//! A path's verdict over time as a coloured band (one cell per time slot, with the
//! transitions marked on the time axis beneath), and its probe RTT as a braille line
//! chart with failed probes marked: what the user looks at before reading the checks.
//!
//! ```text
//! status  ████████████████░░░░████████████▒▒▒▒▒▒▒▒▒▒▒▒   █ satisfied ▒ failing ░ unsatisfied
//!         -1m28s ─────────┴───┴──────────┴────────── now
//! ```

use netlens_collectors::model::{PathStatus, Timestamp};
use netlens_collectors::store::PathSample;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Widget};

use super::chart::{MIN_CHART_HEIGHT, nice_ceiling, time_labels};
use super::text::put;
use crate::format::Millis;
use crate::theme::Theme;

/// The shortest window a band covers, so a fresh target's band is not one cell of
/// history stretched over the screen.
pub(crate) const MIN_WINDOW_S: f64 = 60.0;

/// Width of the label column (`status `, `rtt `).
const LABEL: u16 = 8;

/// The RTT axis reaches at least this far (milliseconds), so loopback's microseconds
/// do not fill the chart.
const RTT_FLOOR_MS: f64 = 1.0;

/// How many slots a band `width` cells wide (label included) holds.
pub(crate) fn slot_count(width: u16) -> usize {
    usize::from(width.saturating_sub(LABEL))
}

/// One time slot of the band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Slot {
    /// The worst verdict seen in the slot, or the one carried from before it; `None`
    /// before the first sample.
    pub status: Option<PathStatus>,
    /// A probe failed in the slot.
    pub failed: bool,
    /// The verdict changed at the start of this slot.
    pub transition: bool,
}

/// Worse verdicts win a slot: unsatisfied over failing over satisfied.
const fn severity(status: PathStatus) -> u8 {
    match status {
        PathStatus::Satisfied => 0,
        PathStatus::Failing => 1,
        PathStatus::Unsatisfied => 2,
    }
}

/// The cell of a verdict: shapes differ, so the band reads without colour too.
pub(crate) const fn cell(status: Option<PathStatus>) -> &'static str {
    match status {
        Some(PathStatus::Satisfied) => "█",
        Some(PathStatus::Failing) => "▒",
        Some(PathStatus::Unsatisfied) => "░",
        None => " ",
    }
}

/// The window the band covers, ending `now`: the history's reach, at least
/// [`MIN_WINDOW_S`] seconds.
pub(crate) fn window<'s>(samples: impl IntoIterator<Item = &'s PathSample>, now: Timestamp) -> f64 {
    let first = samples.into_iter().next().map_or(now, |s| s.at);
    (now - first).as_seconds_f64().max(MIN_WINDOW_S)
}

/// `samples` (oldest first) in `slots` equal slots over the `window_s` seconds ending
/// `now`: each slot holds the worst verdict sampled in it, or the verdict carried from
/// the last sample before it (a state lasts until it changes).
pub(crate) fn band<'s>(
    samples: impl IntoIterator<Item = &'s PathSample>,
    now: Timestamp,
    window_s: f64,
    slots: usize,
) -> Vec<Slot> {
    let mut band = vec![Slot::default(); slots];
    if slots == 0 || window_s <= 0.0 {
        return band;
    }
    let width = window_s / slots as f64;
    let start = now - time::Duration::seconds_f64(window_s);
    let mut carried: Option<PathStatus> = None;
    let mut samples = samples.into_iter().peekable();
    for (i, slot) in band.iter_mut().enumerate() {
        let end = start + time::Duration::seconds_f64(width * (i + 1) as f64);
        let mut worst: Option<PathStatus> = None;
        let last_slot = i + 1 == slots;
        while let Some(sample) = samples.next_if(|s| s.at < end || last_slot) {
            slot.failed |= sample.probe_failed;
            if sample.at >= start {
                worst = Some(match worst {
                    Some(w) if severity(w) >= severity(sample.status) => w,
                    _ => sample.status,
                });
            }
            carried = Some(sample.status);
        }
        slot.status = worst.or(carried);
    }
    for i in 1..band.len() {
        band[i].transition = matches!((band[i - 1].status, band[i].status), (Some(a), Some(b)) if a != b);
    }
    band
}

/// Draw the band (one row) and its time axis (one row) in `area`, labelled `status`;
/// `style` colours each verdict. Needs two rows.
pub(crate) fn render_band(
    buf: &mut Buffer,
    area: Rect,
    slots: &[Slot],
    window_s: f64,
    theme: &Theme,
    style: impl Fn(PathStatus) -> Style,
) {
    if area.height < 2 || area.width <= LABEL {
        return;
    }
    put(buf, area.x, area.y, LABEL, "status", theme.muted());
    let x0 = area.x + LABEL;
    for (slot, x) in slots.iter().zip(x0..area.right()) {
        let slot_style = slot.status.map_or(theme.muted(), &style);
        put(buf, x, area.y, 1, cell(slot.status), slot_style);
    }
    let y = area.y + 1;
    let width = area.right() - x0;
    for x in x0..area.right() {
        put(buf, x, y, 1, "─", theme.border());
    }
    for (slot, x) in slots.iter().zip(x0..area.right()) {
        if slot.transition {
            put(buf, x, y, 1, "┴", theme.warn());
        }
    }
    let [from, to] = time_labels(window_s);
    put(buf, x0, y, width, &format!("{from} "), theme.muted());
    let to = format!(" {to}");
    let to_width = to.chars().count() as u16;
    if width > to_width + from.len() as u16 + 2 {
        put(buf, area.right() - to_width, y, to_width, &to, theme.muted());
    }
}

/// The legend of the band's cells.
pub(crate) fn legend(theme: &Theme, style: impl Fn(PathStatus) -> Style) -> Vec<(String, Style)> {
    let mut spans = Vec::new();
    for status in [PathStatus::Satisfied, PathStatus::Failing, PathStatus::Unsatisfied] {
        spans.push((cell(Some(status)).to_owned(), style(status)));
        spans.push((format!(" {}  ", status.as_str()), theme.muted()));
    }
    spans
}

/// Draw the RTT of `samples` over the `window_s` seconds ending `now` as a braille
/// line with its scale, failed probes as `✗` on the row beneath. Needs
/// [`MIN_CHART_HEIGHT`] + 1 rows and at least one answered probe; says whether it drew.
pub(crate) fn render_rtt<'s>(
    buf: &mut Buffer,
    area: Rect,
    samples: impl IntoIterator<Item = &'s PathSample>,
    now: Timestamp,
    window_s: f64,
    slots: &[Slot],
    theme: &Theme,
) -> bool {
    if area.height <= MIN_CHART_HEIGHT || area.width <= LABEL + 10 {
        return false;
    }
    let points: Vec<(f64, f64)> = samples
        .into_iter()
        .filter_map(|s| s.rtt_ms.map(|rtt| (-(now - s.at).as_seconds_f64(), rtt)))
        .filter(|(x, _)| *x >= -window_s)
        .collect();
    if points.is_empty() {
        return false;
    }
    let top = nice_ceiling(points.iter().map(|p| p.1).fold(0.0, f64::max), RTT_FLOOR_MS);
    let chart_area = Rect { height: area.height - 1, ..area };
    let datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.accent())
            .data(&points),
    ];
    let y_labels = [
        Line::styled("0", theme.muted()),
        Line::styled(format!("rtt {}", Millis(Some(top))), theme.accent()),
    ];
    let x_labels = time_labels(window_s).map(|text| Line::styled(text, theme.muted()));
    Chart::new(datasets)
        .legend_position(None)
        .x_axis(Axis::default().bounds([-window_s, 0.0]).labels(x_labels).style(theme.border()))
        .y_axis(Axis::default().bounds([0.0, top]).labels(y_labels).style(theme.border()))
        .render(chart_area, buf);
    // Failed probes on their own row, aligned with the band's slots (the same window).
    let y = area.bottom() - 1;
    put(buf, area.x, y, LABEL, "loss", theme.muted());
    let x0 = area.x + LABEL;
    let mut any = false;
    for (slot, x) in slots.iter().zip(x0..area.right()) {
        if slot.failed {
            put(buf, x, y, 1, "✗", theme.error());
            any = true;
        }
    }
    if !any {
        put(buf, x0, y, area.right() - x0, "no failed probe in the window", theme.muted());
    }
    true
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "whole-second windows are exact")]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: Timestamp = datetime!(2026-03-14 09:00:00 UTC);

    fn sample(seconds_ago: i64, status: PathStatus, failed: bool) -> PathSample {
        PathSample {
            at: NOW - time::Duration::seconds(seconds_ago),
            status,
            rtt_ms: (!failed).then_some(2.0),
            loss_pct: None,
            probe_failed: failed,
        }
    }

    fn cells(band: &[Slot]) -> String {
        band.iter().map(|s| cell(s.status)).collect()
    }

    #[test]
    fn band_carries_states_and_marks_transitions() {
        use PathStatus::{Failing, Satisfied, Unsatisfied};
        let samples = [
            sample(60, Satisfied, false),
            sample(30, Unsatisfied, false),
            sample(20, Satisfied, false),
            sample(10, Failing, true),
        ];
        let band = band(&samples, NOW, 60.0, 6);
        assert_eq!(cells(&band), "███░█▒", "each 10 s slot holds its state, carried between samples");
        let transitions: Vec<usize> = (0..6).filter(|&i| band[i].transition).collect();
        assert_eq!(transitions, [3, 4, 5]);
        assert_eq!(band.iter().filter(|s| s.failed).count(), 1);
        assert!(band[5].failed);
    }

    #[test]
    fn band_is_blank_before_the_first_sample_and_worst_wins_a_slot() {
        use PathStatus::{Satisfied, Unsatisfied};
        let samples =
            [sample(25, Satisfied, false), sample(24, Unsatisfied, false), sample(23, Satisfied, false)];
        let band = band(&samples, NOW, 60.0, 6);
        assert_eq!(cells(&band), "   ░██", "a one-second outage still shows in its slot");
    }

    #[test]
    fn window_covers_the_history_at_least_a_minute() {
        let samples = [sample(300, PathStatus::Satisfied, false)];
        assert_eq!(window(&samples, NOW), 300.0);
        assert_eq!(window(&[], NOW), MIN_WINDOW_S);
    }

    #[test]
    fn band_and_rtt_draw_without_colour() {
        use PathStatus::{Failing, Satisfied};
        let samples: Vec<PathSample> =
            (0..60).map(|n| sample(60 - n, if n < 50 { Satisfied } else { Failing }, n >= 50)).collect();
        let theme = Theme::default().without_color();
        let area = Rect::new(0, 0, 40, 9);
        let mut buf = Buffer::empty(area);
        let slots = band(&samples, NOW, 60.0, 32);
        render_band(&mut buf, Rect { height: 2, ..area }, &slots, 60.0, &theme, |_| Style::new());
        assert!(render_rtt(&mut buf, Rect { y: 2, height: 7, ..area }, &samples, NOW, 60.0, &slots, &theme));
        let rows: Vec<String> =
            (0..area.height).map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect()).collect();
        assert!(rows[0].starts_with("status  ████"), "{rows:#?}");
        assert!(rows[0].trim_end().ends_with('▒'), "{rows:#?}");
        assert!(rows[1].contains('┴') && rows[1].contains("-1m00s") && rows[1].ends_with("now"), "{rows:#?}");
        assert!(rows[2].starts_with("rtt 2.00ms"), "{rows:#?}");
        assert!(rows[8].starts_with("loss") && rows[8].contains('✗'), "{rows:#?}");
    }
}
