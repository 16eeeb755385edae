//! How large each interface's ring is: small while the interface is quiet, large
//! while it is busy.
//!
//! A ring is kernel memory mapped into netlens, so it counts in the resident size
//! whether frames arrive or not: a host with a dozen interfaces and 2 MiB rings would
//! hold 24 MiB for nothing. So every interface starts with a [`RingConfig::QUIET`]
//! ring and moves to a [`RingConfig::BUSY`] one (through the fanout group: see
//! [`super::ring`], no frame lost or counted twice) as soon as one read says it is
//! busy ([`Load::observe`]); after [`RingSizes::calm_after`] without such a read it
//! moves back.

use std::time::{Duration, Instant};

use super::ring::RingConfig;

/// Bytes of ring a header-cut frame takes, about: its `tpacket3_hdr`, the
/// `sockaddr_ll`, the headers kept, aligned.
const FRAME_BYTES: u64 = 192;

/// The rings of one engine and when each is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingSizes {
    /// The ring of a quiet interface; every interface starts with it.
    pub quiet: RingConfig,
    /// The ring of a busy interface.
    pub busy: RingConfig,
    /// Frames a second from which an interface is busy.
    pub busy_rate: u64,
    /// How long an interface stays quiet before its busy ring is given back.
    pub calm_after: Duration,
}

impl Default for RingSizes {
    /// Busy from 20,000 frames a second (the quiet ring then holds 68 ms of frames),
    /// quiet again after a minute without a busy read.
    fn default() -> Self {
        Self {
            quiet: RingConfig::QUIET,
            busy: RingConfig::BUSY,
            busy_rate: 20_000,
            calm_after: Duration::from_secs(60),
        }
    }
}

impl RingSizes {
    /// One ring size, never changed.
    #[must_use]
    pub fn fixed(ring: RingConfig) -> Self {
        Self { quiet: ring, busy: ring, ..Self::default() }
    }

    /// Whether rings change size at all.
    #[must_use]
    pub fn resizes(&self) -> bool {
        self.quiet != self.busy
    }

    /// The ring for an interface that is busy or not.
    #[must_use]
    pub const fn ring(&self, busy: bool) -> RingConfig {
        if busy { self.busy } else { self.quiet }
    }

    /// Frames in one read from which the interface is busy: a quarter of what the
    /// quiet ring holds, gathered while the capture thread was not looking.
    fn burst(&self) -> u64 {
        (self.quiet.bytes() / FRAME_BYTES / 4).max(1)
    }
}

/// What one interface's reads said about its load.
#[derive(Debug, Clone)]
pub struct Load {
    /// Frames read since `since`, for the rate over about a second.
    frames: u64,
    since: Instant,
    /// The last busy read.
    busy_at: Option<Instant>,
}

impl Load {
    /// No frame yet, at `now`.
    #[must_use]
    pub const fn new(now: Instant) -> Self {
        Self { frames: 0, since: now, busy_at: None }
    }

    /// One read at `now`: `frames` read, `dropped` by the kernel since the last read
    /// (a full ring). Returns whether the interface is busy: it dropped, or the read
    /// was a burst, or the frames of the last second or so came at
    /// [`RingSizes::busy_rate`].
    pub fn observe(&mut self, sizes: &RingSizes, now: Instant, frames: u64, dropped: u64) -> bool {
        self.frames += frames;
        let elapsed = now.saturating_duration_since(self.since);
        let second = Duration::from_secs(1);
        // A whole second's worth already is busy, however early in the window.
        let mut busy = dropped > 0 || frames >= sizes.burst() || self.frames >= sizes.busy_rate;
        if elapsed >= second {
            let rate = self.frames.saturating_mul(1_000_000) / elapsed.as_micros().max(1) as u64;
            busy |= rate >= sizes.busy_rate;
            self.frames = 0;
            self.since = now;
        }
        if busy {
            self.busy_at = Some(now);
        }
        busy
    }

    /// When the interface will have been quiet for [`RingSizes::calm_after`], if it
    /// was ever busy.
    #[must_use]
    pub fn calm_at(&self, sizes: &RingSizes) -> Option<Instant> {
        self.busy_at.map(|at| at + sizes.calm_after)
    }

    /// Whether the interface has been quiet for [`RingSizes::calm_after`] by `now`.
    #[must_use]
    pub fn calm(&self, sizes: &RingSizes, now: Instant) -> bool {
        self.calm_at(sizes).is_none_or(|at| now >= at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes() -> RingSizes {
        RingSizes::default()
    }

    #[test]
    fn a_trickle_is_quiet_and_a_drop_a_burst_or_a_flood_is_busy() {
        let sizes = sizes();
        let start = Instant::now();
        let mut load = Load::new(start);
        // 100 frames a millisecond read each millisecond for half a second: 100,000/s
        // stays under the burst but reaches the rate within the window.
        let mut busy_after = None;
        for ms in 1..=500u64 {
            if load.observe(&sizes, start + Duration::from_millis(ms), 100, 0) && busy_after.is_none() {
                busy_after = Some(ms);
            }
        }
        assert_eq!(busy_after, Some(200), "20,000 frames in the window make it busy");

        let mut load = Load::new(start);
        for ms in 1..=10_000u64 {
            assert!(!load.observe(&sizes, start + Duration::from_millis(ms), 5, 0), "5,000/s is quiet");
        }
        assert!(load.calm(&sizes, start + Duration::from_secs(10)), "never busy: calm");
        assert!(load.observe(&sizes, start + Duration::from_secs(11), 1, 3), "a drop is busy");
        let mut load = Load::new(start);
        assert!(load.observe(&sizes, start, sizes.burst(), 0), "a quarter of the quiet ring in one read");
        assert!(!Load::new(start).observe(&sizes, start, sizes.burst() - 1, 0));
    }

    #[test]
    fn an_interface_is_calm_a_while_after_its_last_busy_read() {
        let sizes = RingSizes { calm_after: Duration::from_secs(60), ..sizes() };
        let start = Instant::now();
        let mut load = Load::new(start);
        assert!(load.observe(&sizes, start, 0, 1));
        assert_eq!(load.calm_at(&sizes), Some(start + Duration::from_secs(60)));
        assert!(!load.calm(&sizes, start + Duration::from_secs(59)));
        // A busy read later pushes the calm back.
        assert!(load.observe(&sizes, start + Duration::from_secs(30), 0, 2));
        assert!(!load.calm(&sizes, start + Duration::from_secs(60)));
        assert!(load.calm(&sizes, start + Duration::from_secs(90)));
    }

    #[test]
    fn fixed_sizes_never_resize() {
        assert!(!RingSizes::fixed(RingConfig::QUIET).resizes());
        assert!(sizes().resizes());
        assert_eq!(sizes().ring(true), RingConfig::BUSY);
        assert_eq!(sizes().ring(false).bytes(), 256 << 10);
    }
}
