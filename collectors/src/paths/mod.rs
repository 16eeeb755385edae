//! Paths (DESIGN.md §5): does traffic to a destination leave, over which
//! interface, from which source, via which gateway — and if not, why not.
//!
//! The building blocks so far: [`target`] parses what the user asks about, and
//! [`lookup`] asks the kernel's routing decision for it (`ip route get`).
//! [`RouteGeneration`] tells other sources that routing may have changed.

pub mod query;
pub mod rules;
pub mod status;
pub mod target;
pub mod window;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A counter the paths source bumps every time it re-evaluates after rtnetlink
/// notifications (routes, addresses, links or rules changed), shared with sources
/// that cache route lookups of their own: the connections source re-judges whether
/// a connection's route moved only when this has changed (DESIGN.md §1 note 5), so a
/// quiet network costs it no lookups. Clones share one counter.
#[derive(Debug, Clone, Default)]
pub struct RouteGeneration(Arc<AtomicU64>);

/// Two handles are equal when they share the counter (configurations compare so).
impl PartialEq for RouteGeneration {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for RouteGeneration {}

impl RouteGeneration {
    /// A new counter at zero.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Say that routing may have changed.
    pub fn bump(&self) {
        // Only the value matters (no other memory is published with it): the kernel
        // state it stands for is read through system calls, which order themselves.
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The current value: a cache filled at an older value may be stale.
    #[must_use]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(all(feature = "runtime", target_os = "linux"))]
pub mod evaluate;
#[cfg(all(feature = "runtime", target_os = "linux"))]
pub mod eyeballs;
#[cfg(all(feature = "runtime", target_os = "linux"))]
pub mod lookup;
#[cfg(all(feature = "runtime", target_os = "linux"))]
pub mod probe;
#[cfg(all(feature = "runtime", target_os = "linux"))]
pub mod resolve;
#[cfg(all(feature = "runtime", target_os = "linux"))]
pub mod source;
