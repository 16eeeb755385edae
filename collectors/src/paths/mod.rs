//! Paths (DESIGN.md §5): does traffic to a destination leave, over which
//! interface, from which source, via which gateway — and if not, why not.
//!
//! The building blocks so far: [`target`] parses what the user asks about, and
//! [`lookup`] asks the kernel's routing decision for it (`ip route get`).
//! Other sources learn that routing changed from the kernel view's generation
//! ([`crate::kernel_view::NetworkView::generation`]), not from this module.

pub mod query;
pub mod rules;
pub mod schedule;
pub mod status;
pub mod target;
pub mod window;

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
