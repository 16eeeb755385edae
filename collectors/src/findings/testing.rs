//! Fabricated stores for the rules' table tests: kernel readings and socket tables
//! stamped a second apart, folded as the app folds them.

use std::net::SocketAddr;

use crate::clock::{Mono, Stamp};
use crate::event::{Event, Payload};
use crate::model::{
    AddressFamily, KernelCounters, ProcessInfo, Protocol, Socket, SocketState, SocketTable, SourceId,
    Timestamp,
};
use crate::{Store, findings::Verdict};

/// Both clocks at `second` into a test.
pub fn at(second: i64) -> Stamp {
    Stamp {
        wall: Timestamp::UNIX_EPOCH + time::Duration::seconds(1_700_000_000 + second),
        mono: Mono::ZERO + time::Duration::seconds(second),
    }
}

/// A kernel reading with the given counters (snmp and netstat alike, by `nstat` name).
pub fn reading(counters: &[(&str, i64)]) -> KernelCounters {
    let mut reading = KernelCounters { netns: 1, ..KernelCounters::default() };
    for (name, value) in counters {
        let table = if name.starts_with("TcpExt") || name.starts_with("IpExt") {
            &mut reading.netstat
        } else {
            &mut reading.snmp
        };
        table.insert((*name).to_owned(), *value);
    }
    reading
}

/// A socket of `protocol` in `state` between two ends, owned by pid 4242 (`server`).
pub fn socket(cookie: u64, protocol: Protocol, state: SocketState, local: &str, remote: &str) -> Socket {
    let local: SocketAddr = local.parse().unwrap_or_else(|e| panic!("{local}: {e}"));
    Socket {
        cookie,
        protocol,
        family: if local.is_ipv6() { AddressFamily::Ipv6 } else { AddressFamily::Ipv4 },
        state,
        local,
        remote: remote.parse().unwrap_or_else(|e| panic!("{remote}: {e}")),
        interface_index: None,
        uid: 0,
        inode: 1000 + cookie,
        recv_queue: 0,
        send_queue: 0,
        timer: None,
        tcp: None,
        congestion: None,
        memory: None,
        tos: None,
    }
}

/// A socket table of `sockets`, every one owned by pid 4242, `server`.
pub fn table(sockets: Vec<Socket>) -> SocketTable {
    let owners = sockets.iter().map(|s| (s.inode, 4242)).collect();
    let processes = vec![ProcessInfo {
        pid: 4242,
        name: "server".into(),
        cmdline: "server --port 8080".into(),
        user: "root".into(),
        start_time: 1,
        open_files: Some(12),
        open_files_limit: Some(1024),
    }];
    SocketTable { sockets, owners, processes, all_owners_visible: true, ..SocketTable::default() }
}

/// Fold `payload` into `store` at `second`.
pub fn fold(store: &mut Store, second: i64, source: SourceId, payload: Payload) {
    let stamp = at(second);
    store.apply(Event::stamped(stamp.wall, stamp.mono, source, payload));
}

/// Fold a kernel reading at `second`.
pub fn kernel(store: &mut Store, second: i64, counters: &[(&str, i64)]) {
    fold(store, second, SourceId::Kernel, Payload::Kernel(Box::new(reading(counters))));
}

/// The subjects a verdict names, or `None` when not applicable.
pub fn subjects(verdict: &Verdict) -> Option<Vec<String>> {
    match verdict {
        Verdict::NotApplicable => None,
        Verdict::Found(candidates) => Some(candidates.iter().map(|c| c.subject.clone()).collect()),
    }
}

/// A step of a script: what happens at a second.
pub type Step<'a> = (i64, &'a dyn Fn(&mut Store, i64));

/// Which of `rule_id`'s findings are open after each step; a step folds its events at
/// its second, then the store evaluates every rule, as the app does after a burst.
pub fn drive(rule_id: &str, steps: &[Step<'_>]) -> Vec<Vec<String>> {
    let mut store = Store::default();
    steps
        .iter()
        .map(|(second, step)| {
            step(&mut store, *second);
            store.evaluate_findings(at(*second));
            store.findings().open().iter().filter(|f| f.rule == rule_id).map(|f| f.subject.clone()).collect()
        })
        .collect()
}

/// An IPv4 policy rule: `priority: selector lookup table`.
pub fn policy_rule(priority: u32, selector: &str, table: u32) -> crate::model::Rule {
    crate::model::Rule {
        family: AddressFamily::Ipv4,
        priority,
        table,
        selector: selector.to_owned(),
        action: "lookup".to_owned(),
    }
}
