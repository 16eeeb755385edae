//! The system source: host facts and netlens's own CPU and memory use, via sysinfo.

use std::sync::OnceLock;
use std::time::Duration;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::event::Payload;
use crate::model::{HostFacts, Landlock, Privileges, ProcessUsage, SourceId, SourceState, SystemFacts};
use crate::source::{EventSink, Source, SourceError};

/// Host facts change rarely; re-read them this often (in refresh periods).
const FACTS_EVERY: u32 = 10;

/// Capability bits from `<linux/capability.h>`.
const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;

/// The kernel's capability names by bit number (`<linux/capability.h>`, up to
/// `CAP_CHECKPOINT_RESTORE`, Linux 5.9). A bit past the table is named `cap_N`, as
/// `capsh --decode` does.
const CAPABILITY_NAMES: [&str; 41] = [
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
];

/// Collects host facts and netlens's own resource use every refresh.
#[derive(Debug)]
pub struct SystemSource {
    refresh: Duration,
    netns: Option<String>,
}

impl SystemSource {
    /// A source polling every `refresh`; `netns` names the namespace being monitored.
    #[must_use]
    pub const fn new(refresh: Duration, netns: Option<String>) -> Self {
        Self { refresh, netns }
    }
}

/// Every capability netlens may keep after set-up, by name, sorted: what the README's
/// privileges table lists. A run keeps the part of these it needs (and holds), plus
/// what the BPF attribution says it needs at run time.
pub const KEPT_AT_MOST: [&str; 4] = ["cap_dac_read_search", "cap_net_admin", "cap_net_raw", "cap_sys_ptrace"];

/// The state of the Landlock restriction, set once by the binary after it restricted
/// itself (before any source starts). A fact about the process, like its capabilities,
/// which the kernel does not report back for the process itself.
static LANDLOCK: OnceLock<Landlock> = OnceLock::new();

/// Record how the Landlock restriction went; the first call wins (it happens once, at
/// start). Every later [`privileges`] reports it.
pub fn set_landlock(state: Landlock) {
    let _ = LANDLOCK.set(state);
}

/// The Landlock state [`set_landlock`] recorded (the default before it runs).
#[must_use]
pub fn landlock() -> Landlock {
    LANDLOCK.get().copied().unwrap_or_default()
}

/// The kernel name of capability bit `bit` (`cap_net_raw`).
#[must_use]
pub fn capability_name(bit: u32) -> String {
    usize::try_from(bit)
        .ok()
        .and_then(|index| CAPABILITY_NAMES.get(index))
        .map_or_else(|| format!("cap_{bit}"), |name| (*name).to_owned())
}

/// The names of the capabilities in a `CapEff`-style mask, sorted by name.
#[must_use]
pub fn capability_names(mask: u64) -> Vec<String> {
    let mut names: Vec<String> = (0..64).filter(|bit| mask & (1 << bit) != 0).map(capability_name).collect();
    names.sort();
    names
}

/// Which privileges this process holds now, from `/proc/self/status` (the calling
/// thread's; netlens drops capabilities before its first thread starts, so every
/// thread holds the same).
#[must_use]
pub fn privileges() -> Privileges {
    let mut privileges =
        privileges_from_status(&std::fs::read_to_string("/proc/self/status").unwrap_or_default());
    privileges.landlock = LANDLOCK.get().copied().unwrap_or_default();
    privileges
}

fn effective_uid_is_root(status: &str) -> bool {
    // "Uid: real effective saved fs"
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}

/// The value of a `Key:\tvalue` line of a `/proc/PID/status` text.
fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix(':')).map(str::trim)
}

/// Parse the effective capabilities and `NoNewPrivs` of a `/proc/PID/status` text.
/// The Landlock state is not there: it stays [`Landlock::NotApplied`].
#[must_use]
pub fn privileges_from_status(status: &str) -> Privileges {
    let effective =
        status_field(status, "CapEff").and_then(|hex| u64::from_str_radix(hex, 16).ok()).unwrap_or(0);
    Privileges {
        net_raw: effective & (1 << CAP_NET_RAW) != 0,
        net_admin: effective & (1 << CAP_NET_ADMIN) != 0,
        root: effective_uid_is_root(status),
        capabilities: capability_names(effective),
        no_new_privs: status_field(status, "NoNewPrivs") == Some("1"),
        landlock: Landlock::NotApplied,
    }
}

/// Read the host facts now (blocking; cheap).
#[must_use]
pub fn host_facts(netns: Option<String>) -> HostFacts {
    HostFacts {
        hostname: System::host_name().unwrap_or_else(|_| "unknown".to_owned()),
        kernel: System::kernel_version().unwrap_or_else(|_| "unknown".to_owned()),
        netns,
        privileges: privileges(),
    }
}

struct Sampler {
    system: System,
    pid: Option<Pid>,
    netns: Option<String>,
}

impl Sampler {
    fn new(netns: Option<String>) -> Result<Self, SourceError> {
        let system = System::new().map_err(|error| SourceError::Other(format!("sysinfo: {error}")))?;
        Ok(Self { system, pid: sysinfo::get_current_pid().ok(), netns })
    }

