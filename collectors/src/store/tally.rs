//! Running totals the daemon exports as counters and histograms (issue 15): they grow
//! for as long as their subject (a target, a source and kind) exists, and are bounded
//! by those subjects, never by time.

use serde::{Deserialize, Serialize};

/// Upper bounds of the round-trip-time buckets, in seconds: from a LAN's half
/// millisecond to a satellite link's seconds.
pub const RTT_BOUNDS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Counts of observed durations by bucket ([`RTT_BOUNDS`], then +Inf), with their sum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last is above every bound.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self { counts: vec![0; RTT_BOUNDS.len() + 1], sum: 0.0, count: 0 }
    }
}

impl Histogram {
    /// Count one duration of `seconds`.
    pub fn observe(&mut self, seconds: f64) {
        let bucket = RTT_BOUNDS.iter().position(|&bound| seconds <= bound).unwrap_or(RTT_BOUNDS.len());
        if let Some(slot) = self.counts.get_mut(bucket) {
            *slot += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }

    /// The sum of what was observed.
    #[must_use]
    pub const fn sum(&self) -> f64 {
        self.sum
    }

    /// How many were observed.
    #[must_use]
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// (upper bound, observations in that bucket), the last bound `f64::MAX` (+Inf).
    #[must_use]
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        RTT_BOUNDS.iter().copied().chain([f64::MAX]).zip(self.counts.iter().copied()).collect()
    }
}

/// A watched target's totals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PathTally {
    /// Status changes since it was first seen.
    pub transitions: u64,
    /// Round-trip times of its probes: the latest probe's, each time a paths table
    /// reports a probe sent since the one before.
    pub rtt: Histogram,
    /// The probe count of the last table, to tell a new probe from the same one.
    pub(super) probes_sent: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let mut histogram = Histogram::default();
        for seconds in [0.0005, 0.0006, 0.02, 3.0] {
            histogram.observe(seconds);
        }
        let buckets = histogram.buckets();
        assert_eq!(buckets.len(), RTT_BOUNDS.len() + 1);
        assert_eq!(buckets[0], (0.0005, 1));
        assert_eq!(buckets[1], (0.001, 1));
        assert_eq!(buckets[5], (0.025, 1));
        assert_eq!(buckets[12], (f64::MAX, 1));
        assert_eq!(histogram.count(), 4);
        assert!((histogram.sum() - 3.0211).abs() < 1e-9);
    }
}
