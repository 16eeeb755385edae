//! Socket and exhaustion rules: full accept queues, UDP receive drops, the conntrack
//! table and the file table.

use std::fmt::Write as _;

use crate::Store;
use crate::model::{Evidence, Protocol, Severity, SocketState};
use crate::store::{ConnectionEntry, CounterTable};

use super::facts::{owner, percent_of};
use super::{Candidate, Rule, RuleConfig, Threshold, Verdict};

const SECOND: time::Duration = time::Duration::SECOND;

/// A counter's growth over the last interval, as evidence: `TcpExtListenOverflows, last 1.0 s`, `+37`.
fn growth(store: &Store, name: &str, delta: u64) -> Evidence {
    let interval = store.kernel().interval().unwrap_or(0.0);
    Evidence::new(format!("{name}, last {interval:.1} s"), format!("+{delta}"))
}

/// `listen_overflow`: the kernel dropped connections because a listener's accept
/// queue was full; names the listener (a full queue now: `Recv-Q` ≥ `Send-Q`, the backlog).
pub const LISTEN_OVERFLOW: Rule = Rule {
    id: "listen_overflow",
    family: "sockets",
    summary: "a listener's accept queue is full and the kernel drops new connections",
    debounce: time::Duration::ZERO,
    hold: time::Duration::seconds(30),
    thresholds: &[],
    evaluate: listen_overflow,
};

fn listen_overflow(store: &Store, _: &RuleConfig) -> Verdict {
    let Some(overflows) = store.kernel().delta(CounterTable::Netstat, "TcpExtListenOverflows") else {
        return Verdict::NotApplicable;
    };
    if overflows == 0 {
        return Verdict::Found(Vec::new());
    }
    let full: Vec<&ConnectionEntry> = store
        .connections()
        .iter()
        .filter(|e| {
            e.closed_at.is_none()
                && e.socket.state == SocketState::Listen
                && e.socket.send_queue > 0
                && e.socket.recv_queue >= e.socket.send_queue
        })
        .collect();
    let counter = growth(store, "TcpExtListenOverflows", overflows);
    if full.is_empty() {
        return Verdict::Found(vec![Candidate {
            subject: "tcp listeners".to_owned(),
            severity: Severity::Warning,
            title: "a listener's accept queue overflowed".to_owned(),
            evidence: vec![counter, Evidence::new("listeners with a full queue now", "none (it drained)")],
            cause: "connections arrived faster than the application accepted them, past the listen backlog".to_owned(),
            fix: "ss -ltn  # find the listener whose Recv-Q reaches Send-Q; raise its backlog (listen(2), net.core.somaxconn) or accept faster".to_owned(),
        }]);
    }
    Verdict::Found(
        full.into_iter()
            .map(|entry| {
                let socket = &entry.socket;
                let who = owner(store, entry);
                Candidate {
                    subject: format!("tcp {}", socket.local),
                    severity: Severity::Critical,
                    title: format!("listener {} ({who}) drops connections: its accept queue is full", socket.local),
                    evidence: vec![
                        counter.clone(),
                        Evidence::new(format!("accept queue of {} (Recv-Q / Send-Q)", socket.local), format!("{} / {}", socket.recv_queue, socket.send_queue)),
                        Evidence::new("owner", who.clone()),
                    ],
                    cause: format!("{who} accepts connections slower than they arrive, and the backlog of {} is full", socket.send_queue),
                    fix: format!("sysctl -w net.core.somaxconn=4096  # and raise the backlog {who} passes to listen(2) on {}", socket.local),
                }
            })
            .collect(),
    )
}

/// How recently a socket's own drop count must have grown to be named.
const DROPS_LATELY: time::Duration = time::Duration::seconds(10);

/// `udp_receive_drops`: UDP datagrams dropped for want of receive buffer; names the
/// sockets whose kernel drop count (`SK_MEMINFO_DROPS`) is not zero.
pub const UDP_RECEIVE_DROPS: Rule = Rule {
    id: "udp_receive_drops",
    family: "sockets",
    summary: "UDP datagrams are dropped because a socket's receive buffer is full",
    debounce: time::Duration::ZERO,
    hold: time::Duration::seconds(30),
    thresholds: &[],
    evaluate: udp_receive_drops,
};

