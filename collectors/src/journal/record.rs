//! One event as the journal stores it: the event itself, or, for the tables that
//! arrive every refresh, its changes against the previous table of its kind.

use serde::{Deserialize, Serialize};

use super::delta::{self, BaseMismatch, CountersDelta, KernelDelta, SocketsDelta};
use crate::clock::Mono;
use crate::event::{Event, Payload};
use crate::model::{InterfaceStats, KernelCounters, SocketTable, SourceId, Timestamp};

/// A journal record: an event with its payload possibly as a delta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    at: Timestamp,
    mono: Mono,
    source: SourceId,
    body: Body,
}

/// What a record carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Body {
    /// The payload as it came.
    Whole(Payload),
    /// A socket table against the previous one.
    Sockets(Box<SocketsDelta>),
    /// Interface counters against the previous sample.
    Counters(CountersDelta),
    /// Kernel counters against the previous reading.
    Kernel(Box<KernelDelta>),
}

impl Record {
    /// The record's wall-clock time.
    #[must_use]
    pub const fn at(&self) -> Timestamp {
        self.at
    }
}

/// The previous table of each kind that is stored as changes: the writer's and the
/// reader's copies agree record by record. Both start empty at every keyframe, so
/// reading can start at any keyframe.
#[derive(Debug, Clone, Default)]
pub struct Bases {
    sockets: SocketTable,
    counters: Vec<(u32, InterfaceStats)>,
    kernel: KernelCounters,
}

impl Bases {
    /// Forget the previous tables (at a keyframe).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// The record of `event`, with tables as changes; the bases move on.
    #[must_use]
    pub fn encode(&mut self, event: &Event) -> Record {
        let body = match &event.payload {
            Payload::Sockets(table) => {
                let delta = SocketsDelta::between(&self.sockets, table);
                self.sockets.clone_from(table);
                Body::Sockets(Box::new(delta))
            }
            Payload::Counters(samples) => {
                let delta = delta::counters_between(&self.counters, samples);
                self.counters.clone_from(samples);
                Body::Counters(delta)
            }
            Payload::Kernel(counters) => {
                let delta = KernelDelta::between(&self.kernel, counters);
                self.kernel.clone_from(counters);
                Body::Kernel(Box::new(delta))
            }
            other => Body::Whole(other.clone()),
        };
        Record { at: event.at, mono: event.mono, source: event.source, body }
    }

    /// The event `record` was made of; the bases move on.
    ///
    /// # Errors
    /// [`BaseMismatch`] when a delta does not fit the previous table (records read
    /// out of order, or from another journal).
    pub fn decode(&mut self, record: Record) -> Result<Event, BaseMismatch> {
        let payload = match record.body {
            Body::Whole(payload) => payload,
            Body::Sockets(delta) => {
                let table = delta.apply(&self.sockets)?;
                self.sockets.clone_from(&table);
                Payload::Sockets(table)
            }
            Body::Counters(delta) => {
                let samples = delta::counters_apply(&self.counters, delta)?;
                self.counters.clone_from(&samples);
                Payload::Counters(samples)
            }
            Body::Kernel(delta) => {
                let counters = delta.apply(&self.kernel)?;
                self.kernel.clone_from(&counters);
                Payload::Kernel(Box::new(counters))
            }
        };
        Ok(Event::stamped(record.at, record.mono, record.source, payload))
    }
}
