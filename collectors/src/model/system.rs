//! Facts about the host and about netlens itself.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which privileges the process holds, as far as networking is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Privileges {
    /// `CAP_NET_RAW`: packet capture and raw ICMP.
    pub net_raw: bool,
    /// `CAP_NET_ADMIN`: all sockets' details, namespaces.
    pub net_admin: bool,
    /// Effective uid 0.
    pub root: bool,
}

/// The host section of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct HostFacts {
    /// Host name.
    pub hostname: String,
    /// Kernel release.
    pub kernel: String,
    /// Network namespace being monitored (`None`: the one netlens started in).
    pub netns: Option<String>,
    /// Privileges held.
    pub privileges: Privileges,
}

/// Slowly changing machine facts, refreshed now and then.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SystemFacts {
    /// Identity and privileges.
    pub host: HostFacts,
    /// Seconds since boot.
    pub uptime_s: u64,
    /// Number of logical CPUs.
    pub cpus: usize,
    /// Whole-machine CPU use, percent of all cores.
    pub cpu_pct: f32,
    /// Total memory in bytes.
    pub memory_total_bytes: u64,
    /// Used memory in bytes.
    pub memory_used_bytes: u64,
}

/// netlens's own resource use, shown in the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct ProcessUsage {
    /// CPU use, percent of one core.
    pub cpu_pct: f32,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}
