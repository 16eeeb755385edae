//! The rtnetlink backend, reading the process's kernel view ([`KernelView`]): its
//! first table, then each notification batch put on the timeline at once, and a
//! debounced send of the latest table, plus a link dump for counters every refresh.

pub(crate) mod notify;
pub(crate) mod parse;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, MissedTickBehavior};

use crate::event::{Notice, Payload};
use crate::kernel_view::{KernelView, NetworkView};
use crate::model::SourceState;
use crate::source::{EventSink, SourceError};

use super::InterfacesConfig;
use super::known::{Change, KnownState};
use super::phrase;

/// What the status line says while this backend runs.
const STATUS_DETAIL: &str = "rtnetlink: live links, addresses, routes, rules and neighbours";

/// Everything the loop carries between wake-ups.
struct Session<'a> {
    known: KnownState,
    /// The generation last sent to the store.
    sent: u64,
    /// The resync count last reported.
    resyncs: u64,
    sink: &'a EventSink,
}

/// Run until the sink closes or the kernel view fails.
pub(super) async fn run(
    kernel: &KernelView,
    config: &InterfacesConfig,
    sink: &EventSink,
) -> Result<(), SourceError> {
    // Subscribed before the first table is taken, so no batch after it is missed.
    let mut changes = kernel.changes();
    let mut views = kernel.subscribe();
    sink.status(SourceState::Ok, STATUS_DETAIL).await?;
    let first = kernel.first().await?;
    let mut session = Session {
        known: KnownState::from_table(&first.table),
        sent: first.generation,
        resyncs: first.resyncs,
        sink,
    };
    sink.send(Payload::Network(first.table.clone())).await?;

    let period = config.refresh_period();
    let mut refresh = tokio::time::interval_at(Instant::now() + period, period);
    refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut send = Debounce::default();
    loop {
        tokio::select! {
            batch = changes.recv() => match batch {
                Ok(batch) => session.report(&batch).await?,
                // Fell behind (the store was slow): what was missed comes from the table.
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "fell behind the kernel view's notifications; resyncing");
                    let view = kernel.refresh().await?;
                    session.resync(&view).await?;
                    send.clear();
                }
                Err(RecvError::Closed) => return Err(SourceError::Other("the kernel view stopped".to_owned())),
            },
            view_changed = views.changed() => {
                view_changed.map_err(|_| SourceError::Other("the kernel view stopped".to_owned()))?;
                let view = Arc::clone(&views.borrow_and_update());
                if let Some(failure) = &view.failure {
                    return Err(SourceError::Other(failure.clone()));
                }
                if view.resyncs != session.resyncs {
                    session.resync(&view).await?;
                    send.clear();
                } else if view.generation > session.sent {
                    send.notified(Instant::now(), config.debounce);
                }
            }
            () = sleep_until(send.due()), if send.due().is_some() => {
                send.clear();
                let view = kernel.current();
                session.send_table(&view).await?;
            }
            _ = refresh.tick() => {
                let counters = kernel.counters().await?;
                sink.send(Payload::Counters(counters)).await?;
            }
        }
    }
}

/// When the next table is due: set by the first new read after a send and never
/// pushed back, so a steady stream of changes still reaches the store within
/// `debounce` and a burst costs one table.
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
    async fn report(&mut self, batch: &[Change]) -> Result<(), SourceError> {
        let mut notices: Vec<Notice> = Vec::new();
        for change in batch {
            self.known.apply(change.clone(), &mut notices);
        }
        self.sink.notices(notices).await?;
        Ok(())
    }

    /// The debounced table after notifications.
    async fn send_table(&mut self, view: &NetworkView) -> Result<(), SourceError> {
        if view.generation <= self.sent {
            return Ok(());
        }
        self.known.retain_present(&view.table);
        self.sent = view.generation;
        self.sink.send(Payload::Network(view.table.clone())).await?;
        Ok(())
    }

    /// Notifications were lost (by the kernel or on the way here): report the
    /// difference between what was last known and the full table.
    async fn resync(&mut self, view: &NetworkView) -> Result<(), SourceError> {
        let mut notices = vec![phrase::resynced()];
        for change in self.known.changes_to(&view.table) {
            self.known.apply(change, &mut notices);
        }
        self.known = KnownState::from_table(&view.table);
        self.resyncs = view.resyncs;
        self.sent = view.generation;
        self.sink.notices(notices).await?;
        self.sink.send(Payload::Network(view.table.clone())).await?;
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
