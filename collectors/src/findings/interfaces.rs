//! Interface rules: duplicate and stuck IPv6 addresses, flapping links, rising error
//! and drop counters, and the receive backlog's drops (`softnet_stat`).

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::Store;
use crate::model::{
    AddressFlags, Evidence, Interface, InterfaceAddress, InterfaceKind, InterfaceStats, Severity, SoftnetCpu,
    TimelineEntry, TimelineKind, Timestamp,
};
use crate::store::InterfaceEntry;

use super::{Candidate, Rule, RuleConfig, Threshold, Verdict};

/// `2001:db8::1/64`, as `ip address` takes it.
fn cidr(address: &InterfaceAddress) -> String {
    format!("{}/{}", address.address, address.prefix_len)
}

/// The address's flags as `ip address show` lists them (`tentative dadfailed`).
fn flag_names(address: &InterfaceAddress) -> String {
    let names: Vec<&str> = address.flags.names().collect();
    if names.is_empty() { "none".to_owned() } else { names.join(" ") }
}

/// The link's state as evidence reads it: `up, carrier`, `up, NO-CARRIER (oper down)`, `down`.
fn link_state(info: &Interface) -> String {
    if !info.is_up() {
        return "down".to_owned();
    }
    let carrier = if info.carrier { "carrier" } else { "NO-CARRIER" };
    format!("up, {carrier} (oper {})", info.oper_state.as_str())
}

/// `12 s ago`, from the store's latest event.
fn ago(now: Timestamp, then: Timestamp) -> String {
    format!("{} s ago", (now - then).whole_seconds().max(0))
}

/// Every address held by an up interface for which `keep` holds, or `None` before
/// the interfaces source reported anything.
fn addresses(
    store: &Store,
    keep: fn(&InterfaceAddress) -> bool,
) -> Option<Vec<(&Interface, &InterfaceAddress)>> {
    if store.interface_count() == 0 {
        return None;
    }
    let found = store
        .interfaces()
        .filter(|entry| entry.info.is_up())
        .flat_map(|entry| entry.info.addresses.iter().filter(|a| keep(a)).map(|a| (&entry.info, a)))
        .collect();
    Some(found)
}

/// `address_dad_failed`: duplicate address detection found another host on the link
/// using one of our addresses; the kernel will not use it.
pub const ADDRESS_DAD_FAILED: Rule = Rule {
    id: "address_dad_failed",
    family: "interfaces",
    summary: "an address failed duplicate address detection: another host on the link uses it",
    debounce: time::Duration::ZERO,
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: address_dad_failed,
};

fn address_dad_failed(store: &Store, _: &RuleConfig) -> Verdict {
    let Some(failed) = addresses(store, |a| a.flags.contains(AddressFlags::DADFAILED)) else {
        return Verdict::NotApplicable;
    };
    Verdict::Found(
        failed
            .into_iter()
            .map(|(info, address)| {
                let (name, ip, cidr) = (&info.name, address.address, cidr(address));
                Candidate {
                    subject: format!("{name} {ip}"),
                    severity: Severity::Critical,
                    title: format!("{cidr} on {name} is a duplicate: another host on the link holds it"),
                    evidence: vec![
                        Evidence::new(format!("flags of {cidr} on {name}"), flag_names(address)),
                        Evidence::new("usable as a source", "no"),
                        Evidence::new(format!("link {name}"), link_state(info)),
                    ],
                    cause: format!(
                        "duplicate address detection on {name} heard another host answer for {ip}, so the kernel never uses it: traffic from or to {ip} through this host fails"
                    ),
                    fix: format!(
                        "ip address del {cidr} dev {name}  # then find the other holder (its MAC: `ip -6 neigh show {ip}` on a third host), give one of them another address, and add it back"
                    ),
                }
            })
            .collect(),
    )
}

/// `address_tentative_stuck`: an address stays tentative (duplicate address
/// detection unfinished, so unusable) on an up interface for longer than the
/// debounce; normal detection takes 1-2 s after the link comes up.
pub const ADDRESS_TENTATIVE_STUCK: Rule = Rule {
    id: "address_tentative_stuck",
    family: "interfaces",
    summary: "an address stays tentative (unusable) long after its interface came up",
    // The debounce is the threshold: the rule sees every tentative address, and only
    // those tentative for this long open.
    debounce: time::Duration::seconds(10),
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: address_tentative_stuck,
};

