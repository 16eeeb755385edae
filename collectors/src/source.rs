//! The [`Source`] trait every collector implements, and the supervisor that runs
//! each one as a tokio task, reports its failures as events and restarts it with
//! backoff. A failing source is shown in its pane; it never ends the process.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::event::{Event, Notice, Payload};
use crate::model::{SourceId, SourceState, SourceStatus};

/// The app task has gone: the source should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the event receiver has closed")]
pub struct Closed;

/// Why a source stopped.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The app task is gone; stop quietly.
    #[error(transparent)]
    Closed(#[from] Closed),
    /// An operating-system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Other(String),
}

impl SourceError {
    /// Wrap an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }
}

/// A source's handle on the event channel, stamping every event with its id.
#[derive(Debug, Clone)]
pub struct EventSink {
    source: SourceId,
    tx: mpsc::Sender<Event>,
}

impl EventSink {
    /// A sink sending on `tx` as `source`.
    #[must_use]
    pub const fn new(source: SourceId, tx: mpsc::Sender<Event>) -> Self {
        Self { source, tx }
    }

    /// The id events are stamped with.
    #[must_use]
    pub const fn source(&self) -> SourceId {
        self.source
    }

    /// Send an event as it is, with its own time and source (replays).
    pub async fn send_event(&self, event: Event) -> Result<(), Closed> {
        self.tx.send(event).await.map_err(|_| Closed)
    }

    /// Send one payload observed now. Waits when the channel is full (backpressure).
    pub async fn send(&self, payload: Payload) -> Result<(), Closed> {
        self.tx.send(Event::now(self.source, payload)).await.map_err(|_| Closed)
    }

    /// Report this source's health.
    pub async fn status(&self, status: SourceState, detail: impl Into<String>) -> Result<(), Closed> {
        self.send(Payload::Status(SourceStatus { name: self.source, status, detail: detail.into() })).await
    }

    /// Put notices on the timeline; does nothing for an empty list.
    pub async fn notices(&self, notices: Vec<Notice>) -> Result<(), Closed> {
        if notices.is_empty() {
            return Ok(());
        }
        self.send(Payload::Notices(notices)).await
    }
}

/// A collector: runs until it fails or the app goes away.
pub trait Source: Send + 'static {
    /// The id its events carry.
    fn id(&self) -> SourceId;

    /// Collect and send events. Returns `Ok(())` only when the sink has closed; an
    /// error is reported and the source is run again after a backoff.
    fn run(&mut self, sink: &EventSink) -> impl Future<Output = Result<(), SourceError>> + Send;
}

/// A run at least this long counts as healthy: the next failure backs off from 1 s.
pub const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Restart delays after consecutive failures: 1 s, 2 s, 4 s, … capped at 30 s.
#[must_use]
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(5)).min(Duration::from_secs(30))
}

/// Run `source` on the current tokio runtime until the receiver closes, restarting
/// it with backoff after each failure and reporting every failure as its status.
pub fn spawn_supervised<S: Source>(mut source: S, tx: mpsc::Sender<Event>) -> tokio::task::JoinHandle<()> {
    let sink = EventSink::new(source.id(), tx);
    tokio::spawn(async move {
        let mut failures = 0;
        loop {
            let started = tokio::time::Instant::now();
            match source.run(&sink).await {
                Ok(()) | Err(SourceError::Closed(_)) => return,
                Err(error) => {
                    tracing::warn!(source = sink.source().as_str(), %error, "source failed");
                    // A source that ran well for a while starts its backoff over: a
                    // fault days apart from the last is not the sixth in a row.
                    if started.elapsed() >= HEALTHY_RUN {
                        failures = 0;
                    }
                    let delay = backoff(failures);
                    let detail = format!("{error} (retrying in {} s)", delay.as_secs());
                    if sink.status(SourceState::Failed, detail).await.is_err() {
                        return;
                    }
                    failures = failures.saturating_add(1);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Flaky {
        runs: u32,
    }

    impl Source for Flaky {
        fn id(&self) -> SourceId {
            SourceId::System
        }

        async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
            self.runs += 1;
            if self.runs < 3 {
                return Err(SourceError::Other(format!("failure {}", self.runs)));
            }
            sink.status(SourceState::Ok, "recovered").await?;
            std::future::pending::<()>().await;
            Ok(())
        }
    }

    struct Sturdy {
        runs: u32,
    }

    impl Source for Sturdy {
        fn id(&self) -> SourceId {
            SourceId::System
        }

        async fn run(&mut self, _sink: &EventSink) -> Result<(), SourceError> {
            self.runs += 1;
            if self.runs == 3 {
                // The third run is healthy for a long time before it fails.
                tokio::time::sleep(HEALTHY_RUN).await;
            }
            Err(SourceError::Other(format!("failure {}", self.runs)))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_healthy_run_starts_the_backoff_over() {
        let (tx, mut rx) = mpsc::channel(8);
        let handle = spawn_supervised(Sturdy { runs: 0 }, tx);
        let mut details = Vec::new();
        while details.len() < 4 {
            if let Some(Payload::Status(status)) = rx.recv().await.map(|e| e.payload) {
                details.push(status.detail);
            }
        }
        handle.abort();
        assert_eq!(
            details,
            [
                "failure 1 (retrying in 1 s)",
                "failure 2 (retrying in 2 s)",
                "failure 3 (retrying in 1 s)",
                "failure 4 (retrying in 2 s)"
            ]
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(10), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_reported_and_the_source_restarted() {
        let (tx, mut rx) = mpsc::channel(8);
        let handle = spawn_supervised(Flaky { runs: 0 }, tx);
        let mut details = Vec::new();
        while details.len() < 3 {
            match rx.recv().await.map(|e| e.payload) {
                Some(Payload::Status(status)) => details.push((status.status, status.detail)),
                other => panic!("unexpected {other:?}"),
            }
        }
        handle.abort();
        assert_eq!(details[0], (SourceState::Failed, "failure 1 (retrying in 1 s)".to_owned()));
        assert_eq!(details[1], (SourceState::Failed, "failure 2 (retrying in 2 s)".to_owned()));
        assert_eq!(details[2], (SourceState::Ok, "recovered".to_owned()));
    }
}
