//! One interface as the store keeps it: its latest description, its rates and their
//! history, and each counter's growth over the last interval.

use crate::clock::{Mono, Stamp};
use crate::history::Ring;
use crate::model::{Interface, InterfaceRates, InterfaceStats, Timestamp};

use super::StoreLimits;

/// One rate sample for the sparklines.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RateSample {
    /// When the sample's second counter reading was taken (wall clock: for display).
    pub at: Option<Timestamp>,
    /// The same moment on the monotonic clock: what spans of history are measured on.
    pub mono: Option<Mono>,
    /// The rates over the interval ending then.
    pub rates: InterfaceRates,
}

/// An interface with everything netlens derived about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InterfaceEntry {
    /// The latest description from the source.
    pub info: Interface,
    /// Current rates, once two samples exist; `None` right after a counter reset.
    pub rates: Option<InterfaceRates>,
    /// Recent rates, oldest first.
    pub history: Ring<RateSample>,
    /// When netlens first saw this index.
    pub first_seen: Timestamp,
    /// The baseline counter reading for the next rate, on the monotonic clock.
    baseline: Option<(Mono, InterfaceStats)>,
    /// Each counter's growth over the interval of the current rates, and the interval.
    growth: Option<(time::Duration, InterfaceStats)>,
}

impl InterfaceEntry {
    /// How long the rate history covers, on the monotonic clock (unmoved by wall-clock
    /// steps); `None` with fewer than two samples.
    #[must_use]
    pub fn history_span(&self) -> Option<time::Duration> {
        let first = self.history.iter().next()?.mono?;
        let last = self.history.last()?.mono?;
        (self.history.len() > 1).then(|| last - first)
    }

    /// Each counter's growth (errors and drops too) over the interval of the current
    /// rates, and that interval; `None` before two readings, or when a counter went
    /// back (the interface was reset or recreated).
    #[must_use]
    pub const fn counter_growth(&self) -> Option<(time::Duration, InterfaceStats)> {
        self.growth
    }

    pub(super) fn new(info: Interface, at: Timestamp, history_capacity: usize) -> Self {
        Self {
            info,
            rates: None,
            history: Ring::new(history_capacity),
            first_seen: at,
            baseline: None,
            growth: None,
        }
    }

    /// Fold one counter reading: a rate over the interval since the baseline, unless
    /// the interval is too short or a counter went backwards (the interface was reset
    /// or recreated), in which case the rate restarts from this reading.
    pub(super) fn sample(&mut self, at: Stamp, stats: InterfaceStats, limits: &StoreLimits) {
        self.info.stats = Some(stats);
        let Some((then, old)) = self.baseline else {
            self.baseline = Some((at.mono, stats));
            return;
        };
        let elapsed = at.mono - then;
        if elapsed < limits.min_rate_interval {
            return;
        }
        self.baseline = Some((at.mono, stats));
        let went_back = stats.rx_bytes < old.rx_bytes
            || stats.tx_bytes < old.tx_bytes
            || stats.rx_packets < old.rx_packets
            || stats.tx_packets < old.tx_packets;
        self.growth = grown(&stats, &old).map(|grown| (elapsed, grown));
        if went_back {
            self.rates = None;
            return;
        }
        let secs = elapsed.as_seconds_f64();
        let rates = InterfaceRates {
            rx_bytes_per_s: (stats.rx_bytes - old.rx_bytes) as f64 / secs,
            tx_bytes_per_s: (stats.tx_bytes - old.tx_bytes) as f64 / secs,
            rx_packets_per_s: (stats.rx_packets - old.rx_packets) as f64 / secs,
            tx_packets_per_s: (stats.tx_packets - old.tx_packets) as f64 / secs,
        };
        self.rates = Some(rates);
        self.history.push(RateSample { at: Some(at.wall), mono: Some(at.mono), rates });
    }
}

/// Each counter of `now` minus the same counter of `then`; `None` when one went back.
fn grown(now: &InterfaceStats, then: &InterfaceStats) -> Option<InterfaceStats> {
    Some(InterfaceStats {
        rx_bytes: now.rx_bytes.checked_sub(then.rx_bytes)?,
        tx_bytes: now.tx_bytes.checked_sub(then.tx_bytes)?,
        rx_packets: now.rx_packets.checked_sub(then.rx_packets)?,
        tx_packets: now.tx_packets.checked_sub(then.tx_packets)?,
        rx_errors: now.rx_errors.checked_sub(then.rx_errors)?,
        tx_errors: now.tx_errors.checked_sub(then.tx_errors)?,
        rx_dropped: now.rx_dropped.checked_sub(then.rx_dropped)?,
        tx_dropped: now.tx_dropped.checked_sub(then.tx_dropped)?,
    })
}