fn address_tentative_stuck(store: &Store, config: &RuleConfig) -> Verdict {
    // Optimistic addresses are usable while detection runs; failed ones are another rule's.
    let stuck = |a: &InterfaceAddress| {
        a.flags.contains(AddressFlags::TENTATIVE)
            && !a.flags.contains(AddressFlags::DADFAILED)
            && !a.flags.contains(AddressFlags::OPTIMISTIC)
    };
    let Some(tentative) = addresses(store, stuck) else {
        return Verdict::NotApplicable;
    };
    let now = store.updated_at();
    let waited = config.debounce.whole_seconds();
    Verdict::Found(
        tentative
            .into_iter()
            // A bridge with no port up (docker0, virbr0 with no guest) has no carrier by
            // design: its addresses waiting for one is the normal idle state.
            .filter(|(info, _)| info.carrier || info.kind != InterfaceKind::Bridge)
            .map(|(info, address)| {
                let (name, ip, cidr) = (&info.name, address.address, cidr(address));
                let mut evidence = vec![
                    Evidence::new(format!("flags of {cidr} on {name}"), flag_names(address)),
                    Evidence::new("tentative for at least", format!("{waited} s")),
                    Evidence::new(format!("link {name}"), link_state(info)),
                ];
                let added = format!("{cidr} added to {name}");
                let line = store.timeline().iter().rev().find(|e| {
                    e.kind == TimelineKind::AddressAdded && e.subject == *name && e.detail.starts_with(&added)
                });
                if let (Some(line), Some(now)) = (line, now) {
                    evidence.push(Evidence::new("added", ago(now, line.last_at.unwrap_or(line.at))));
                }
                let (severity, cause, fix) = if info.carrier {
                    (
                        Severity::Warning,
                        format!(
                            "duplicate address detection for {ip} has not finished although {name} has a carrier (it takes 1-2 s): the link may lose its Neighbor Solicitations, or dad_transmits/retrans_time_ms are very large"
                        ),
                        format!(
                            "sysctl net.ipv6.conf.{name}.dad_transmits net.ipv6.neigh.{name}.retrans_time_ms  # or skip detection: ip address del {cidr} dev {name} && ip address add {cidr} dev {name} nodad"
                        ),
                    )
                } else {
                    (
                        Severity::Info,
                        format!(
                            "{name} has no carrier and duplicate address detection waits for one: {ip} stays tentative, unusable as a source, until the link comes up"
                        ),
                        format!(
                            "ip link show {name}  # NO-CARRIER: connect the cable, or bring the other end up (for a veth: ip link set PEER up)"
                        ),
                    )
                };
                Candidate {
                    subject: format!("{name} {ip}"),
                    severity,
                    title: format!("{cidr} on {name} is stuck tentative: the kernel will not use it"),
                    evidence,
                    cause,
                    fix,
                }
            })
            .collect(),
    )
}

/// `interface_flapping`: an interface went up and down, or lost and regained its
/// carrier, many times within a window (timeline lines of the interfaces source).
pub const INTERFACE_FLAPPING: Rule = Rule {
    id: "interface_flapping",
    family: "interfaces",
    summary: "an interface's link keeps going down and up",
    // The window already spans time: it opens at once, and stays until the changes age out.
    debounce: time::Duration::ZERO,
    hold: time::Duration::seconds(30),
    thresholds: &[
        Threshold {
            name: "changes",
            default: 6.0,
            doc: "up/down and carrier changes within the window that open it",
        },
        Threshold { name: "window", default: 300.0, doc: "how far back changes are counted, in seconds" },
    ],
    evaluate: interface_flapping,
};

/// Whether a timeline sentence is one of `name`'s state changes (not an MTU or MAC change).
fn is_state_change(name: &str, detail: &str) -> bool {
    detail
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(' '))
        .is_some_and(|what| matches!(what, "up" | "down" | "carrier lost" | "carrier gained"))
}

