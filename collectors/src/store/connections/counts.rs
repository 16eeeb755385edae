//! Socket counts per state, kept up to date as entries change.

use crate::model::{Protocol, SocketState};

use super::ConnectionEntry;

/// Socket counts per state, for headers and the overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ConnectionCounts {
    /// Open TCP sockets.
    pub tcp: usize,
    /// Open UDP sockets.
    pub udp: usize,
    /// Established (TCP and connected UDP).
    pub established: usize,
    /// Listening.
    pub listen: usize,
    /// Connecting (`syn_sent`, `syn_recv`).
    pub connecting: usize,
    /// Closing (`fin_wait*`, `close_wait`, `last_ack`, `closing`).
    pub closing: usize,
    /// In `time_wait`.
    pub time_wait: usize,
    /// Unconnected UDP.
    pub unconnected: usize,
    /// Closed and still shown.
    pub closed: usize,
    /// Open connections with a warning that signals a problem (informational ones,
    /// like a moved route, are not counted).
    pub warned: usize,
}

impl ConnectionCounts {
    /// Count `entry` in its state, its protocol and its warnings (a closed one only as
    /// closed): the store counts its whole table so, and a view the rows it shows.
    pub fn add(&mut self, entry: &ConnectionEntry) {
        if entry.closed_at.is_some() {
            self.closed += 1;
            return;
        }
        self.add_open(entry.socket.protocol, entry.socket.state, !entry.warnings.alarming().is_empty());
    }

    /// Count an open connection of `protocol` in `state`, `warned` or not.
    pub(super) const fn add_open(&mut self, protocol: Protocol, state: SocketState, warned: bool) {
        match protocol {
            Protocol::Tcp => self.tcp += 1,
            Protocol::Udp => self.udp += 1,
        }
        match state {
            SocketState::Established => self.established += 1,
            SocketState::Listen => self.listen += 1,
            SocketState::SynSent | SocketState::SynRecv | SocketState::NewSynRecv => self.connecting += 1,
            SocketState::TimeWait => self.time_wait += 1,
            SocketState::Unconnected => self.unconnected += 1,
            state if state.is_closing() => self.closing += 1,
            _ => {}
        }
        if warned {
            self.warned += 1;
        }
    }
}

impl ConnectionCounts {
    /// Take `entry` out of the counts, as [`Self::add`] put it in (before it changes).
    pub fn remove(&mut self, entry: &ConnectionEntry) {
        let mut one = Self::default();
        one.add(entry);
        let fields = [
            (&mut self.tcp, one.tcp),
            (&mut self.udp, one.udp),
            (&mut self.established, one.established),
            (&mut self.listen, one.listen),
            (&mut self.connecting, one.connecting),
            (&mut self.closing, one.closing),
            (&mut self.time_wait, one.time_wait),
            (&mut self.unconnected, one.unconnected),
            (&mut self.closed, one.closed),
            (&mut self.warned, one.warned),
        ];
        for (count, taken) in fields {
            *count = count.saturating_sub(taken);
        }
    }
}
