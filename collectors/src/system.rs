//! The system source: host facts and netlens's own CPU and memory use, via sysinfo.

use std::time::Duration;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::event::Payload;
use crate::model::{HostFacts, Privileges, ProcessUsage, SourceId, SourceState, SystemFacts};
use crate::source::{EventSink, Source, SourceError};

/// Host facts change rarely; re-read them this often (in refresh periods).
const FACTS_EVERY: u32 = 10;

/// Capability bits from `<linux/capability.h>`.
const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;

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

/// Which networking privileges this process holds, from `/proc/self/status`.
#[must_use]
pub fn privileges() -> Privileges {
    privileges_from_status(&std::fs::read_to_string("/proc/self/status").unwrap_or_default())
}

fn effective_uid_is_root(status: &str) -> bool {
    // "Uid: real effective saved fs"
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}

/// Parse the effective capability mask of a `/proc/PID/status` text.
#[must_use]
pub fn privileges_from_status(status: &str) -> Privileges {
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    Privileges {
        net_raw: effective & (1 << CAP_NET_RAW) != 0,
        net_admin: effective & (1 << CAP_NET_ADMIN) != 0,
        root: effective_uid_is_root(status),
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
            assert_eq!(privileges_from_status(status), Privileges { net_raw, net_admin, root }, "{status:?}");
        }
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
