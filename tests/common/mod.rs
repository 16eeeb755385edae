//! Helpers shared by the integration tests.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code, reason = "each integration test uses a different subset of the helpers")]

pub mod capture;
pub mod daemon;
pub mod dns;
pub mod dns_server;
pub mod etc_netns;
pub mod netns;
pub mod peer;
pub mod prometheus;
