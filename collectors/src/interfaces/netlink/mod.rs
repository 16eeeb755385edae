//! The rtnetlink backend: an initial dump, then notifications put on the timeline at
//! once and a debounced full re-read, plus a link dump for counters every refresh.

pub(crate) mod dump;
mod notify;
pub(crate) mod parse;
pub(crate) mod socket;

use std::io;
use std::time::Duration;

use netlink_packet_core::NetlinkPayload;
use tokio::time::{Instant, MissedTickBehavior};

use crate::event::{Notice, Payload};
use crate::model::SourceState;
use crate::source::{EventSink, SourceError};

use super::InterfacesConfig;
use super::known::KnownState;
use super::phrase;
use super::sysfs::{SysfsCache, SystemSysfs};
use dump::Dumper;
use socket::RouteSocket;

/// Datagrams read (and phrased into one timeline event) per wake-up.
const MAX_BATCH: usize = 256;
/// Datagrams thrown away at most after an overrun before re-reading anyway.
const MAX_DISCARD: usize = 65_536;

/// What the status line says while this backend runs.
const STATUS_DETAIL: &str = "rtnetlink: live links, addresses, routes, rules and neighbours";

/// The two sockets, opened before anything is reported so that a kernel without
/// rtnetlink (or a sandbox forbidding it) can fall back to the portable backend.
#[derive(Debug)]
pub(super) struct Netlink {
    notifications: RouteSocket,
    requests: RouteSocket,
}

impl Netlink {
    /// Open the notification socket (with `receive_buffer` as `SO_RCVBUF`) and the
    /// request socket.
    pub(super) fn open(receive_buffer: Option<usize>) -> io::Result<Self> {
        Ok(Self {
            notifications: RouteSocket::notifications(receive_buffer)?,
            requests: RouteSocket::requests()?,
        })
    }
}

/// Everything the loop carries between wake-ups.
struct Session<'a> {
    notifications: RouteSocket,
    dumper: Dumper,
    sysfs: SysfsCache,
    known: KnownState,
    sink: &'a EventSink,
}

/// Run until the sink closes or a socket fails.
pub(super) async fn run(
    netlink: Netlink,
    config: &InterfacesConfig,
    sink: &EventSink,
) -> Result<(), SourceError> {
    sink.status(SourceState::Ok, STATUS_DETAIL).await?;
    let mut session = Session {
        notifications: netlink.notifications,
        dumper: Dumper::new(netlink.requests),
        sysfs: SysfsCache::new(Box::new(SystemSysfs)),
        known: KnownState::default(),
        sink,
    };
    let table = session.dumper.network(&mut session.sysfs).await?;
    session.known = KnownState::from_table(&table);
    sink.send(Payload::Network(table)).await?;

    let period = config.refresh_period();
    let mut refresh = tokio::time::interval_at(Instant::now() + period, period);
    refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut reread = Debounce::default();
    loop {
        tokio::select! {
            received = session.notifications.recv(MAX_BATCH) => {
                let received =
                    received.map_err(|error| SourceError::io("reading rtnetlink notifications", error))?;
                let any = !received.frames.is_empty();
                session.report(received.frames).await?;
                if received.lost {
                    session.resync().await?;
                    reread.clear();
                } else if any {
                    reread.notified(Instant::now(), config.debounce);
                }
            }
            () = sleep_until(reread.due()), if reread.due().is_some() => {
                reread.clear();
                session.reread().await?;
            }
            _ = refresh.tick() => {
                let counters = session.dumper.counters().await?;
                sink.send(Payload::Counters(counters)).await?;
            }
        }
    }
}

/// When the next re-read is due: set by the first notification after a re-read and
/// never pushed back, so a steady stream of changes still reaches the store within
/// `debounce` and a burst costs one re-read.
#[derive(Debug, Default)]
struct Debounce {
    due: Option<Instant>,
}

impl Debounce {
    fn notified(&mut self, now: Instant, delay: Duration) {
        self.due.get_or_insert(now + delay);
    }

    const fn due(&self) -> Option<Instant> {
        self.due
    }

    const fn clear(&mut self) {
        self.due = None;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

impl Session<'_> {
    /// Put one batch of notifications on the timeline as one event.
    async fn report(&mut self, frames: Vec<socket::Frame>) -> Result<(), SourceError> {
        let mut notices: Vec<Notice> = Vec::new();
        for frame in frames {
            if let Some(NetlinkPayload::InnerMessage(message)) = frame.payload
                && let Some(change) = notify::change(&message, &mut self.sysfs)
            {
                self.known.apply(change, &mut notices);
            }
        }
        self.sink.notices(notices).await?;
        Ok(())
    }

    /// The debounced re-read after notifications.
    async fn reread(&mut self) -> Result<(), SourceError> {
        let table = self.dumper.network(&mut self.sysfs).await?;
        self.known.retain_present(&table);
        self.sink.send(Payload::Network(table)).await?;
        Ok(())
    }

    /// Notifications were lost: drop what is queued (the re-read covers it), read
    /// everything, and report the difference from what was last known.
    async fn resync(&mut self) -> Result<(), SourceError> {
        let discarded = self
            .notifications
            .discard_queued(MAX_DISCARD)
            .map_err(|error| SourceError::io("draining rtnetlink notifications after an overrun", error))?;
        tracing::info!(discarded, "rtnetlink receive buffer overran; re-reading everything");
        let table = self.dumper.network(&mut self.sysfs).await?;
        let mut notices = vec![phrase::resynced()];
        for change in self.known.changes_to(&table) {
            self.known.apply(change, &mut notices);
        }
        self.known = KnownState::from_table(&table);
        self.sink.notices(notices).await?;
        self.sink.send(Payload::Network(table)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_notifications_do_not_postpone_the_reread() {
        let start = Instant::now();
        let delay = Duration::from_millis(150);
        let mut debounce = Debounce::default();
        assert_eq!(debounce.due(), None);
        debounce.notified(start, delay);
        for offset in [10, 50, 149, 400] {
            debounce.notified(start + Duration::from_millis(offset), delay);
        }
        assert_eq!(debounce.due(), Some(start + delay));
        debounce.clear();
        debounce.notified(start + Duration::from_millis(500), delay);
        assert_eq!(debounce.due(), Some(start + Duration::from_millis(650)));
    }
}
