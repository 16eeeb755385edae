//! Connection warnings: the flags, when they hold, and the timeline sentence each
//! raises once.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::event::Notice;
use crate::model::{ProcessInfo, Protocol, RouteMove, SocketState, TimelineKind};

use super::{ConnectionEntry, ConnectionLimits};

/// Warning flags of a connection; each is raised on the timeline once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct ConnectionWarnings(pub u8);

impl ConnectionWarnings {
    /// Retransmitting with no acknowledged progress.
    pub const STALLED: Self = Self(1);
    /// Stuck in `syn_sent`.
    pub const LONG_SYN_SENT: Self = Self(2);
    /// The peer advertises a zero receive window.
    pub const ZERO_WINDOW: Self = Self(4);
    /// Many of the bytes sent were retransmissions.
    pub const HIGH_RETRANSMITS: Self = Self(8);
    /// The owning process is close to its open-file limit.
    pub const NEAR_FD_LIMIT: Self = Self(16);
    /// A fresh route lookup for the remote leaves through another interface or from
    /// another source than this connection (a VPN came up after it started).
    pub const ROUTE_MOVED: Self = Self(32);
    /// Its local address is no longer on any interface.
    pub const ORPHANED: Self = Self(64);

    /// Warnings that state a fact rather than a problem: shown like labels, not
    /// counted as warned (a moved route is normal after a VPN comes up).
    pub const INFORMATIONAL: Self = Self::ROUTE_MOVED;

    /// Every warning with its schema name, in display order.
    pub const ALL: [(Self, &'static str); 7] = [
        (Self::STALLED, "stalled"),
        (Self::LONG_SYN_SENT, "long_syn_sent"),
        (Self::ZERO_WINDOW, "zero_window"),
        (Self::HIGH_RETRANSMITS, "high_retransmits"),
        (Self::NEAR_FD_LIMIT, "near_fd_limit"),
        (Self::ORPHANED, "orphaned"),
        (Self::ROUTE_MOVED, "route_moved"),
    ];

    /// Whether every bit of `other` is set.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no warning is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The warning with this schema name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|(_, known)| *known == name).map(|(flag, _)| flag)
    }

    /// Whether the warning named so states a fact rather than a problem.
    #[must_use]
    pub fn is_informational(name: &str) -> bool {
        Self::from_name(name).is_some_and(|flag| Self::INFORMATIONAL.contains(flag))
    }

    /// The set warnings that signal a problem (all but [`Self::INFORMATIONAL`]).
    #[must_use]
    pub const fn alarming(self) -> Self {
        Self(self.0 & !Self::INFORMATIONAL.0)
    }

    /// The names of the set warnings.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::ALL.into_iter().filter(move |(flag, _)| self.contains(*flag)).map(|(_, name)| name)
    }
}

/// Above 90 % of the soft limit.
pub(super) fn near_fd_limit(process: &ProcessInfo) -> bool {
    match (process.open_files, process.open_files_limit) {
        (Some(open), Some(limit)) if limit > 0 => open * 10 >= limit * 9,
        _ => false,
    }
}

/// `tcp 10.0.0.1:5000 → 10.0.0.2:80 (curl 1234)`
fn describe(entry: &ConnectionEntry, processes: &HashMap<u32, ProcessInfo>) -> String {
    let socket = &entry.socket;
    let owner = match entry.pid {
        Some(pid) => {
            processes.get(&pid).map_or_else(|| format!(" (pid {pid})"), |p| format!(" ({} {pid})", p.name))
        }
        None => String::new(),
    };
    format!("{} {} → {}{owner}", socket.protocol.as_str(), socket.local, socket.remote)
}

/// Record the warnings in `now` that `entry` has not raised yet, with a timeline
/// notice each (keyed by cookie, for a stable order).
pub(super) fn raise(
    entry: &mut ConnectionEntry,
    now: ConnectionWarnings,
    processes: &HashMap<u32, ProcessInfo>,
    limits: &ConnectionLimits,
    raised: &mut Vec<(u64, Notice)>,
) {
    let new = ConnectionWarnings(now.0 & !entry.warnings.0);
    if new.is_empty() {
        return;
    }
    entry.warnings = ConnectionWarnings(entry.warnings.0 | now.0);
    let who = describe(entry, processes);
    for name in new.names() {
        raised.push((
            entry.socket.cookie,
            Notice::new(
                TimelineKind::ConnectionWarning,
                entry.socket.remote.to_string(),
                format!("{who}: {}", warning_sentence(entry, name, limits)),
            ),
        ));
    }
}

/// `route_moved` and `orphaned` as they hold now for an open connection; a move
/// also becomes the entry's latest [`RouteMove`]. Only established TCP connections
/// are judged (the connections source reports moves for nothing else).
pub(super) fn linkage_warnings(
    entry: &mut ConnectionEntry,
    moves: &HashMap<(IpAddr, IpAddr), RouteMove>,
    addresses: Option<&HashMap<IpAddr, Vec<u32>>>,
) -> ConnectionWarnings {
    let socket = &entry.socket;
    if socket.protocol != Protocol::Tcp || socket.state != SocketState::Established {
        return ConnectionWarnings::default();
    }
    let local = socket.local.ip().to_canonical();
    let mut warnings = 0;
    // Checked for every connection on every refresh: no hashing when nothing moved.
    if !moves.is_empty()
        && let Some(moved) = moves.get(&(local, socket.remote.ip().to_canonical()))
    {
        // Another source on the interface that holds this connection's address (an
        // older IPv6 temporary address, a secondary address) is no move.
        let elsewhere = moved.interface_changed
            || addresses.is_none_or(|addresses| {
                moved
                    .interface_index
                    .is_none_or(|index| addresses.get(&local).is_none_or(|holders| !holders.contains(&index)))
            });
        if elsewhere {
            warnings |= ConnectionWarnings::ROUTE_MOVED.0;
            entry.route_move = Some(moved.clone());
        }
    }
    // No table yet, or an empty one (a source that failed), says nothing; loopback
    // addresses are all on lo (127/8 whole), and a wildcard one is on every interface.
    let orphaned = addresses.is_some_and(|addresses| {
        !addresses.is_empty()
            && !local.is_unspecified()
            && !local.is_loopback()
            && !addresses.contains_key(&local)
    });
    if orphaned {
        warnings |= ConnectionWarnings::ORPHANED.0;
    }
    ConnectionWarnings(warnings)
}

fn warning_sentence(entry: &ConnectionEntry, name: &str, limits: &ConnectionLimits) -> String {
    match name {
        "route_moved" => entry.warning_detail(name).unwrap_or_else(|| "its route moved".to_owned()),
        "orphaned" => format!(
            "its local address {} is no longer on any interface: it cannot send until the address returns",
            entry.socket.local.ip().to_canonical()
        ),
        "stalled" => format!(
            "stalled: retransmitting with no acknowledged progress for {} s",
            limits.stall_after.whole_seconds()
        ),
        "long_syn_sent" => {
            format!("still connecting (syn_sent) after {} s", limits.syn_sent_after.whole_seconds())
        }
        "zero_window" => "the peer's receive window is zero: it is not reading".to_owned(),
        "high_retransmits" => "more than 10 % of the bytes sent were retransmitted".to_owned(),
        "near_fd_limit" => "its process is above 90 % of its open-file limit".to_owned(),
        other => other.to_owned(),
    }
}
