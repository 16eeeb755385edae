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

/// The rate of frames is taken over this long: a flood is seen within it (20 ms at
/// 100,000 frames a second), while the quiet ring holds some 8 ms of it.
pub const RATE_WINDOW: Duration = Duration::from_millis(100);

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
    /// Busy from 20,000 frames a second, quiet again after a minute without a busy
    /// read.
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

    /// Blocks handed over at one read from which the interface is busy: half the quiet
    /// ring. Under load the kernel hands a block over every millisecond (its retire
    /// timer), so that many found at once means the reader fell that many
    /// milliseconds behind, halfway to drops.
    fn burst(&self) -> u64 {
        u64::from(self.quiet.block_count / 2).max(1)
    }
}

/// What one read of an interface's rings found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Read {
    /// Frames read.
    pub frames: u64,
    /// Blocks they came in.
    pub blocks: u64,
    /// Frames the kernel dropped since the last read: the ring was full.
    pub dropped: u64,
}

/// What one interface's reads said about its load.
#[derive(Debug, Clone)]
pub struct Load {
    /// Frames read since `since`, for the rate over about [`RATE_WINDOW`].
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

    /// One read at `now`: `frames` read from `blocks` blocks, `dropped` by the kernel
    /// since the last read (a full ring). Returns whether the interface is busy: it
    /// dropped, or the read found half the quiet ring handed over, or the frames of
    /// the last [`RATE_WINDOW`] or so came at [`RingSizes::busy_rate`].
    pub fn observe(&mut self, sizes: &RingSizes, now: Instant, read: Read) -> bool {
        let Read { frames, blocks, dropped } = read;
        self.frames += frames;
        let elapsed = now.saturating_duration_since(self.since);
        // A whole window's worth already is busy, however early in the window.
        let window_frames =
            sizes.busy_rate / (Duration::from_secs(1).as_millis() / RATE_WINDOW.as_millis()) as u64;
        let mut busy = dropped > 0 || blocks >= sizes.burst() || self.frames >= window_frames;
        if elapsed >= RATE_WINDOW {
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

    const fn read(frames: u64, blocks: u64, dropped: u64) -> Read {
        Read { frames, blocks, dropped }
    }

    #[test]
    fn a_trickle_is_quiet_and_a_drop_a_burst_or_a_flood_is_busy() {
        let sizes = sizes();
        let start = Instant::now();
        let mut load = Load::new(start);
        // 100 frames a millisecond read each millisecond, one block each: 100,000/s is
        // no burst but reaches the rate (2,000 frames in the window) within 20 ms.
        let mut busy_after = None;
        for ms in 1..=500u64 {
            if load.observe(&sizes, start + Duration::from_millis(ms), read(100, 1, 0))
                && busy_after.is_none()
            {
                busy_after = Some(ms);
            }
        }
        assert_eq!(busy_after, Some(20), "2,000 frames in 100 ms make it busy");

        let mut load = Load::new(start);
        for ms in 1..=10_000u64 {
            assert!(
                !load.observe(&sizes, start + Duration::from_millis(ms), read(5, 1, 0)),
                "5,000/s is quiet"
            );
        }
        assert!(load.calm(&sizes, start + Duration::from_secs(10)), "never busy: calm");
        assert!(load.observe(&sizes, start + Duration::from_secs(11), read(1, 1, 3)), "a drop is busy");
        let mut load = Load::new(start);
        assert!(load.observe(&sizes, start, read(40, 4, 0)), "half the quiet ring's blocks at one read");
        assert!(!Load::new(start).observe(&sizes, start, read(30, 3, 0)));
    }

    #[test]
    fn an_interface_is_calm_a_while_after_its_last_busy_read() {
        let sizes = RingSizes { calm_after: Duration::from_secs(60), ..sizes() };
        let start = Instant::now();
        let mut load = Load::new(start);
        assert!(load.observe(&sizes, start, read(0, 0, 1)));
        assert_eq!(load.calm_at(&sizes), Some(start + Duration::from_secs(60)));
        assert!(!load.calm(&sizes, start + Duration::from_secs(59)));
        // A busy read later pushes the calm back.
        assert!(load.observe(&sizes, start + Duration::from_secs(30), read(0, 0, 2)));
        assert!(!load.calm(&sizes, start + Duration::from_secs(60)));
        assert!(load.calm(&sizes, start + Duration::from_secs(90)));
    }

    #[test]
    fn fixed_sizes_never_resize() {
        assert!(!RingSizes::fixed(RingConfig::QUIET).resizes());
        assert!(sizes().resizes());
        assert_eq!(sizes().ring(true), RingConfig::BUSY);
        assert_eq!(sizes().ring(false).bytes(), 256 << 10);
        assert_eq!(sizes().burst(), 4);
    }
}
