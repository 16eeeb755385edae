//! Paths (DESIGN.md §5): does traffic to a destination leave, over which
//! interface, from which source, via which gateway — and if not, why not.
//!
//! The building blocks so far: [`target`] parses what the user asks about, and
//! [`lookup`] asks the kernel's routing decision for it (`ip route get`).

pub mod query;
pub mod target;

#[cfg(all(feature = "runtime", target_os = "linux"))]
pub mod lookup;