#[expect(clippy::cast_possible_truncation, reason = "a window of seconds")]
fn interface_flapping(store: &Store, config: &RuleConfig) -> Verdict {
    let Some(now) = store.updated_at().filter(|_| store.interface_count() > 0) else {
        return Verdict::NotApplicable;
    };
    let window = time::Duration::seconds(config.threshold("window").max(1.0) as i64);
    // One pass over the timeline, however many interfaces there are.
    let mut by_name: HashMap<&str, Vec<&TimelineEntry>> = HashMap::new();
    for e in store.timeline().iter() {
        if e.kind == TimelineKind::LinkChanged && e.last_at.unwrap_or(e.at) >= now - window {
            by_name.entry(e.subject.as_str()).or_default().push(e);
        }
    }
    let mut found = Vec::new();
    for entry in store.interfaces() {
        let name = entry.info.name.as_str();
        let Some(lines) = by_name.get(name) else { continue };
        // Changes of an earlier interface of the same name (a re-created veth) do not count.
        let changes: Vec<&TimelineEntry> = lines
            .iter()
            .copied()
            .filter(|e| e.last_at.unwrap_or(e.at) >= entry.first_seen && is_state_change(name, &e.detail))
            .collect();
        let count: u32 = changes.iter().map(|e| e.count).sum();
        if f64::from(count) < config.threshold("changes") {
            continue;
        }
        let mut latest = String::new();
        for e in changes.iter().rev().take(4) {
            let what = e.detail.strip_prefix(name).unwrap_or(&e.detail).trim_start();
            let sep = if latest.is_empty() { "" } else { ", " };
            let _ = write!(latest, "{sep}{what} {}", ago(now, e.last_at.unwrap_or(e.at)));
        }
        let (cause, fix) = flap_advice(&entry.info);
        found.push(Candidate {
            subject: name.to_owned(),
            severity: Severity::Warning,
            title: format!("{name} is flapping: {count} link state changes in {} s", window.whole_seconds()),
            evidence: vec![
                Evidence::new(
                    format!("up/down and carrier changes of {name}, last {} s", window.whole_seconds()),
                    count.to_string(),
                ),
                Evidence::new("latest changes", latest),
                Evidence::new(format!("link {name} now"), link_state(&entry.info)),
            ],
            cause,
            fix,
        });
    }
    Verdict::Found(found)
}

/// Why a link of this kind flaps, and what to look at.
fn flap_advice(info: &Interface) -> (String, String) {
    let name = &info.name;
    match info.kind {
        InterfaceKind::Veth => (
            format!(
                "{name}'s carrier follows its peer: something keeps taking the other end down (a container or service restarting)"
            ),
            format!(
                "ip monitor link  # watch who toggles the peer of {name}; `ip -d link show {name}` names its peer"
            ),
        ),
        InterfaceKind::Wifi => (
            format!(
                "{name} keeps losing its association: weak signal, roaming or the access point dropping it"
            ),
            format!("iw dev {name} link; journalctl -k -g {name}  # check signal and disconnect reasons"),
        ),
        _ if info.kind.is_tunnel() => (
            format!("the tunnel {name} keeps going down: its client or peer reconnects"),
            format!("journalctl -g {name}  # see why the tunnel's client reconnects"),
        ),
        _ => (
            format!(
                "{name} keeps losing its carrier: a bad cable or connector, a switch port, autonegotiation or the driver"
            ),
            format!(
                "ethtool {name}; journalctl -k -g {name}  # check speed/duplex and link resets; replace the cable or move the switch port"
            ),
        ),
    }
}

/// `interface_errors`: an interface's error or drop counters (`IFLA_STATS64`) rise
/// over consecutive readings. Cumulative counts that stay still (a veth's old
/// `tx_dropped`) are no finding: only growth is.
pub const INTERFACE_ERRORS: Rule = Rule {
    id: "interface_errors",
    family: "interfaces",
    summary: "an interface's error or drop counters keep rising",
    debounce: time::Duration::seconds(3),
    hold: time::Duration::seconds(30),
    thresholds: &[
        Threshold {
            name: "errors_per_s",
            default: 1.0,
            doc: "rx_errors + tx_errors growth that opens it, per second",
        },
        // rx_dropped also counts frames of protocols nobody handles (LLDP, STP): a
        // few a minute on a healthy link.
        Threshold {
            name: "drops_per_s",
            default: 10.0,
            doc: "rx_dropped + tx_dropped growth that opens it, per second",
        },
    ],
    evaluate: interface_errors,
};

