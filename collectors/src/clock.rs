//! The monotonic clock every duration in the store is measured on.
//!
//! Wall time (`Timestamp`) can step: NTP corrects it, a user sets it, a VM resumes.
//! Rates, stalls, bursts and retention measured on it freeze, go negative or spike
//! after such a step, so every event carries a [`Mono`] reading besides its wall
//! time, and the store measures every interval and age on it; wall time is only shown
//! and exported.

use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::OnceLock;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A reading of the monotonic clock: signed nanoseconds from the process's clock
/// epoch (its first reading).
///
/// A plain number, not an [`Instant`], so events can be recorded and replayed; signed,
/// so a scripted or replayed session can place events before the epoch (the demo plays
/// a script that "happened" before netlens started). Only differences of readings from
/// one run mean anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Mono(i64);

/// The first reading of the process: `Mono(0)`. `std`'s `Instant` is `CLOCK_MONOTONIC`
/// on Linux, the clock tokio's timers use too, and needs no runtime dependency (the
/// UI crate builds this crate without one).
static EPOCH: OnceLock<Instant> = OnceLock::new();

impl Mono {
    /// The clock epoch.
    pub const ZERO: Self = Self(0);

    /// The clock now.
    #[must_use]
    pub fn now() -> Self {
        Self::from_instant(Instant::now())
    }

    /// The reading at `instant` (an earlier moment a source measured, e.g. when a
    /// probe round started).
    #[must_use]
    pub fn from_instant(instant: Instant) -> Self {
        let epoch = *EPOCH.get_or_init(|| instant);
        let nanos = match instant.checked_duration_since(epoch) {
            Some(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
            None => {
                i64::try_from(epoch.duration_since(instant).as_nanos()).map_or(i64::MIN, |before| -before)
            }
        };
        Self(nanos)
    }

    /// The reading `nanos` nanoseconds from the epoch (tests, scripts, replays).
    #[must_use]
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    /// Nanoseconds from the epoch.
    #[must_use]
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// The reading `offset` later (earlier, if negative), saturating at the ends.
    #[must_use]
    pub fn offset(self, offset: time::Duration) -> Self {
        let nanos = i128::from(self.0) + offset.whole_nanoseconds();
        Self(i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX }))
    }
}

/// The interval from `earlier` to `self`: negative when `earlier` is in fact later
/// (events of two sources can arrive in another order than they were stamped).
impl Sub for Mono {
    type Output = time::Duration;

    fn sub(self, earlier: Self) -> time::Duration {
        time::Duration::nanoseconds(self.0.saturating_sub(earlier.0))
    }
}

impl Add<time::Duration> for Mono {
    type Output = Self;

    fn add(self, offset: time::Duration) -> Self {
        self.offset(offset)
    }
}

impl Sub<time::Duration> for Mono {
    type Output = Self;

    fn sub(self, offset: time::Duration) -> Self {
        self.offset(-offset)
    }
}

impl AddAssign<time::Duration> for Mono {
    fn add_assign(&mut self, offset: time::Duration) {
        *self = self.offset(offset);
    }
}

impl SubAssign<time::Duration> for Mono {
    fn sub_assign(&mut self, offset: time::Duration) {
        *self = self.offset(-offset);
    }
}

/// One moment read on both clocks: the wall time to show, the monotonic time to
/// measure with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// Wall-clock time, for display and export.
    pub wall: time::OffsetDateTime,
    /// Monotonic time, for intervals and ages.
    pub mono: Mono,
}

impl Stamp {
    /// Now, on both clocks.
    #[must_use]
    pub fn now() -> Self {
        Self { wall: time::OffsetDateTime::now_utc(), mono: Mono::now() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_advance_and_subtract_to_durations() {
        let first = Mono::now();
        let later = Mono::from_instant(Instant::now() + std::time::Duration::from_secs(2));
        assert!(later - first >= time::Duration::seconds(2));
        assert!(first - later <= time::Duration::seconds(-2), "a reversed interval is negative");
    }

    #[test]
    fn an_instant_before_the_epoch_reads_negative() {
        let _ = Mono::now();
        let epoch = *EPOCH.get_or_init(Instant::now);
        if let Some(before) = epoch.checked_sub(std::time::Duration::from_millis(1500)) {
            assert_eq!(Mono::from_instant(before), Mono::from_nanos(-1_500_000_000));
        }
    }

    #[test]
    fn offsets_saturate_instead_of_wrapping() {
        assert_eq!(Mono::from_nanos(i64::MAX - 1) + time::Duration::seconds(1), Mono::from_nanos(i64::MAX));
        assert_eq!(Mono::from_nanos(i64::MIN + 1) - time::Duration::seconds(1), Mono::from_nanos(i64::MIN));
        assert_eq!(Mono::from_nanos(i64::MIN) - Mono::from_nanos(1), time::Duration::nanoseconds(i64::MIN));
        assert_eq!(Mono::ZERO + time::Duration::milliseconds(250), Mono::from_nanos(250_000_000));
    }

    #[test]
    fn serialises_as_a_plain_number() {
        let mono = Mono::from_nanos(-42);
        assert_eq!(serde_json::to_string(&mono).ok().as_deref(), Some("-42"));
        assert_eq!(serde_json::from_str::<Mono>("1000").ok(), Some(Mono::from_nanos(1000)));
    }
}
