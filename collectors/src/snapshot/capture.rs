//! Taking a snapshot in two steps: [`SnapshotCapture::take`] copies what the document
//! needs out of the store (plain values, no per-connection strings, no sorting), and
//! [`SnapshotCapture::into_snapshot`] does the rest (names, ordering, the owned
//! document). The TUI runs the first on its event loop and the second on a blocking
//! thread; measured at 100,000 connections in `benches/snapshot.rs`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::connections::ConnectionDoc;
use super::{DnsSection, InterfaceDoc, InterfaceRatesDoc, SCHEMA_VERSION, Snapshot, SystemSummary};
use crate::model::{AddressFamily, Protocol, SocketState, SocketTimer, TcpInfo, Timestamp};
use crate::{ConnectionEntry, ConnectionLabel, ConnectionRates, ConnectionWarnings, Store};

/// Everything a snapshot needs, copied from the store; `Send`, so the rest of the
/// work can leave the thread that owns the store.
#[derive(Debug, Clone)]
pub struct SnapshotCapture {
    /// The document without its connections (every other section is small).
    head: Snapshot,
    connections: Vec<ConnectionFacts>,
    /// Process name and user by pid, for the pids the connections name.
    processes: HashMap<u32, (String, String)>,
    /// Reverse-DNS names of the remote addresses that have one.
    names: HashMap<IpAddr, String>,
    /// Interface names by index.
    interfaces: HashMap<u32, String>,
    /// Congestion control names, each once (a table holds two or three).
    congestion: Vec<String>,
}

/// One connection's plain facts, as copied on the event loop.
#[derive(Debug, Clone)]
struct ConnectionFacts {
    cookie: u64,
    protocol: Protocol,
    family: AddressFamily,
    state: SocketState,
    local: SocketAddr,
    remote: SocketAddr,
    interface_index: Option<u32>,
    uid: u32,
    inode: u64,
    pid: Option<u32>,
    rates: Option<ConnectionRates>,
    opened_at: Option<Timestamp>,
    closed_at: Option<Timestamp>,
    recv_queue: u32,
    send_queue: u32,
    timer: Option<SocketTimer>,
    /// Index into [`SnapshotCapture::congestion`].
    congestion: Option<u16>,
    tcp: Option<TcpInfo>,
    warnings: ConnectionWarnings,
    label: Option<ConnectionLabel>,
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
            connections: Vec::new(),
            events: store.timeline().iter().cloned().collect(),
        };
        let table = store.connections();
        let mut capture = Self {
            interfaces: head
                .interfaces
                .iter()
                .map(|i| (i.interface.index, i.interface.name.clone()))
                .collect(),
            head,
            connections: Vec::with_capacity(table.len()),
            processes: HashMap::new(),
            names: HashMap::new(),
            congestion: Vec::new(),
        };
        for entry in table.iter() {
            let facts = capture.facts(entry);
            capture.connections.push(facts);
        }
        for process in table.processes() {
            capture.processes.insert(process.pid, (process.name.clone(), process.user.clone()));
        }
        for facts in &capture.connections {
            let remote = facts.remote.ip();
            if !capture.names.contains_key(&remote)
                && let Some(Some(name)) = table.name_of(remote)
            {
                capture.names.insert(remote, name.to_owned());
            }
        }
        capture
    }

    fn facts(&mut self, entry: &ConnectionEntry) -> ConnectionFacts {
        let socket = &entry.socket;
        let congestion = socket.congestion.as_deref().map(|name| {
            let known = self.congestion.iter().position(|known| known == name);
            let index = known.unwrap_or_else(|| {
                self.congestion.push(name.to_owned());
                self.congestion.len() - 1
            });
            index as u16
        });
        ConnectionFacts {
            cookie: socket.cookie,
            protocol: socket.protocol,
            family: socket.family,
            state: socket.state,
            local: socket.local,
            remote: socket.remote,
            interface_index: socket.interface_index,
            uid: socket.uid,
            inode: socket.inode,
            pid: entry.pid,
            rates: entry.rates,
            opened_at: entry.opened_at,
            closed_at: entry.closed_at,
            recv_queue: socket.recv_queue,
            send_queue: socket.send_queue,
            timer: socket.timer,
            congestion,
            tcp: socket.tcp,
            warnings: entry.warnings,
            label: entry.label,
        }
    }

    /// The document: connections named and in the export's stable order (open before
    /// closed, then by protocol, state and ends).
    #[must_use]
    pub fn into_snapshot(self) -> Snapshot {
        let Self { mut head, mut connections, processes, names, interfaces, congestion } = self;
        connections
            .sort_by_key(|c| (c.closed_at.is_some(), c.protocol, c.state, c.local, c.remote, c.cookie));
        head.connections = connections
            .into_iter()
            .map(|c| {
                let process = c.pid.and_then(|pid| processes.get(&pid));
                ConnectionDoc {
                    cookie: c.cookie,
                    protocol: c.protocol,
                    family: c.family,
                    state: c.state,
                    local: c.local,
                    remote: c.remote,
                    remote_name: names.get(&c.remote.ip()).cloned(),
                    interface: c.interface_index.and_then(|index| interfaces.get(&index)).cloned(),
                    uid: c.uid,
                    inode: c.inode,
                    pid: c.pid,
                    process: process.map(|(name, _)| name.clone()),
                    user: process.map(|(_, user)| user.clone()),
                    rx_bytes_per_s: c.rates.map(|r| r.rx_bytes_per_s),
                    tx_bytes_per_s: c.rates.map(|r| r.tx_bytes_per_s),
                    opened_at: c.opened_at,
                    closed_at: c.closed_at,
                    recv_queue: c.recv_queue,
                    send_queue: c.send_queue,
                    timer: c.timer,
                    congestion: c.congestion.and_then(|index| congestion.get(usize::from(index))).cloned(),
                    tcp: c.tcp,
                    warnings: c.warnings.names().map(str::to_owned).collect(),
                    label: c.label.map(ConnectionLabel::text),
                }
            })
            .collect();
        head
    }
}
