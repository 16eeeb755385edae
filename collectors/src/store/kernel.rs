//! The kernel counters section of the store: the latest reading and the changes since
//! the one before, with resets (a re-created namespace, a reloaded module) giving no
//! change rather than a spike.

use std::collections::HashMap;

use super::Connections;
use crate::clock::Mono;
use crate::model::{KernelCounters, PortRange, PortUse, SocketState, SoftnetCpu};

/// Which table of the reading a counter is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterTable {
    /// `/proc/net/snmp` and `snmp6`.
    Snmp,
    /// `/proc/net/netstat`.
    Netstat,
    /// `/proc/net/sockstat` and `sockstat6` (gauges: a change, not a rate of events).
    Sockstat,
}

/// The latest kernel counters and the reading they are compared with.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KernelState {
    latest: Option<(Mono, KernelCounters)>,
    baseline: Option<(Mono, KernelCounters)>,
}

impl KernelState {
    /// Fold a reading. A reading closer than `min_interval` to the latest replaces it
    /// but keeps the older baseline, so a change is never measured over a few
    /// milliseconds.
    pub fn fold(&mut self, at: Mono, counters: KernelCounters, min_interval: time::Duration) {
        match self.latest.take() {
            Some((then, previous)) if at - then >= min_interval || self.baseline.is_none() => {
                self.baseline = Some((then, previous));
            }
            _ => {}
        }
        self.latest = Some((at, counters));
    }

    /// The latest reading, once one arrived.
    #[must_use]
    pub fn latest(&self) -> Option<&KernelCounters> {
        self.latest.as_ref().map(|(_, counters)| counters)
    }

    /// The reading changes are measured from.
    #[must_use]
    pub fn baseline(&self) -> Option<&KernelCounters> {
        self.baseline.as_ref().map(|(_, counters)| counters)
    }

    /// The seconds between the baseline and the latest reading, when both exist and
    /// are of the same namespace.
    #[must_use]
    pub fn interval(&self) -> Option<f64> {
        let ((now, latest), (then, baseline)) = (self.latest.as_ref()?, self.baseline.as_ref()?);
        (latest.netns == baseline.netns && now > then).then(|| (*now - *then).as_seconds_f64())
    }

    /// How much a counter grew since the baseline. `None` without a baseline, across
    /// namespaces, when either reading lacks it, or when it went back (a reset: the
    /// kernel's counters only grow, so a smaller value means they started again).
    #[must_use]
    pub fn delta(&self, table: CounterTable, name: &str) -> Option<u64> {
        self.interval()?;
        let (latest, baseline) = (self.latest()?, &self.baseline.as_ref()?.1);
        let (now, then) = (value(latest, table, name)?, value(baseline, table, name)?);
        u64::try_from(now.checked_sub(then)?).ok()
    }

    /// A counter's growth per second since the baseline (see [`Self::delta`]).
    #[must_use]
    pub fn per_second(&self, table: CounterTable, name: &str) -> Option<f64> {
        #[expect(clippy::cast_precision_loss, reason = "a rate for display and thresholds")]
        let delta = self.delta(table, name)? as f64;
        Some(delta / self.interval()?)
    }

    /// Each CPU's softnet growth since the baseline, by CPU id; a CPU whose counters
    /// went back (or that came online since) is left out.
    #[must_use]
    pub fn softnet_delta(&self) -> Vec<SoftnetCpu> {
        let (Some(latest), Some(_)) = (self.latest(), self.interval()) else { return Vec::new() };
        let Some((_, baseline)) = &self.baseline else { return Vec::new() };
        latest
            .softnet
            .iter()
            .filter_map(|now| {
                let then = baseline.softnet.iter().find(|then| then.cpu == now.cpu)?;
                Some(SoftnetCpu {
                    cpu: now.cpu,
                    processed: now.processed.checked_sub(then.processed)?,
                    dropped: now.dropped.checked_sub(then.dropped)?,
                    time_squeeze: now.time_squeeze.checked_sub(then.time_squeeze)?,
                    flow_limit: now.flow_limit.checked_sub(then.flow_limit)?,
                })
            })
            .collect()
    }
}

