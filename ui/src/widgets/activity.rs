//! The Events tab's activity strip: how many events arrived per time bucket over the
//! window the timeline covers, as one row of bars with its time axis and scale in
//! words, so a burst stands out before any line is read.
//!
//! ```text
//! -5m00s ▁▁▁▁▂▁▁▁▁▁▁█▃▁▁▁▁▁▁▁▁▁▁▂▁▁▁▁▁ now · peak 12 per 10s
//! ```

use netlens_collectors::model::Timestamp;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::sparkline::bar;
use super::text::put_spans;
use crate::format::Span;
use crate::theme::Theme;

/// The shortest window the strip covers, in seconds.
pub(crate) const MIN_WINDOW_S: f64 = 60.0;

/// Events per bucket: `events` (time, how many it stands for), **newest first** as the
/// timeline is walked, counted in `buckets` equal slots over the `window_s` seconds
/// ending `now`; the walk stops at the first event older than the window, and events
/// stamped after `now` (clock skew) count in the last slot.
///
/// Hand-written walk, measured (benches/render.rs, Events tab at 200×50 over 10,000
/// events): subtracting two timestamps per event made the frame ~0.7 ms slower;
/// comparing each with the current bucket's start instead (a stamp out of order after
/// a clock step lands in the bucket being filled) costs ~60 µs.
pub(crate) fn buckets(
    events: impl IntoIterator<Item = (Timestamp, u32)>,
    now: Timestamp,
    window_s: f64,
    buckets: usize,
) -> Vec<u64> {
    let mut counts = vec![0_u64; buckets];
    if buckets == 0 || window_s <= 0.0 {
        return counts;
    }
    let width = window_s / buckets as f64;
    let start = now - time::Duration::seconds_f64(window_s);
    let starts: Vec<Timestamp> =
        (0..buckets).map(|i| start + time::Duration::seconds_f64(width * i as f64)).collect();
    let mut slot = buckets - 1;
    let mut last: Option<Timestamp> = None;
    for (at, count) in events {
        // A burst shares one stamp: no comparison needed for its later entries.
        if last != Some(at) {
            while at < starts[slot] {
                if slot == 0 {
                    return counts;
                }
                slot -= 1;
            }
            last = Some(at);
        }
        counts[slot] += u64::from(count.max(1));
    }
    counts
}

/// The window the strip covers, ending `now`: back to the oldest event, at least
/// [`MIN_WINDOW_S`].
pub(crate) fn window(oldest: Option<Timestamp>, now: Timestamp) -> f64 {
    oldest.map_or(MIN_WINDOW_S, |at| (now - at).as_seconds_f64().max(MIN_WINDOW_S))
}

/// Draw the strip on the first row of `area`: the window, the bars, `now`, and the
/// peak per bucket.
pub(crate) fn render(buf: &mut Buffer, area: Rect, counts: &[u64], window_s: f64, theme: &Theme) {
    if area.is_empty() || counts.is_empty() {
        return;
    }
    let peak = counts.iter().copied().max().unwrap_or(0);
    let bucket_s = (window_s / counts.len() as f64).round().max(1.0) as u64;
    let bars: String =
        counts.iter().map(|&n| if n == 0 { ' ' } else { bar(n as f64, peak as f64) }).collect();
    let from = format!("-{} ", Span(window_s.round() as u64));
    let scale = format!(" now · peak {peak} per {}", Span(bucket_s));
    put_spans(
        buf,
        area.x,
        area.y,
        area.width,
        &[(&from, theme.muted()), (&bars, theme.accent()), (&scale, theme.muted())],
    );
}

/// How many buckets fit a strip `width` cells wide beside its labels.
pub(crate) fn fitting(width: u16) -> usize {
    usize::from(width.saturating_sub(36)).min(120)
}

/// Bucket lengths people read at a glance, in seconds.
const STEPS: [u64; 12] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];

/// A round bucket length covering `window_s` in at most `most` buckets, and how many
/// buckets that makes: the window is then a whole number of round buckets.
pub(crate) fn layout(window_s: f64, most: usize) -> (f64, usize) {
    if most == 0 {
        return (window_s, 0);
    }
    let wanted = window_s / most as f64;
    let step = STEPS.into_iter().find(|&s| s as f64 >= wanted).map_or_else(|| wanted.ceil(), |s| s as f64);
    (step, ((window_s / step).ceil() as usize).clamp(1, most))
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "whole-second windows and bucket lengths are exact")]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: Timestamp = datetime!(2026-03-14 09:00:00 UTC);

    fn ago(seconds: i64) -> Timestamp {
        NOW - time::Duration::seconds(seconds)
    }

    #[test]
    fn events_fall_in_their_buckets() {
        // Newest first, as the timeline is walked; the one two minutes old ends the walk.
        let events = [
            (NOW + time::Duration::seconds(2), 1),
            (ago(0), 1),
            (ago(0), 1),
            (ago(31), 4),
            (ago(50), 1),
            (ago(59), 1),
            (ago(120), 1),
            (ago(5), 9),
        ];
        // Six ten-second buckets: [-60,-50) [-50,-40) … [-10,0].
        assert_eq!(
            buckets(events, NOW, 60.0, 6),
            [1, 1, 4, 0, 0, 3],
            "coalesced counts weigh; a burst shares its bucket; the walk stops at the window"
        );
        assert_eq!(buckets(events, NOW, 60.0, 0), Vec::<u64>::new());
        assert_eq!(window(Some(ago(300)), NOW), 300.0);
        assert_eq!(window(None, NOW), MIN_WINDOW_S);
    }

    #[test]
    fn buckets_are_round() {
        assert_eq!(layout(90.0, 124), (1.0, 90), "a second each: fewer buckets than cells");
        assert_eq!(layout(600.0, 100), (10.0, 60));
        assert_eq!(layout(100_000.0, 10), (10_000.0, 10), "beyond an hour: the plain quotient");
        assert_eq!(layout(60.0, 0), (60.0, 0));
    }

    #[test]
    fn strip_says_its_window_and_peak() {
        let counts = buckets([(ago(5), 8), (ago(55), 1)], NOW, 60.0, 6);
        let area = Rect::new(0, 0, 50, 1);
        let mut buf = Buffer::empty(area);
        render(&mut buf, area, &counts, 60.0, &Theme::default());
        let row: String = (0..area.width).map(|x| buf[(x, 0)].symbol()).collect();
        assert_eq!(row.trim_end(), "-1m00s ▁    █ now · peak 8 per 10s");
    }
}
