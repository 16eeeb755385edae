//! A DNS trace as a waterfall on a linear time axis: one bar per query, from when it
//! was sent to its answer or timeout. A and AAAA to one server in one round leave
//! together (the trace asks both on one socket, as glibc does), so they share a start;
//! the next server or candidate starts when the slowest of them ended. The time axis is
//! linear so a 1 s timeout is a long bar at once; answers of a few microseconds would
//! be invisible on it, so every bar is at least one cell wide (the axis label says so).

use netlens_collectors::model::TraceStep;

/// One bar: where it starts and how long it is, in cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bar {
    /// Cells before the bar.
    pub offset: usize,
    /// Cells the bar covers (at least one).
    pub length: usize,
}

/// When each step was sent, in milliseconds from the start of the trace: steps to the
/// same server in the same round over the same transport leave together.
pub(crate) fn starts(steps: &[TraceStep]) -> (Vec<f64>, f64) {
    let mut starts = Vec::with_capacity(steps.len());
    let (mut group_start, mut group_end) = (0.0_f64, 0.0_f64);
    for (i, step) in steps.iter().enumerate() {
        let same_group = i > 0 && {
            let before = &steps[i - 1];
            before.candidate == step.candidate
                && before.server == step.server
                && before.attempt == step.attempt
                && before.transport == step.transport
        };
        if !same_group {
            group_start = group_end;
        }
        starts.push(group_start);
        group_end = group_end.max(group_start + step.latency_ms.max(0.0));
    }
    (starts, group_end)
}

/// The bars of `steps` on a linear axis `cells` wide covering the whole trace; a bar
/// shorter than a cell is drawn one cell wide, and no bar runs past the axis.
pub(crate) fn bars(steps: &[TraceStep], cells: usize) -> (Vec<Bar>, f64) {
    let (starts, total) = starts(steps);
    if cells == 0 {
        return (Vec::new(), total);
    }
    let scale = if total > 0.0 { cells as f64 / total } else { 0.0 };
    let bars = steps
        .iter()
        .zip(starts)
        .map(|(step, start)| {
            let offset = ((start * scale).floor() as usize).min(cells - 1);
            let length = ((step.latency_ms.max(0.0) * scale).round() as usize).clamp(1, cells - offset);
            Bar { offset, length }
        })
        .collect();
    (bars, total)
}

/// A bar as text: blanks up to its start, then the bar, `█` for an answer and `░` for
/// a query that got none (shapes differ, so it reads without colour).
pub(crate) fn bar_text(bar: Bar, answered: bool) -> (String, String) {
    let fill = if answered { "█" } else { "░" };
    (" ".repeat(bar.offset), fill.repeat(bar.length))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use netlens_collectors::model::DnsTransport;

    use super::*;

    fn step(server: &str, qtype: &str, latency_ms: f64, answered: bool) -> TraceStep {
        TraceStep {
            candidate: "db.lab.test".to_owned(),
            server: server.parse::<SocketAddr>().unwrap_or_else(|e| panic!("{e}")),
            qtype: qtype.to_owned(),
            transport: DnsTransport::Udp,
            attempt: 1,
            rcode: answered.then(|| "NOERROR".to_owned()),
            nodata: false,
            truncated: false,
            answers: Vec::new(),
            cname_chain: Vec::new(),
            ignored: 0,
            latency_ms,
            error: (!answered).then(|| "timeout after 1000 ms".to_owned()),
            client: None,
        }
    }

    #[test]
    fn a_timeout_beside_microsecond_answers_is_seen_at_once() {
        let steps = [
            step("10.0.0.53:53", "A", 1000.0, false),
            step("10.0.0.53:53", "AAAA", 1000.0, false),
            step("10.0.1.53:53", "A", 0.05, true),
            step("10.0.1.53:53", "AAAA", 0.05, true),
        ];
        let (bars, total) = bars(&steps, 40);
        assert!((total - 1000.05).abs() < 1e-9, "A and AAAA share their start: {total}");
        assert_eq!(bars[0], Bar { offset: 0, length: 40 }, "the timeout spans the axis");
        assert_eq!(bars[1], bars[0]);
        assert_eq!(bars[2], Bar { offset: 39, length: 1 }, "50 µs still draws one cell, at the end");
        assert_eq!(bars[3], bars[2]);
        let (lead, fill) = bar_text(bars[2], true);
        assert_eq!((lead.len(), fill.as_str()), (39, "█"));
        assert_eq!(bar_text(Bar { offset: 0, length: 3 }, false).1, "░░░");
    }

    #[test]
    fn steps_follow_each_other_and_stay_on_the_axis() {
        let steps = [step("10.0.0.53:53", "A", 10.0, true), step("10.0.1.53:53", "A", 30.0, true)];
        let (starts, total) = starts(&steps);
        assert_eq!((starts, total), (vec![0.0, 10.0], 40.0));
        let (bars, _) = bars(&steps, 8);
        assert_eq!(bars, [Bar { offset: 0, length: 2 }, Bar { offset: 2, length: 6 }]);
        let (none, _) = bars_of_nothing();
        assert!(none.is_empty());
    }

    fn bars_of_nothing() -> (Vec<Bar>, f64) {
        bars(&[step("10.0.0.53:53", "A", 0.0, true)], 0)
    }
}
