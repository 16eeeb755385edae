//! Tables that arrive every refresh (sockets, interface counters, kernel counters)
//! stored as changes against the previous table of their kind, so a quiet host
//! writes almost nothing (issue 14). Every delta rebuilds the table exactly, in
//! order: the store folds the rebuilt table as it folded the original.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::model::{
    InterfaceStats, KernelCounters, ProcessInfo, RouteMove, Socket, SocketOrigin, SocketTable, SoftnetCpu,
};

/// One step of rebuilding a sequence from the previous one, left to right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op<T> {
    /// The next `n` items of the previous sequence, carried over.
    Keep(u32),
    /// Pass over the next `n` items of the previous sequence: gone, or changed.
    Skip(u32),
    /// A new or changed item.
    Put(T),
}

/// The previous sequence ran out before the delta did: the journal is not the one
/// the delta was written against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseMismatch;

/// The steps that turn `prev` into `cur`, where `carry` is what an unchanged item of
/// `prev` becomes (the item itself, or a socket with its clocks advanced). Items are
/// matched by `key`; an item is kept only when `carry` of its predecessor equals it,
/// so [`decode`] rebuilds `cur` exactly whatever the keys.
pub fn encode<T, K>(prev: &[T], cur: &[T], key: impl Fn(&T) -> K, carry: impl Fn(&T) -> T) -> Vec<Op<T>>
where
    T: Clone + PartialEq,
    K: Hash + Eq,
{
    let positions: HashMap<K, usize> = prev.iter().enumerate().map(|(at, item)| (key(item), at)).collect();
    let mut ops = Vec::new();
    let mut next = 0;
    for item in cur {
        match positions.get(&key(item)) {
            Some(&at) if at >= next => {
                if at > next {
                    push_skip(&mut ops, at - next);
                }
                if carry(&prev[at]) == *item {
                    push_keep(&mut ops);
                } else {
                    push_skip(&mut ops, 1);
                    ops.push(Op::Put(item.clone()));
                }
                next = at + 1;
            }
            _ => ops.push(Op::Put(item.clone())),
        }
    }
    ops
}

fn push_keep<T>(ops: &mut Vec<Op<T>>) {
    if let Some(Op::Keep(n)) = ops.last_mut() {
        *n += 1;
    } else {
        ops.push(Op::Keep(1));
    }
}

fn push_skip<T>(ops: &mut Vec<Op<T>>, count: usize) {
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    if let Some(Op::Skip(n)) = ops.last_mut() {
        *n = n.saturating_add(count);
    } else {
        ops.push(Op::Skip(count));
    }
}

/// The sequence `ops` make of `prev`.
///
/// # Errors
/// [`BaseMismatch`] when the steps run past the end of `prev`.
pub fn decode<T>(prev: &[T], ops: Vec<Op<T>>, carry: impl Fn(&T) -> T) -> Result<Vec<T>, BaseMismatch> {
    let mut out = Vec::with_capacity(prev.len());
    let mut next = 0usize;
    for op in ops {
        match op {
            Op::Keep(n) => {
                let end = next.checked_add(n as usize).ok_or(BaseMismatch)?;
                out.extend(prev.get(next..end).ok_or(BaseMismatch)?.iter().map(&carry));
                next = end;
            }
            Op::Skip(n) => {
                next = next.checked_add(n as usize).filter(|&end| end <= prev.len()).ok_or(BaseMismatch)?;
            }
            Op::Put(item) => out.push(item),
        }
    }
    Ok(out)
}

/// A map's changes: keys set to a new value, keys gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapDelta<V> {
    set: Vec<(String, V)>,
    removed: Vec<String>,
}

impl<V: Clone + PartialEq> MapDelta<V> {
    /// What changed from `prev` to `cur`.
    #[must_use]
    pub fn between(prev: &BTreeMap<String, V>, cur: &BTreeMap<String, V>) -> Self {
        let set = cur
            .iter()
            .filter(|(key, value)| prev.get(*key) != Some(value))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let removed = prev.keys().filter(|key| !cur.contains_key(*key)).cloned().collect();
        Self { set, removed }
    }

    /// `prev` with the changes made.
    #[must_use]
    pub fn apply(self, prev: &BTreeMap<String, V>) -> BTreeMap<String, V> {
        let mut map = prev.clone();
        for key in self.removed {
            map.remove(&key);
        }
        map.extend(self.set);
        map
    }
}

/// A socket table as changes against the previous one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketsDelta {
    /// Milliseconds the clocks of a carried-over socket advanced (time since the last
    /// send, receive and acknowledgement; a timer's time left).
    advance_ms: u32,
    sockets: Vec<Op<Socket>>,
    unchanged: Vec<Op<u64>>,
    owners: Vec<Op<(u64, u32)>>,
    cookie_owners: Vec<Op<(u64, u32)>>,
    processes: Vec<Op<ProcessInfo>>,
    all_owners_visible: bool,
    route_moves: Vec<RouteMove>,
    origins: Vec<Op<(u64, SocketOrigin)>>,
}

fn advanced(socket: &Socket, ms: u32) -> Socket {
    let mut socket = socket.clone();
    socket.advance_clocks(ms);
    socket
}