fn udp_receive_drops(store: &Store, _: &RuleConfig) -> Verdict {
    let kernel = store.kernel();
    let v4 = kernel.delta(CounterTable::Snmp, "UdpRcvbufErrors");
    let v6 = kernel.delta(CounterTable::Snmp, "Udp6RcvbufErrors");
    if v4.is_none() && v6.is_none() {
        return Verdict::NotApplicable;
    }
    let dropped = v4.unwrap_or(0) + v6.unwrap_or(0);
    if dropped == 0 {
        return Verdict::Found(Vec::new());
    }
    // Only sockets whose own count grew lately: a count since the socket was created
    // may be an old drop (a daemon's startup burst), and blaming it would move the
    // finding from socket to socket as totals overtake each other.
    let now = store.updated_mono();
    let lately = |entry: &ConnectionEntry| {
        entry.drops_grew_at().zip(now).is_some_and(|(grew, now)| now - grew <= DROPS_LATELY)
    };
    let mut droppers: Vec<(&ConnectionEntry, u32)> = store
        .connections()
        .iter()
        .filter(|e| e.closed_at.is_none() && e.socket.protocol == Protocol::Udp && lately(e))
        .filter_map(|e| Some((e, e.socket.memory?.drops)).filter(|(_, drops)| *drops > 0))
        .collect();
    droppers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.socket.cookie.cmp(&b.0.socket.cookie)));
    let counter = growth(store, "UdpRcvbufErrors + Udp6RcvbufErrors", dropped);
    let Some(&(entry, drops)) = droppers.first() else {
        return Verdict::Found(vec![Candidate {
            subject: "udp sockets".to_owned(),
            severity: Severity::Warning,
            title: "UDP datagrams dropped: a receive buffer was full".to_owned(),
            evidence: vec![counter, Evidence::new("open UDP sockets with drops", "none (the socket closed)")],
            cause: "an application read its UDP socket slower than datagrams arrived".to_owned(),
            fix: "sysctl -w net.core.rmem_max=8388608  # and raise SO_RCVBUF in the application".to_owned(),
        }]);
    };
    let who = owner(store, entry);
    let mut others = String::new();
    for (other, drops) in droppers.iter().skip(1).take(4) {
        let _ =
            write!(others, "{}{} ({drops})", if others.is_empty() { "" } else { ", " }, other.socket.local);
    }
    let memory = entry.socket.memory.unwrap_or_default();
    let mut evidence = vec![
        counter,
        Evidence::new(format!("drops of udp {} (SK_MEMINFO_DROPS)", entry.socket.local), drops.to_string()),
        Evidence::new(
            "receive buffer used / size",
            format!("{} / {} bytes", memory.rmem_alloc, memory.rcvbuf),
        ),
        Evidence::new("owner", who.clone()),
    ];
    if !others.is_empty() {
        evidence.push(Evidence::new("other sockets with drops", others));
    }
    Verdict::Found(vec![Candidate {
        subject: format!("udp {}", entry.socket.local),
        severity: Severity::Warning,
        title: format!("udp {} ({who}) drops datagrams: its receive buffer is full", entry.socket.local),
        evidence,
        cause: format!(
            "{who} reads the socket slower than datagrams arrive, and its {}-byte buffer fills",
            memory.rcvbuf
        ),
        fix:
            "sysctl -w net.core.rmem_max=8388608  # then raise SO_RCVBUF in the application (or read faster)"
                .to_owned(),
    }])
}

/// `conntrack_full`: the connection-tracking table is nearly full (new flows are
/// dropped when it is).
pub const CONNTRACK_FULL: Rule = Rule {
    id: "conntrack_full",
    family: "exhaustion",
    summary: "the conntrack table is nearly full; new flows are dropped when it is",
    debounce: SECOND,
    hold: time::Duration::seconds(30),
    thresholds: &[Threshold {
        name: "percent",
        default: 90.0,
        doc: "fill of nf_conntrack_max that opens it, in percent",
    }],
    evaluate: conntrack_full,
};

fn conntrack_full(store: &Store, config: &RuleConfig) -> Verdict {
    let Some(conntrack) = store.kernel().latest().and_then(|k| k.conntrack).filter(|c| c.max > 0) else {
        return Verdict::NotApplicable;
    };
    let percent = percent_of(conntrack.count, conntrack.max);
    if percent < config.threshold("percent") {
        return Verdict::Found(Vec::new());
    }
    let severity = if conntrack.count >= conntrack.max { Severity::Critical } else { Severity::Warning };
    Verdict::Found(vec![Candidate {
        subject: "nf_conntrack".to_owned(),
        severity,
        title: format!("the conntrack table is {percent:.0} % full"),
        evidence: vec![
            Evidence::new("net.netfilter.nf_conntrack_count", conntrack.count.to_string()),
            Evidence::new("net.netfilter.nf_conntrack_max", conntrack.max.to_string()),
        ],
        cause:
            "more flows are tracked than the table holds; when it is full the kernel drops new connections"
                .to_owned(),
        fix: format!("sysctl -w net.netfilter.nf_conntrack_max={}", conntrack.max.saturating_mul(2)),
    }])
}

/// `fd_exhaustion`: the host's file table (`fs.file-nr` against `fs.file-max`) is nearly used up.
pub const FD_EXHAUSTION: Rule = Rule {
    id: "fd_exhaustion",
    family: "exhaustion",
    summary: "the host's file table (fs.file-max) is nearly used up",
    debounce: SECOND,
    hold: time::Duration::seconds(30),
    thresholds: &[Threshold {
        name: "percent",
        default: 90.0,
        doc: "use of fs.file-max that opens it, in percent",
    }],
    evaluate: fd_exhaustion,
};

fn fd_exhaustion(store: &Store, config: &RuleConfig) -> Verdict {
    let Some(files) = store.kernel().latest().and_then(|k| k.files).filter(|f| f.max > 0) else {
        return Verdict::NotApplicable;
    };
    let percent = percent_of(files.allocated, files.max);
    if percent < config.threshold("percent") {
        return Verdict::Found(Vec::new());
    }
    Verdict::Found(vec![Candidate {
        subject: "fs.file-max".to_owned(),
        severity: if files.allocated >= files.max { Severity::Critical } else { Severity::Warning },
        title: format!("the host's file table is {percent:.0} % used"),
        evidence: vec![
            Evidence::new("file handles allocated (fs.file-nr)", files.allocated.to_string()),
            Evidence::new("fs.file-max", files.max.to_string()),
        ],
        cause: "processes hold almost as many open files and sockets as the kernel allows; new sockets fail with ENFILE".to_owned(),
        fix: format!("sysctl -w fs.file-max={}", files.max.saturating_mul(2)),
    }])
}

#[cfg(test)]
#[path = "sockets_tests.rs"]
mod tests;
