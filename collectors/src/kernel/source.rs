//! The source task: a reading every refresh, sent whole.

use std::time::Duration;

use super::{CounterFiles, read, read_again};
use crate::event::Payload;
use crate::model::KernelCounters;
use crate::model::{SourceId, SourceState};
use crate::source::{EventSink, Source, SourceError};

/// Every this many readings, the settings (`nf_conntrack_max`, the port range,
/// `rp_filter`) are read again too; between, they are carried over.
const SETTINGS_EVERY: u32 = 10;

/// Reads the kernel counters every `refresh`. Counter files have no change
/// notification, so this is the one timer-driven reader. It reads on its own task,
/// not the blocking pool: procfs answers from memory in microseconds, and handing
/// each reading to another thread cost more than the reading (measured with
/// `examples/kernel_source_cpu.rs`).
#[derive(Debug)]
pub struct KernelSource {
    refresh: Duration,
    files: CounterFiles,
}

impl KernelSource {
    /// A source reading the calling thread's namespace every `refresh`.
    #[must_use]
    pub fn new(refresh: Duration) -> Self {
        Self { refresh, files: CounterFiles::default() }
    }

    /// The same, reading another tree (tests).
    #[must_use]
    pub fn with_files(self, files: CounterFiles) -> Self {
        Self { files, ..self }
    }
}

impl Source for KernelSource {
    fn id(&self) -> SourceId {
        SourceId::Kernel
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        let mut ticker = tokio::time::interval(self.refresh);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reported = false;
        let mut full: Option<KernelCounters> = None;
        let mut since_full = 0_u32;
        loop {
            ticker.tick().await;
            let counters = match &full {
                Some(previous) if since_full < SETTINGS_EVERY => {
                    since_full += 1;
                    read_again(&self.files, previous)
                }
                _ => {
                    since_full = 1;
                    let counters = read(&self.files);
                    full = Some(counters.clone());
                    counters
                }
            };
            if !reported {
                let (state, detail) = if counters.snmp.is_empty() {
                    (
                        SourceState::Failed,
                        format!("cannot read {}/snmp: /proc is not mounted here", self.files.net.display()),
                    )
                } else if counters.conntrack.is_none() {
                    (
                        SourceState::Ok,
                        "protocol counters; conntrack not loaded (its rule does not apply)".to_owned(),
                    )
                } else {
                    (SourceState::Ok, "protocol counters, conntrack, file table, port range".to_owned())
                };
                sink.status(state, detail).await?;
                reported = true;
            }
            sink.send(Payload::Kernel(Box::new(counters))).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sends_readings() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let handle = crate::source::spawn_supervised(KernelSource::new(Duration::from_millis(20)), tx);
        let mut readings = 0;
        while readings < 2 {
            match rx.recv().await.map(|event| event.payload) {
                Some(Payload::Kernel(counters)) => {
                    assert!(counters.snmp.contains_key("TcpActiveOpens"));
                    readings += 1;
                }
                Some(Payload::Status(status)) => {
                    assert_eq!(status.status, SourceState::Ok, "{}", status.detail);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        handle.abort();
    }
}