fn interface_errors(store: &Store, config: &RuleConfig) -> Verdict {
    interface_errors_with(store, config, &InterfaceEntry::counter_growth)
}

/// The rule, with the counter growth of each interface from `growth`.
type Growth<'a> = &'a dyn Fn(&InterfaceEntry) -> Option<(time::Duration, InterfaceStats)>;

#[expect(clippy::cast_precision_loss, reason = "rates for thresholds and evidence")]
fn interface_errors_with(store: &Store, config: &RuleConfig, growth: Growth<'_>) -> Verdict {
    let mut applicable = false;
    let mut found = Vec::new();
    for entry in store.interfaces() {
        let Some((interval, grew)) = growth(entry).filter(|(interval, _)| interval.is_positive()) else {
            continue;
        };
        applicable = true;
        let seconds = interval.as_seconds_f64();
        let errors = (grew.rx_errors + grew.tx_errors) as f64 / seconds;
        let drops = (grew.rx_dropped + grew.tx_dropped) as f64 / seconds;
        if errors < config.threshold("errors_per_s") && drops < config.threshold("drops_per_s") {
            continue;
        }
        let info = &entry.info;
        let total = info.stats.unwrap_or_default();
        let counters = [
            ("rx_errors", grew.rx_errors, total.rx_errors),
            ("tx_errors", grew.tx_errors, total.tx_errors),
            ("rx_dropped", grew.rx_dropped, total.rx_dropped),
            ("tx_dropped", grew.tx_dropped, total.tx_dropped),
        ];
        let mut evidence: Vec<Evidence> = counters
            .iter()
            .filter(|(_, delta, _)| *delta > 0)
            .map(|(counter, delta, total)| {
                Evidence::new(
                    format!("{counter} of {}, last {seconds:.1} s", info.name),
                    format!("+{delta} ({:.0}/s; {total} in all)", *delta as f64 / seconds),
                )
            })
            .collect();
        evidence.push(Evidence::new(
            format!("packets rx / tx, last {seconds:.1} s"),
            format!("+{} / +{}", grew.rx_packets, grew.tx_packets),
        ));
        evidence.push(Evidence::new(format!("link {}", info.name), link_state(info)));
        let worst = counters.iter().max_by_key(|(_, delta, _)| *delta).map_or("rx_errors", |c| c.0);
        let (cause, fix) = errors_advice(info, worst);
        found.push(Candidate {
            subject: info.name.clone(),
            severity: Severity::Warning,
            title: format!(
                "{} keeps counting {worst}: +{} errors and drops in {seconds:.1} s",
                info.name,
                counters.iter().map(|c| c.1).sum::<u64>()
            ),
            evidence,
            cause,
            fix,
        });
    }
    if applicable { Verdict::Found(found) } else { Verdict::NotApplicable }
}

/// Why `counter` rises on this link, and what to run.
fn errors_advice(info: &Interface, counter: &str) -> (String, String) {
    let name = &info.name;
    match counter {
        "tx_dropped" if info.is_up() && !info.carrier => (
            format!("something sends through {name}, which has no carrier: the kernel drops every frame"),
            format!(
                "ip link show {name}  # NO-CARRIER: bring the other end up (for a veth: ip link set PEER up), or route the traffic elsewhere"
            ),
        ),
        "tx_dropped" => (
            format!(
                "{name} refuses frames before sending: its queue is full, the peer's receive side drops them, or frames exceed the peer's MTU"
            ),
            format!(
                "ip -s -s link show {name}; tc -s qdisc show dev {name}  # find where the frames are dropped"
            ),
        ),
        "rx_dropped" => (
            format!(
                "{name} drops received frames: the receive ring or backlog is full, or frames of a protocol nobody handles arrive"
            ),
            format!(
                "ethtool -g {name}; ethtool -S {name} | grep -i drop  # a larger ring: ethtool -G {name} rx 4096"
            ),
        ),
        _ => (
            format!(
                "{name} receives or sends corrupted frames: a bad cable or connector, a duplex mismatch, or a failing NIC or driver"
            ),
            format!(
                "ethtool {name}; ethtool -S {name} | grep -i err  # check duplex and autonegotiation, replace the cable"
            ),
        ),
    }
}