/// Ephemeral ports in use per destination among the open connections, busiest first
/// (ties by destination, so the order is stable). Listeners and unconnected sockets
/// have no destination and are left out.
#[must_use]
pub fn ports_in_use(connections: &Connections, range: PortRange) -> Vec<PortUse> {
    let mut counts: HashMap<(crate::model::Protocol, std::net::SocketAddr), u32> = HashMap::new();
    for entry in connections.iter() {
        let socket = &entry.socket;
        if entry.closed_at.is_some()
            || matches!(socket.state, SocketState::Listen | SocketState::Unconnected)
            || socket.remote.ip().is_unspecified()
            || !range.contains(socket.local.port())
        {
            continue;
        }
        // An IPv4-mapped peer is the same peer as its IPv4 address: one port space.
        let remote = std::net::SocketAddr::new(socket.remote.ip().to_canonical(), socket.remote.port());
        *counts.entry((socket.protocol, remote)).or_default() += 1;
    }
    let mut uses: Vec<PortUse> =
        counts.into_iter().map(|((protocol, remote), in_use)| PortUse { protocol, remote, in_use }).collect();
    uses.sort_by(|a, b| {
        b.in_use.cmp(&a.in_use).then(a.protocol.cmp(&b.protocol)).then(a.remote.cmp(&b.remote))
    });
    uses
}

fn value(counters: &KernelCounters, table: CounterTable, name: &str) -> Option<i64> {
    match table {
        CounterTable::Snmp => counters.snmp.get(name),
        CounterTable::Netstat => counters.netstat.get(name),
        CounterTable::Sockstat => counters.sockstat.get(name),
    }
    .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(netns: u64, retrans: i64, squeeze: u64) -> KernelCounters {
        let mut counters = KernelCounters { netns, ..KernelCounters::default() };
        counters.snmp.insert("TcpRetransSegs".to_owned(), retrans);
        counters.softnet.push(SoftnetCpu { cpu: 0, time_squeeze: squeeze, ..SoftnetCpu::default() });
        counters
    }

    fn at(seconds: i64) -> Mono {
        Mono::ZERO + time::Duration::seconds(seconds)
    }

    const MIN: time::Duration = time::Duration::milliseconds(200);

    #[test]
    fn growth_and_rate_between_readings() {
        let mut state = KernelState::default();
        state.fold(at(0), reading(1, 100, 5), MIN);
        assert_eq!(state.delta(CounterTable::Snmp, "TcpRetransSegs"), None, "one reading: no change yet");
        state.fold(at(2), reading(1, 140, 7), MIN);
        assert_eq!(state.delta(CounterTable::Snmp, "TcpRetransSegs"), Some(40));
        assert_eq!(state.per_second(CounterTable::Snmp, "TcpRetransSegs"), Some(20.0));
        assert_eq!(state.softnet_delta()[0].time_squeeze, 2);
        assert_eq!(state.delta(CounterTable::Netstat, "TcpRetransSegs"), None, "another table");
    }

    /// A reset (the value went back) or a re-created namespace gives no change, not a
    /// spike of 2^64 or of the whole counter; the next reading measures again.
    #[test]
    fn resets_give_no_spike() {
        let mut state = KernelState::default();
        state.fold(at(0), reading(1, 1_000, 50), MIN);
        state.fold(at(1), reading(1, 3, 1), MIN);
        assert_eq!(state.delta(CounterTable::Snmp, "TcpRetransSegs"), None);
        assert!(state.softnet_delta().is_empty());
        state.fold(at(2), reading(1, 13, 1), MIN);
        assert_eq!(state.delta(CounterTable::Snmp, "TcpRetransSegs"), Some(10));
        state.fold(at(3), reading(2, 500, 1), MIN);
        assert_eq!(state.delta(CounterTable::Snmp, "TcpRetransSegs"), None, "another namespace");
    }

    /// Readings a few milliseconds apart keep the older baseline.
    #[test]
    fn close_readings_keep_the_baseline() {
        let mut state = KernelState::default();
        state.fold(at(0), reading(1, 0, 0), MIN);
        state.fold(at(1), reading(1, 10, 0), MIN);
        state.fold(at(1) + time::Duration::milliseconds(10), reading(1, 12, 0), MIN);
        assert_eq!(
            state.delta(CounterTable::Snmp, "TcpRetransSegs"),
            Some(12),
            "measured from the reading at 0 s"
        );
    }
}
