//! DNS (DESIGN.md §6): how this host turns names into addresses.
//!
//! - [`config`] reads the resolver configuration as glibc does; [`files`] finds and
//!   loads the files, [`watch`] notices when they change.
//! - [`candidates`] expands a name into the queries `res_search` makes; [`trace`]
//!   asks them one by one ([`exchange`]) and [`system`] sets getaddrinfo's answer
//!   beside the result.
//! - [`packet`], [`matcher`] and [`capture`] watch what every process asks; [`own`]
//!   knows which of those questions netlens asked itself.
//! - [`source`] runs it all as one collector.

pub mod candidates;
#[cfg(feature = "runtime")]
pub mod capture;
pub mod config;
#[cfg(feature = "runtime")]
pub mod exchange;
#[cfg(feature = "runtime")]
pub mod files;
#[cfg(feature = "runtime")]
pub mod matcher;
#[cfg(feature = "runtime")]
pub mod own;
#[cfg(feature = "runtime")]
pub mod packet;
#[cfg(feature = "runtime")]
pub mod shared;
#[cfg(feature = "runtime")]
pub mod source;
#[cfg(feature = "runtime")]
pub mod system;
#[cfg(all(test, feature = "runtime"))]
mod testing;
#[cfg(feature = "runtime")]
pub mod trace;
#[cfg(feature = "runtime")]
pub mod watch;