/// `softnet_drops`: a CPU's receive backlog overflowed (`softnet_stat` dropped,
/// `netdev_max_backlog`), or its receive softirq keeps running out of budget
/// (`time_squeeze`, `netdev_budget`). Host-wide: the kernel keeps it per CPU.
pub const SOFTNET_DROPS: Rule = Rule {
    id: "softnet_drops",
    family: "interfaces",
    summary: "a CPU's receive backlog drops frames, or its receive softirq keeps running out of budget",
    debounce: time::Duration::seconds(2),
    hold: time::Duration::seconds(30),
    thresholds: &[
        Threshold {
            name: "drops_per_s",
            default: 1.0,
            doc: "one CPU's backlog and flow-limit drops that open it, per second",
        },
        Threshold {
            name: "squeeze_per_s",
            default: 100.0,
            doc: "one CPU's time_squeeze growth that opens it, per second",
        },
    ],
    evaluate: softnet_drops,
};

#[expect(clippy::cast_precision_loss, reason = "rates for thresholds")]
fn softnet_drops(store: &Store, config: &RuleConfig) -> Verdict {
    let kernel = store.kernel();
    let cpus = kernel.softnet_delta();
    let Some(seconds) = kernel.interval().filter(|_| !cpus.is_empty()) else {
        return Verdict::NotApplicable;
    };
    let rate = |n: u64| n as f64 / seconds;
    let drops = |cpu: &SoftnetCpu| cpu.dropped + cpu.flow_limit;
    let mut hot: Vec<&SoftnetCpu> = cpus
        .iter()
        .filter(|c| {
            rate(drops(c)) >= config.threshold("drops_per_s")
                || rate(c.time_squeeze) >= config.threshold("squeeze_per_s")
        })
        .collect();
    hot.sort_by(|a, b| {
        drops(b).cmp(&drops(a)).then(b.time_squeeze.cmp(&a.time_squeeze)).then(a.cpu.cmp(&b.cpu))
    });
    let Some(worst) = hot.first() else {
        return Verdict::Found(Vec::new());
    };
    let dropping = hot.iter().any(|c| drops(c) > 0);
    let mut evidence = Vec::new();
    for cpu in hot.iter().take(4) {
        evidence.push(Evidence::new(
            format!("cpu {} softnet_stat dropped / flow_limit / time_squeeze, last {seconds:.1} s", cpu.cpu),
            format!(
                "+{} / +{} / +{} (of {} processed)",
                cpu.dropped, cpu.flow_limit, cpu.time_squeeze, cpu.processed
            ),
        ));
    }
    if hot.len() > 4 {
        evidence.push(Evidence::new("other CPUs over the threshold", (hot.len() - 4).to_string()));
    }
    let candidate = if dropping {
        Candidate {
            subject: "softnet".to_owned(),
            severity: Severity::Warning,
            title: format!("CPU {} drops received frames: its backlog is full ({} in {seconds:.1} s)", worst.cpu, drops(worst)),
            evidence,
            cause: "frames arrive on a CPU faster than its receive softirq processes them, and the backlog queue (net.core.netdev_max_backlog) overflows".to_owned(),
            fix: "sysctl -w net.core.netdev_max_backlog=4096  # and spread receive work over CPUs (RSS/RPS: /sys/class/net/IF/queues/rx-*/rps_cpus)".to_owned(),
        }
    } else {
        Candidate {
            subject: "softnet".to_owned(),
            severity: Severity::Info,
            title: format!("CPU {}'s receive softirq keeps running out of budget ({} time_squeeze in {seconds:.1} s)", worst.cpu, worst.time_squeeze),
            evidence,
            cause: "the receive softirq stops with work left (net.core.netdev_budget packets or netdev_budget_usecs used up): received frames wait, and drop when the backlog fills".to_owned(),
            fix: "sysctl -w net.core.netdev_budget=600 net.core.netdev_budget_usecs=4000".to_owned(),
        }
    };
    Verdict::Found(vec![candidate])
}

#[cfg(test)]
#[path = "interfaces_tests.rs"]
mod tests;
