//! What changed between two snapshots: interfaces, addresses and their flags, routes,
//! rules, neighbours, paths and their verdicts, the DNS configuration, listening
//! sockets and connection counts per process. Pure: two documents in, a list of
//! changes out, each keyed by the words the tables show (`eth0`, `eth0
//! 192.168.1.23/24`, `table main default metric 100`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Snapshot;
use crate::model::{Route, SocketState};

/// How a subject changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// In the second snapshot only.
    Added,
    /// In the first snapshot only.
    Removed,
    /// In both, described differently.
    Changed,
}

impl ChangeKind {
    /// As serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// `interfaces`, `addresses`, `routes`, `rules`, `neighbors`, `paths`, `dns`,
    /// `listening`, `connections`.
    pub section: String,
    /// What changed, as its table names it.
    pub subject: String,
    /// Added, removed or changed.
    pub change: ChangeKind,
    /// How the first snapshot describes it; `null` when added.
    pub before: Option<String>,
    /// How the second snapshot describes it; `null` when removed.
    pub after: Option<String>,
}

/// One section of a snapshot: each subject and how it is described.
type Described = BTreeMap<String, String>;

/// A section's name and how it reads a snapshot.
type Section = (&'static str, fn(&Snapshot) -> Described);

/// Every change from `before` to `after`, by section in the order above, then subject.
#[must_use]
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<Change> {
    let sections: [Section; 9] = [
        ("interfaces", interfaces),
        ("addresses", addresses),
        ("routes", routes),
        ("rules", rules),
        ("neighbors", neighbors),
        ("paths", paths),
        ("dns", dns),
        ("listening", listening),
        ("connections", connections),
    ];
    let mut changes = Vec::new();
    for (section, describe) in sections {
        let (old, new) = (describe(before), describe(after));
        for (subject, was) in &old {
            match new.get(subject) {
                None => changes.push(change(section, subject, ChangeKind::Removed, Some(was), None)),
                Some(now) if now != was => {
                    changes.push(change(section, subject, ChangeKind::Changed, Some(was), Some(now)));
                }
                Some(_) => {}
            }
        }
        for (subject, now) in new.iter().filter(|(subject, _)| !old.contains_key(*subject)) {
            changes.push(change(section, subject, ChangeKind::Added, None, Some(now)));
        }
    }
    changes
}

fn change(
    section: &str,
    subject: &str,
    kind: ChangeKind,
    before: Option<&String>,
    after: Option<&String>,
) -> Change {
    Change {
        section: section.to_owned(),
        subject: subject.to_owned(),
        change: kind,
        before: before.cloned(),
        after: after.cloned(),
    }
}

fn interfaces(doc: &Snapshot) -> Described {
    doc.interfaces
        .iter()
        .map(|entry| {
            let i = &entry.interface;
            let mut text = format!(
                "{} · {}{} · {} · mtu {}",
                i.kind.as_str(),
                if i.is_up() { "up" } else { "down" },
                if i.carrier { ", carrier" } else { ", no carrier" },
                i.oper_state.as_str(),
                i.mtu
            );
            if let Some(mac) = &i.mac {
                let _ = write!(text, " · {mac}");
            }
            (i.name.clone(), text)
        })
        .collect()
}

fn addresses(doc: &Snapshot) -> Described {
    doc.interfaces
        .iter()
        .flat_map(|entry| {
            let name = &entry.interface.name;
            entry.interface.addresses.iter().map(move |a| {
                let flags: Vec<&str> = a.flags.names().collect();
                let flags = if flags.is_empty() { "no flags".to_owned() } else { flags.join(" ") };
                (format!("{name} {}/{}", a.address, a.prefix_len), format!("{} · {flags}", a.scope.as_str()))
            })
        })
        .collect()
}

fn routes(doc: &Snapshot) -> Described {
    doc.routes
        .iter()
        .map(|r: &Route| {
            let subject = format!(
                "table {} {} {}{}",
                Route::table_name(r.table),
                r.route_type.as_str(),
                r.destination_text(),
                r.metric.map_or_else(String::new, |metric| format!(" metric {metric}"))
            );
            let mut text = String::new();
            if let Some(gateway) = r.gateway {
                let _ = write!(text, "via {gateway} ");
            }
            let _ = write!(text, "dev {}", r.interface.as_deref().unwrap_or("–"));
            if let Some(source) = r.source {
                let _ = write!(text, " src {source}");
            }
            let _ = write!(text, " proto {} scope {}", r.protocol, r.scope.as_str());
            (subject, text)
        })
        .collect()
}

fn rules(doc: &Snapshot) -> Described {
    doc.rules
        .iter()
        .map(|r| {
            (
                format!("{} {}: {}", r.family.as_str(), r.priority, r.selector),
                format!("{} {}", r.action, Route::table_name(r.table)),
            )
        })
        .collect()
}

fn neighbors(doc: &Snapshot) -> Described {
    doc.neighbors
        .iter()
        .map(|n| {
            (
                format!("{} on {}", n.address, n.interface),
                format!("{} {}", n.state.as_str(), n.mac.as_deref().unwrap_or("–")),
            )
        })
        .collect()
}

fn paths(doc: &Snapshot) -> Described {
    doc.paths
        .iter()
        .map(|p| {
            let mut text = p.status.as_str().to_owned();
            if let Some(reason) = p.reason {
                let _ = write!(text, " {}", reason.as_str());
            }
            if let Some(interface) = &p.interface {
                let _ = write!(text, " · {interface}");
            }
            if let Some(gateway) = p.gateway {
                let _ = write!(text, " via {gateway}");
            }
            (p.target.clone(), text)
        })
        .collect()
}

fn dns(doc: &Snapshot) -> Described {
    let Some(config) = &doc.dns.config else { return Described::new() };
    let list =
        |items: &[std::net::IpAddr]| items.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
    [
        ("nameservers", list(&config.nameservers)),
        ("upstreams", list(&config.upstreams)),
        ("search", config.search.join(" ")),
        (
            "options",
            format!(
                "ndots:{} timeout:{} attempts:{} {}",
                config.ndots,
                config.timeout_s,
                config.attempts,
                config.options.join(" ")
            )
            .trim_end()
            .to_owned(),
        ),
        ("hosts order", config.hosts_order.join(" ")),
    ]
    .into_iter()
    .map(|(subject, text)| (subject.to_owned(), text))
    .collect()
}

fn listening(doc: &Snapshot) -> Described {
    doc.connections
        .iter()
        .filter(|c| c.closed_at.is_none() && c.state == SocketState::Listen)
        .map(|c| {
            let owner = c.process.clone().unwrap_or_else(|| "unknown process".to_owned());
            (format!("{} {}", c.protocol.as_str(), c.local), owner)
        })
        .collect()
}

/// Open connections (not listening) per process.
fn connections(doc: &Snapshot) -> Described {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for c in doc.connections.iter().filter(|c| c.closed_at.is_none() && c.state != SocketState::Listen) {
        *counts.entry(c.process.clone().unwrap_or_else(|| "unknown process".to_owned())).or_default() += 1;
    }
    counts.into_iter().map(|(process, count)| (process, format!("{count} open"))).collect()
}

#[cfg(all(test, feature = "fake"))]
#[path = "diff_tests.rs"]
mod tests;