/// How far the clocks of sockets in both tables moved, the most common answer of a
/// sample: a dump reads every socket at about the same moment, so sockets that did
/// nothing all moved by the same amount.
fn clock_advance(prev: &[Socket], cur: &[Socket]) -> u32 {
    let before: HashMap<u64, u32> =
        prev.iter().filter_map(|socket| Some((socket.cookie, socket.tcp.as_ref()?.last_recv_ms))).collect();
    let mut votes: HashMap<u32, u32> = HashMap::new();
    for socket in cur.iter().filter(|socket| socket.tcp.is_some()).take(256) {
        if let (Some(tcp), Some(then)) = (&socket.tcp, before.get(&socket.cookie))
            && let Some(moved) = tcp.last_recv_ms.checked_sub(*then)
        {
            *votes.entry(moved).or_default() += 1;
        }
    }
    votes
        .into_iter()
        .max_by_key(|&(moved, count)| (count, std::cmp::Reverse(moved)))
        .map_or(0, |(moved, _)| moved)
}

impl SocketsDelta {
    /// `cur` as changes against `prev` (an empty table when there is none).
    #[must_use]
    pub fn between(prev: &SocketTable, cur: &SocketTable) -> Self {
        let ms = clock_advance(&prev.sockets, &cur.sockets);
        Self {
            advance_ms: ms,
            sockets: encode(
                &prev.sockets,
                &cur.sockets,
                |socket| socket.cookie,
                |socket| advanced(socket, ms),
            ),
            unchanged: encode(&prev.unchanged, &cur.unchanged, |cookie| *cookie, |cookie| *cookie),
            owners: encode(&prev.owners, &cur.owners, |owner| *owner, |owner| *owner),
            cookie_owners: encode(&prev.cookie_owners, &cur.cookie_owners, |owner| *owner, |owner| *owner),
            processes: encode(&prev.processes, &cur.processes, |process| process.pid, Clone::clone),
            all_owners_visible: cur.all_owners_visible,
            route_moves: cur.route_moves.clone(),
            origins: encode(&prev.origins, &cur.origins, |(cookie, _)| *cookie, Clone::clone),
        }
    }

    /// The table the changes make of `prev`.
    ///
    /// # Errors
    /// [`BaseMismatch`] when `prev` is not the table the delta was made against.
    pub fn apply(self, prev: &SocketTable) -> Result<SocketTable, BaseMismatch> {
        let ms = self.advance_ms;
        Ok(SocketTable {
            sockets: decode(&prev.sockets, self.sockets, |socket| advanced(socket, ms))?,
            unchanged: decode(&prev.unchanged, self.unchanged, |cookie| *cookie)?,
            owners: decode(&prev.owners, self.owners, |owner| *owner)?,
            cookie_owners: decode(&prev.cookie_owners, self.cookie_owners, |owner| *owner)?,
            processes: decode(&prev.processes, self.processes, Clone::clone)?,
            all_owners_visible: self.all_owners_visible,
            route_moves: self.route_moves,
            origins: decode(&prev.origins, self.origins, Clone::clone)?,
        })
    }
}

/// Interface counters, per interface index, as changes against the previous sample.
pub type CountersDelta = Vec<Op<(u32, InterfaceStats)>>;

/// `cur` as changes against `prev`.
#[must_use]
pub fn counters_between(prev: &[(u32, InterfaceStats)], cur: &[(u32, InterfaceStats)]) -> CountersDelta {
    encode(prev, cur, |(index, _)| *index, |sample| *sample)
}

/// The counters the changes make of `prev`.
///
/// # Errors
/// [`BaseMismatch`] when `prev` is not the sample the delta was made against.
pub fn counters_apply(
    prev: &[(u32, InterfaceStats)],
    delta: CountersDelta,
) -> Result<Vec<(u32, InterfaceStats)>, BaseMismatch> {
    decode(prev, delta, |sample| *sample)
}

/// A reading of the kernel's counters as changes against the previous one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelDelta {
    netns: u64,
    snmp: MapDelta<i64>,
    netstat: MapDelta<i64>,
    softnet: Vec<Op<SoftnetCpu>>,
    sockstat: MapDelta<i64>,
    conntrack: Option<crate::model::Conntrack>,
    files: Option<crate::model::FileTable>,
    port_range: Option<crate::model::PortRange>,
    rp_filter: MapDelta<u8>,
}

impl KernelDelta {
    /// `cur` as changes against `prev`.
    #[must_use]
    pub fn between(prev: &KernelCounters, cur: &KernelCounters) -> Self {
        Self {
            netns: cur.netns,
            snmp: MapDelta::between(&prev.snmp, &cur.snmp),
            netstat: MapDelta::between(&prev.netstat, &cur.netstat),
            softnet: encode(&prev.softnet, &cur.softnet, |cpu| cpu.cpu, |cpu| *cpu),
            sockstat: MapDelta::between(&prev.sockstat, &cur.sockstat),
            conntrack: cur.conntrack,
            files: cur.files,
            port_range: cur.port_range,
            rp_filter: MapDelta::between(&prev.rp_filter, &cur.rp_filter),
        }
    }

    /// The reading the changes make of `prev`.
    ///
    /// # Errors
    /// [`BaseMismatch`] when `prev` is not the reading the delta was made against.
    pub fn apply(self, prev: &KernelCounters) -> Result<KernelCounters, BaseMismatch> {
        Ok(KernelCounters {
            netns: self.netns,
            snmp: self.snmp.apply(&prev.snmp),
            netstat: self.netstat.apply(&prev.netstat),
            softnet: decode(&prev.softnet, self.softnet, |cpu| *cpu)?,
            sockstat: self.sockstat.apply(&prev.sockstat),
            conntrack: self.conntrack,
            files: self.files,
            port_range: self.port_range,
            rp_filter: self.rp_filter.apply(&prev.rp_filter),
        })
    }
}

#[cfg(test)]
#[path = "delta_tests.rs"]
mod tests;
