//! Taking a snapshot in two steps: [`SnapshotCapture::take`] takes what the document
//! needs from the store (the small sections copied, the connection table shared, not
//! copied), and [`SnapshotCapture::into_snapshot`] does the rest (names, ordering, the
//! owned document). The TUI runs the first on its event loop and the second on a blocking
//! thread; measured at 100,000 connections in `benches/snapshot.rs`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::connections::ConnectionDoc;
use super::{DnsSection, InterfaceDoc, InterfaceRatesDoc, SCHEMA_VERSION, Snapshot, SystemSummary};
use crate::model::Timestamp;
use crate::{ConnectionEntry, ConnectionLabel, Store};

/// Everything a snapshot needs, copied from the store; `Send`, so the rest of the
/// work can leave the thread that owns the store.
#[derive(Debug, Clone)]
pub struct SnapshotCapture {
    /// The document without its connections (every other section is small).
    head: Snapshot,
    /// The store's own entries, shared: taking them costs a reference count each.
    connections: Vec<Arc<ConnectionEntry>>,
    /// Process name and user by pid, for the pids the connections name.
    processes: HashMap<u32, (String, String)>,
    /// Reverse-DNS names of the remote addresses that have one.
    names: HashMap<IpAddr, String>,
    /// Interface names by index.
    interfaces: HashMap<u32, String>,
    /// When the latest socket table was folded: the clocks of the sockets it carried
    /// over unchanged are advanced to it.
    now: Option<crate::Mono>,
}

impl SnapshotCapture {
    /// Copy what the snapshot of `store` at `taken_at` needs.
    #[must_use]
    pub fn take(store: &Store, taken_at: Timestamp) -> Self {
        let system = store.system();
        let head = Snapshot {
            schema_version: SCHEMA_VERSION,
            netlens_version: env!("CARGO_PKG_VERSION").to_owned(),
            taken_at,
            host: system.host.clone(),
            system: SystemSummary::from(system),
            sources: store.sources().cloned().collect(),
            findings: store.findings().open().into_iter().chain(store.findings().closed()).cloned().collect(),
            interfaces: store
                .interfaces()
                .map(|entry| InterfaceDoc {
                    interface: entry.info.clone(),
                    rates: entry.rates.map(InterfaceRatesDoc::from),
                    first_seen: entry.first_seen,
                })
                .collect(),
            routes: store.routes().to_vec(),
            rules: store.rules().to_vec(),
            neighbors: store.neighbors().to_vec(),
            paths: store.paths().to_vec(),
            dns: DnsSection::new(store),
            capture: store.capture().cloned(),
            kernel: super::KernelSection::new(store),
            connections: Vec::new(),
            events: store.timeline().iter().cloned().collect(),
            events_total: store.timeline().appended(),
            events_folded: store.timeline().folded(),
        };
        let table = store.connections();
        let connections = table.shared();
        let processes = table.processes().map(|p| (p.pid, (p.name.clone(), p.user.clone()))).collect();
        let mut names = HashMap::new();
        for entry in &connections {
            let remote = entry.socket.remote.ip();
            if !names.contains_key(&remote)
                && let Some(Some(name)) = table.name_of(remote)
            {
                names.insert(remote, name.to_owned());
            }
        }
        let interfaces =
            head.interfaces.iter().map(|i| (i.interface.index, i.interface.name.clone())).collect();
        Self { head, connections, processes, names, interfaces, now: table.last_table() }
    }

    /// The document: connections named and in the export's stable order (open before
    /// closed, then by protocol, state and ends).
    #[must_use]
    pub fn into_snapshot(self) -> Snapshot {
        let Self { mut head, mut connections, processes, names, interfaces, now } = self;
        connections.sort_by_key(|entry| {
            let s = &entry.socket;
            (entry.closed_at.is_some(), s.protocol, s.state, s.local, s.remote, s.cookie)
        });
        // Consumed one by one: an entry the store no longer holds is freed as soon as
        // its row is made, so the table and the document are not both in memory whole.
        head.connections = connections
            .into_iter()
            .map(|entry| {
                let process = entry.pid.and_then(|pid| processes.get(&pid));
                let socket = &entry.socket;
                // An unchanged socket is not read again: its clocks move on from its read.
                let (timer, tcp) = now.map_or((socket.timer, socket.tcp), |now| entry.clocks_at(now));
                ConnectionDoc {
                    cookie: socket.cookie,
                    protocol: socket.protocol,
                    family: socket.family,
                    state: socket.state,
                    local: socket.local,
                    remote: socket.remote,
                    remote_name: names.get(&socket.remote.ip()).cloned(),
                    interface: socket.interface_index.and_then(|index| interfaces.get(&index)).cloned(),
                    uid: socket.uid,
                    inode: socket.inode,
                    pid: entry.pid,
                    process: process.map(|(name, _)| name.clone()),
                    user: process.map(|(_, user)| user.clone()),
                    attribution: entry.origin.as_ref().map(|origin| origin.attribution),
                    cgroup: entry
                        .origin
                        .as_ref()
                        .and_then(|origin| origin.cgroup.as_deref())
                        .map(str::to_owned),
                    rx_bytes_per_s: entry.rates.map(|r| r.rx_bytes_per_s),
                    tx_bytes_per_s: entry.rates.map(|r| r.tx_bytes_per_s),
                    opened_at: entry.opened_at,
                    closed_at: entry.closed_at,
                    recv_queue: socket.recv_queue,
                    send_queue: socket.send_queue,
                    timer,
                    congestion: socket.congestion.clone(),
                    tcp,
                    warnings: entry.warnings.names().map(str::to_owned).collect(),
                    label: entry.label.map(ConnectionLabel::text),
                }
            })
            .collect();
        head
    }
}
