//! DNS (DESIGN.md §6): how this host turns names into addresses.
//!
//! So far the pure foundations: [`config`] reads the resolver configuration as glibc
//! does, and [`candidates`] expands a name into the queries `res_search` makes.

pub mod candidates;
pub mod config;
