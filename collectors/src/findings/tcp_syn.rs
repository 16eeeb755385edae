//! `syn_unanswered`: connects whose SYNs get no answer, per destination — or, for a
//! process that tries many destinations at once (a peer-to-peer client, a scanner),
//! one finding for the process.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use super::canonical;
use crate::Store;
use crate::findings::facts::owners;
use crate::findings::{Candidate, Rule, RuleConfig, Threshold, Verdict};
use crate::model::{Evidence, Protocol, Severity, SocketState};
use crate::store::ConnectionEntry;

/// A process with unanswered connects to more destinations than this is trying
/// peers, not reaching a service: its destinations fold into one finding.
const MANY_DESTINATIONS: usize = 8;

/// `syn_unanswered`: connects to a destination stay in `syn_sent` with their SYN
/// retransmitted: nothing answers, not even with a reset.
pub const SYN_UNANSWERED: Rule = Rule {
    id: "syn_unanswered",
    family: "sockets",
    summary: "connects to a destination get no answer: their SYNs are retransmitted (a firewall drops them, or the host is down)",
    // The age threshold is the debounce: a SYN lost once is answered within it.
    debounce: time::Duration::ZERO,
    hold: time::Duration::seconds(30),
    thresholds: &[Threshold {
        name: "seconds",
        default: 3.0,
        doc: "age of a connect still in syn_sent, its SYN retransmitted, that opens it, in seconds",
    }],
    evaluate: syn_unanswered,
};

fn syn_unanswered(store: &Store, config: &RuleConfig) -> Verdict {
    let Some(now) = store.updated_mono().filter(|_| store.connections().has_data()) else {
        return Verdict::NotApplicable;
    };
    let after = time::Duration::seconds_f64(config.threshold("seconds").max(0.0));
    // Open connects stuck past the threshold, and the ones that already gave up, by destination.
    let mut stuck: BTreeMap<SocketAddr, Vec<(&ConnectionEntry, time::Duration, u8)>> = BTreeMap::new();
    let mut gave_up: BTreeMap<SocketAddr, usize> = BTreeMap::new();
    for entry in store.connections().iter() {
        let socket = &entry.socket;
        if socket.protocol != Protocol::Tcp || socket.state != SocketState::SynSent {
            continue;
        }
        let destination = canonical(socket.remote);
        if entry.closed_at.is_some() {
            *gave_up.entry(destination).or_default() += 1;
            continue;
        }
        let (timer, tcp) = entry.clocks_at(now);
        let retransmitted =
            timer.map_or(0, |timer| timer.retransmits).max(tcp.map_or(0, |tcp| tcp.retransmits));
        let age = entry.lifetime(now);
        if retransmitted > 0 && age >= after {
            stuck.entry(destination).or_default().push((entry, age, retransmitted));
        }
    }
    let mut found = fold_busy_processes(store, &mut stuck);
    found.extend(
        stuck
            .into_iter()
            .map(|(destination, connects)| {
                let who = owners(store, connects.iter().map(|(entry, ..)| *entry));
                let oldest = connects.iter().map(|(_, age, _)| *age).max().unwrap_or_default();
                let retries = connects.iter().map(|(.., retransmitted)| *retransmitted).max().unwrap_or(0);
                let mut evidence = vec![
                    Evidence::new(format!("connects to {destination} in syn_sent"), connects.len().to_string()),
                    Evidence::new(
                        "oldest, and its SYN retransmissions",
                        format!("{:.1} s, {retries} retransmitted", oldest.as_seconds_f64()),
                    ),
                ];
                if let Some(count) = gave_up.get(&destination) {
                    evidence.push(Evidence::new("connects that gave up in syn_sent (closed, recently)", count.to_string()));
                }
                evidence.push(Evidence::new("processes", who.clone()));
                let ip = destination.ip();
                Candidate {
                    subject: format!("tcp {destination}"),
                    severity: Severity::Warning,
                    title: format!("connects to {destination} get no answer ({who})"),
                    evidence,
                    cause: format!(
                        "SYNs to {destination} are retransmitted without a SYN-ACK or a reset: a firewall on the way (or on {ip}) drops them, or the host is down or unreachable"
                    ),
                    fix: format!(
                        "nc -vz -w 3 {ip} {}  # from here and from a host next to it; nft list ruleset  # here and on the way: look for a drop of port {}",
                        destination.port(),
                        destination.port()
                    ),
                }
            }),
    );
    Verdict::Found(found)
}

/// The stuck connects of each process with unanswered connects to more than
/// [`MANY_DESTINATIONS`] destinations, taken out of `stuck` and folded into one info
/// finding per process: trying many peers at once, a few of which never answer, is
/// how peer-to-peer clients work, and a warning per peer would bury the rest.
fn fold_busy_processes(
    store: &Store,
    stuck: &mut BTreeMap<SocketAddr, Vec<(&ConnectionEntry, time::Duration, u8)>>,
) -> Vec<Candidate> {
    let mut destinations: BTreeMap<u32, BTreeSet<SocketAddr>> = BTreeMap::new();
    for (destination, connects) in stuck.iter() {
        for pid in connects.iter().filter_map(|(entry, ..)| entry.pid) {
            destinations.entry(pid).or_default().insert(*destination);
        }
    }
    let mut found = Vec::new();
    for (pid, many) in destinations.into_iter().filter(|(_, many)| many.len() > MANY_DESTINATIONS) {
        let mut folded = Vec::new();
        for destination in &many {
            let Some(connects) = stuck.get_mut(destination) else { continue };
            let (theirs, others): (Vec<_>, Vec<_>) =
                connects.drain(..).partition(|(entry, ..)| entry.pid == Some(pid));
            *connects = others;
            folded.extend(theirs);
            if connects.is_empty() {
                stuck.remove(destination);
            }
        }
        let who = owners(store, folded.iter().map(|(entry, ..)| *entry));
        let sample: Vec<String> = many.iter().take(5).map(ToString::to_string).collect();
        found.push(Candidate {
            subject: format!("tcp connects of pid {pid}"),
            severity: Severity::Info,
            title: format!("{who} has unanswered connects to {} destinations", many.len()),
            evidence: vec![
                Evidence::new("connects in syn_sent, SYN retransmitted", folded.len().to_string()),
                Evidence::new("destinations", format!("{}; e.g. {}", many.len(), sample.join(", "))),
                Evidence::new("process", who.clone()),
            ],
            cause: format!(
                "{who} tries many hosts at once and some never answer: normal for a peer-to-peer client (peers that left), a sign of scanning otherwise"
            ),
            fix: format!(
                "ss -tnp state syn-sent | grep 'pid={pid},'  # if {who} should not be reaching out this widely, find out why"
            ),
        });
    }
    found
}
