//! The attribution source: reads the ring when the kernel wakes it (epoll through
//! tokio's `AsyncFd`, no timer at rest) and says in its status whether BPF
//! attribution runs, and how many records a full ring lost.
//!
//! The BPF side wakes the reader at most once a millisecond (or when a quarter of
//! the ring waits); when no wakeup follows within [`SETTLE`], one more drain folds
//! the records added silently since, so a record reaches the book within a few
//! milliseconds even when no consumer asks — and consumers drain before every join
//! anyway. At rest nothing wakes: the timer runs only after a wakeup.

use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::{Availability, BpfAttribution};
use crate::model::{SourceId, SourceState};
use crate::source::{EventSink, Source, SourceError};

/// After a wakeup, the next is awaited this long before the ring is drained anyway
/// (the BPF side forces a wakeup at most 1 ms after the last one).
pub const SETTLE: Duration = Duration::from_millis(1);

/// The attribution source; see the module documentation.
#[derive(Debug, Clone)]
pub struct AttributionSource {
    availability: Availability,
}

impl AttributionSource {
    /// A source over what [`super::load`] produced.
    #[must_use]
    pub const fn new(availability: Availability) -> Self {
        Self { availability }
    }
}

/// The status while attached.
fn attached(attribution: &BpfAttribution, lost: u64) -> (SourceState, String) {
    let base = format!(
        "BPF: connect, sendmsg and DNS egress hooks on the cgroup v2 root {}; owners recorded as processes act",
        attribution.root().display()
    );
    if lost == 0 {
        (SourceState::Ok, base)
    } else {
        (
            SourceState::Degraded,
            format!(
                "{base}; {lost} records lost to a full ring (a connection storm): those sockets' owners come from /proc"
            ),
        )
    }
}

impl Source for AttributionSource {
    fn id(&self) -> SourceId {
        SourceId::Attribution
    }

    #[expect(unsafe_code, reason = "tokio 1.54 made registering a descriptor unsafe; see SAFETY")]
    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        let attribution = match &self.availability {
            Availability::Attached(attribution) => attribution.clone(),
            Availability::Unavailable(why) => {
                sink.status(SourceState::Degraded, why.clone()).await?;
                // Nothing to read: the other sources use /proc. Stay, so the status stays.
                std::future::pending::<()>().await;
                return Ok(());
            }
        };
        let fd = attribution
            .ring_fd()
            .try_clone()
            .map_err(|error| SourceError::io("duplicating the BPF ring descriptor", error))?;
        // SAFETY: the `AsyncFd` owns the `OwnedFd` (a duplicate of the ring's), whose
        // `as_raw_fd` is the same open descriptor for its whole life: it is closed only
        // when the `AsyncFd` drops it.
        let ring = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|error| SourceError::io("registering the BPF ring with epoll", error.into()))?;
        let mut lost = attribution.lost();
        let (state, detail) = attached(&attribution, lost);
        sink.status(state, detail).await?;
        loop {
            let mut guard =
                ring.readable().await.map_err(|error| SourceError::io("waiting on the BPF ring", error))?;
            guard.clear_ready();
            drop(guard);
            attribution.drain();
            // While records keep coming, the BPF side wakes us at least once per
            // SETTLE; when a wakeup does not come within it, one drain folds what was
            // added silently since, and the reader sleeps until the next wakeup.
            loop {
                let Ok(guard) = tokio::time::timeout(SETTLE, ring.readable()).await else {
                    attribution.drain();
                    break;
                };
                let mut guard = guard.map_err(|error| SourceError::io("waiting on the BPF ring", error))?;
                guard.clear_ready();
                drop(guard);
                attribution.drain();
            }
            let now = attribution.lost();
            if now != lost {
                lost = now;
                let (state, detail) = attached(&attribution, lost);
                sink.status(state, detail).await?;
            }
        }
    }
}
