//! The kernel counters source: the protocol counters (`/proc/net/snmp`, `snmp6`,
//! `netstat`), softnet and socket statistics, the conntrack table's fill, the file
//! table and the ephemeral port range, read in the monitored namespace every refresh.

pub mod parse;
mod read;
mod source;

pub use read::{CounterFiles, read, read_again};
pub use source::KernelSource;
