//! Facts about the host and about netlens itself.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which privileges the process holds, read after netlens dropped the ones it no
/// longer needs (see the README's privileges table).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[expect(clippy::struct_excessive_bools, reason = "independent facts of the export schema, each a yes or no")]
pub struct Privileges {
    /// `CAP_NET_RAW` is effective: packet capture and raw ICMP.
    pub net_raw: bool,
    /// `CAP_NET_ADMIN` is effective.
    pub net_admin: bool,
    /// Effective uid 0.
    pub root: bool,
    /// Every effective capability, by its kernel name in lower case (`cap_net_raw`),
    /// sorted by name: exactly what the kernel lists in `CapEff`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// `no_new_privs` is set: nothing netlens could execute gains privileges.
    #[serde(default)]
    pub no_new_privs: bool,
    /// Whether the Landlock write restriction holds.
    #[serde(default)]
    pub landlock: Landlock,
}

/// The state of the Landlock file-system restriction (writes allowed only to the
/// export directory, the log file and the state directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Landlock {
    /// Not attempted (the process that read the facts never restricted itself).
    #[default]
    NotApplied,
    /// Every requested restriction holds.
    Enforced,
    /// The kernel's Landlock is older than netlens asks for: some write operations
    /// (renames across directories, truncation) stay unrestricted.
    Partial,
    /// The kernel has no Landlock, or it is not enabled at boot.
    Unsupported,
    /// The restriction was attempted and failed (the log says why).
    Failed,
}

impl Landlock {
    /// The serialised name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotApplied => "not_applied",
            Self::Enforced => "enforced",
            Self::Partial => "partial",
            Self::Unsupported => "unsupported",
            Self::Failed => "failed",
        }
    }
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
#[derive(Debug, Clone, PartialEq, Default, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct ProcessUsage {
    /// CPU use, percent of one core.
    pub cpu_pct: f32,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}
