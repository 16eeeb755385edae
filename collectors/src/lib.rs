//! netlens data: the domain model, the events collectors send, the state store that
//! folds them, and (with the `runtime` feature) the collector sources themselves.
//!
//! This crate never draws anything: the `netlens-ui` crate renders from [`Store`].

pub mod attribution;
pub mod clock;
pub mod dns;
pub mod event;
pub mod findings;
pub mod history;
pub mod model;
pub mod paths;
pub mod snapshot;
pub mod store;

#[cfg(feature = "fake")]
pub mod fake;

pub use clock::{Mono, Stamp};
pub use event::{Event, Notice, Payload};
pub use store::{
    ConnectionCounts, ConnectionEntry, ConnectionLabel, ConnectionLimits, ConnectionRates, ConnectionSample,
    ConnectionWarnings, Connections, InterfaceEntry, RateSample, Store, StoreLimits, Timeline,
};

#[cfg(feature = "runtime")]
pub mod source;

#[cfg(feature = "runtime")]
pub mod interfaces;

#[cfg(all(feature = "runtime", target_os = "linux"))]
pub(crate) mod netlink;

#[cfg(all(feature = "runtime", target_os = "linux"))]
pub mod kernel_view;

#[cfg(feature = "runtime")]
pub mod system;

#[cfg(feature = "runtime")]
pub mod journal;

#[cfg(feature = "runtime")]
pub mod kernel;

#[cfg(feature = "runtime")]
pub mod connections;

#[cfg(feature = "runtime")]
pub mod capture;

#[cfg(feature = "runtime")]
pub mod unconfined;

#[cfg(all(feature = "runtime", feature = "fake"))]
pub mod demo;

#[cfg(feature = "runtime")]
pub mod names;

#[cfg(feature = "runtime")]
pub mod metrics;

#[cfg(test)]
mod test_policy;