    fn facts(&mut self) -> SystemFacts {
        self.system.refresh_memory();
        SystemFacts {
            host: host_facts(self.netns.clone()),
            uptime_s: System::uptime().unwrap_or(0),
            cpus: self.system.cpus().len().max(std::thread::available_parallelism().map_or(1, usize::from)),
            cpu_pct: self.system.global_cpu_usage(),
            memory_total_bytes: self.system.total_memory(),
            memory_used_bytes: self.system.used_memory(),
        }
    }

    fn usage(&mut self) -> ProcessUsage {
        self.system.refresh_cpu_usage();
        let Some(pid) = self.pid else { return ProcessUsage::default() };
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        self.system
            .process(pid)
            .map(|process| ProcessUsage { cpu_pct: process.cpu_usage(), rss_bytes: process.memory() })
            .unwrap_or_default()
    }
}

impl Source for SystemSource {
    fn id(&self) -> SourceId {
        SourceId::System
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        let netns = self.netns.clone();
        let mut sampler = tokio::task::spawn_blocking(move || Sampler::new(netns))
            .await
            .map_err(|error| SourceError::Other(format!("sysinfo task: {error}")))??;
        sink.status(SourceState::Ok, "sysinfo: host facts and netlens's own usage").await?;
        let mut ticker = tokio::time::interval(self.refresh);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick: u32 = 0;
        loop {
            ticker.tick().await;
            // sysinfo reads /proc: keep it off the async workers.
            let want_facts = tick.is_multiple_of(FACTS_EVERY);
            let (returned, facts, usage) = tokio::task::spawn_blocking(move || {
                let facts = want_facts.then(|| sampler.facts());
                let usage = sampler.usage();
                (sampler, facts, usage)
            })
            .await
            .map_err(|error| SourceError::Other(format!("sysinfo task: {error}")))?;
            sampler = returned;
            if let Some(facts) = facts {
                sink.send(Payload::System(facts)).await?;
            }
            sink.send(Payload::SelfUsage(usage)).await?;
            tick = tick.wrapping_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_from_status() {
        let cases = [
            ("CapEff:\t0000000000003000\nUid:\t1000\t1000\t1000\t1000\n", true, true, false),
            ("CapEff:\t0000000000002000\nUid:\t0\t0\t0\t0\n", true, false, true),
            ("CapEff:\t0000000000000000\nUid:\t1000\t0\t1000\t1000\n", false, false, true),
            ("garbage", false, false, false),
        ];
        for (status, net_raw, net_admin, root) in cases {
            let privileges = privileges_from_status(status);
            assert_eq!(
                (privileges.net_raw, privileges.net_admin, privileges.root),
                (net_raw, net_admin, root)
            );
        }
    }

    /// The names come from the mask bit by bit, sorted by name, as `capsh --decode`
    /// spells them; `NoNewPrivs` is read from its own line.
    #[test]
    fn capability_names_and_no_new_privs() {
        // CAP_DAC_READ_SEARCH (2), CAP_NET_RAW (13), CAP_SYS_PTRACE (19), and bit 45,
        // which no kernel of today defines.
        let mask: u64 = (1 << 2) | (1 << 13) | (1 << 19) | (1 << 45);
        let status = format!("Name:\tnetlens\nNoNewPrivs:\t1\nCapEff:\t{mask:016x}\n");
        let privileges = privileges_from_status(&status);
        assert_eq!(
            privileges.capabilities,
            ["cap_45", "cap_dac_read_search", "cap_net_raw", "cap_sys_ptrace"]
        );
        assert!(privileges.no_new_privs);
        assert!(privileges.net_raw && !privileges.net_admin);
        let unset = privileges_from_status("NoNewPrivs:\t0\nCapEff:\t000001ffffffffff\n");
        assert!(!unset.no_new_privs);
        assert_eq!(unset.capabilities.len(), 41, "every capability of Linux 5.9+ has a name");
        assert!(unset.capabilities.iter().all(|name| !name.starts_with("cap_4")), "{:?}", unset.capabilities);
    }

    /// What this test process holds, read the same way, equals the kernel's own
    /// `capget` of the calling thread.
    #[test]
    fn own_privileges_match_capget() {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_else(|e| panic!("{e}"));
        let from_status = privileges_from_status(&status);
        let sets = rustix::thread::capabilities(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(from_status.capabilities, capability_names(sets.effective.bits()));
        assert_eq!(
            from_status.no_new_privs,
            rustix::thread::no_new_privs().unwrap_or_else(|e| panic!("{e}"))
        );
    }

    #[tokio::test]
    async fn sends_facts_and_usage() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let handle = crate::source::spawn_supervised(SystemSource::new(Duration::from_millis(50), None), tx);
        let mut seen_facts = false;
        let mut seen_usage = false;
        while !(seen_facts && seen_usage) {
            match rx.recv().await.map(|event| event.payload) {
                Some(Payload::System(facts)) => {
                    assert!(!facts.host.kernel.is_empty());
                    assert!(facts.memory_total_bytes > 0);
                    seen_facts = true;
                }
                Some(Payload::SelfUsage(usage)) => {
                    assert!(usage.rss_bytes > 0, "own RSS is never zero");
                    seen_usage = true;
                }
                Some(Payload::Status(status)) => assert_eq!(status.status, SourceState::Ok),
                other => panic!("unexpected {other:?}"),
            }
        }
        handle.abort();
    }
}
