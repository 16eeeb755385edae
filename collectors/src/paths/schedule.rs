//! When a target is probed next (DESIGN.md §1 note 9: don't disturb what you
//! measure): a target that answers is probed once per period; one that does not is
//! retried after the period, then after twice as long each time, up to a ceiling, so a
//! dead target costs a probe a minute rather than one a second. A success, "probe
//! now" or a change of the target's path starts the schedule over.
//!
//! Pure: the source keeps the count of failures in a row and asks for the delay.

use std::time::Duration;

/// The longest wait between two probes of a failing target.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// How long to wait before the next probe of a target whose latest `failures` probes
/// in a row failed (0: the latest answered), with `period` between probes of a target
/// that answers and `max` the ceiling of the backoff.
///
/// With the default 5 s period: 5 s while it answers; after failures 5 s, 10 s, 20 s,
/// 40 s, then 60 s for as long as it keeps failing.
#[must_use]
pub fn next_delay(period: Duration, max: Duration, failures: u32) -> Duration {
    // The ceiling never shortens the period the user asked for.
    let max = max.max(period);
    let doublings = failures.saturating_sub(1);
    // 2^6 × any period of at least 1 s is past the 60 s ceiling: cap the shift so
    // the multiplication cannot overflow.
    let factor = 1_u32 << doublings.min(16);
    period.checked_mul(factor).map_or(max, |delay| delay.min(max))
}

/// The first `count` probe start times, in seconds after the first, of a target that
/// never answers and whose probes take no time: the most probes the schedule allows
/// in any window starting with a probe. Used by tests to bound what goes on the wire.
#[must_use]
pub fn failing_probe_starts(period: Duration, max: Duration, count: usize) -> Vec<Duration> {
    let mut starts = Vec::with_capacity(count);
    let mut at = Duration::ZERO;
    for failures in 1..=count {
        starts.push(at);
        at += next_delay(period, max, u32::try_from(failures).unwrap_or(u32::MAX));
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(5);

    fn secs(delays: &[u64]) -> Vec<Duration> {
        delays.iter().map(|&s| Duration::from_secs(s)).collect()
    }

    #[test]
    fn an_answering_target_stays_at_its_period() {
        assert_eq!(next_delay(PERIOD, BACKOFF_MAX, 0), PERIOD);
    }

    #[test]
    fn a_failing_target_backs_off_by_doubling_up_to_the_ceiling() {
        let delays: Vec<Duration> = (1..=8).map(|n| next_delay(PERIOD, BACKOFF_MAX, n)).collect();
        assert_eq!(delays, secs(&[5, 10, 20, 40, 60, 60, 60, 60]));
    }

    #[test]
    fn the_ceiling_never_shortens_a_longer_period_and_nothing_overflows() {
        let hour = Duration::from_secs(3600);
        assert_eq!(next_delay(hour, BACKOFF_MAX, 3), hour);
        assert_eq!(next_delay(PERIOD, BACKOFF_MAX, u32::MAX), BACKOFF_MAX);
        let short = Duration::from_millis(500);
        assert_eq!(next_delay(short, BACKOFF_MAX, 2), Duration::from_secs(1));
    }

    #[test]
    fn thirty_seconds_of_a_dead_target_hold_three_probes() {
        // 0, 5, 15: the next would be at 35 s.
        let starts = failing_probe_starts(PERIOD, BACKOFF_MAX, 5);
        assert_eq!(starts, secs(&[0, 5, 15, 35, 75]));
        assert_eq!(starts.iter().filter(|at| at.as_secs() < 30).count(), 3);
    }
}
