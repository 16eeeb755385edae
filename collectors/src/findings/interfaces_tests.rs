use super::*;
use crate::event::{Notice, Payload};
use crate::findings::testing::drive;
use crate::findings::testing::{at, fold, subjects};
use crate::findings::{Findings, RuleOverride};
use crate::model::{
    AddressFamily, AddressScope, KernelCounters, LinkFlags, NetworkTable, OperState, SourceId,
};

/// An address written `ip/len` with `flags`.
fn address(text: &str, flags: AddressFlags) -> InterfaceAddress {
    let (ip, len) = text.split_once('/').unwrap_or_else(|| panic!("{text}: no prefix length"));
    let address: std::net::IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
    InterfaceAddress {
        address,
        prefix_len: len.parse().unwrap_or_else(|e| panic!("{len}: {e}")),
        family: AddressFamily::of(&address),
        scope: AddressScope::Global,
        flags,
        valid_lifetime_s: None,
        preferred_lifetime_s: None,
        label: None,
    }
}

/// Interface `index` named `name`, a veth, up or down, with or without carrier.
fn link(index: u32, name: &str, up: bool, carrier: bool, addresses: Vec<InterfaceAddress>) -> Interface {
    let mut flags = LinkFlags::default();
    if up {
        flags = flags.with(LinkFlags::UP);
    }
    if carrier {
        flags = flags.with(LinkFlags::LOWER_UP);
    }
    Interface {
        index,
        name: name.to_owned(),
        kind: InterfaceKind::Veth,
        oper_state: if up && carrier { OperState::Up } else { OperState::Down },
        carrier,
        mtu: 1500,
        flags,
        addresses,
        ..Interface::default()
    }
}

/// Fold a complete read of `interfaces` at `second`.
fn network(store: &mut Store, second: i64, interfaces: Vec<Interface>) {
    fold(
        store,
        second,
        SourceId::Interfaces,
        Payload::Network(NetworkTable { interfaces, ..NetworkTable::default() }),
    );
}

/// Fold `veth0`'s link-changed sentences at `second`.
fn changed(store: &mut Store, second: i64, details: &[&str]) {
    let notices = details.iter().map(|d| Notice::new(TimelineKind::LinkChanged, "veth0", *d)).collect();
    fold(store, second, SourceId::Interfaces, Payload::Notices(notices));
}

fn found(verdict: Verdict) -> Vec<Candidate> {
    match verdict {
        Verdict::Found(found) => found,
        Verdict::NotApplicable => panic!("not applicable"),
    }
}

const TENTATIVE: AddressFlags = AddressFlags::TENTATIVE;
const FAILED: AddressFlags = AddressFlags(AddressFlags::TENTATIVE.0 | AddressFlags::DADFAILED.0);
const SETTLED: AddressFlags = AddressFlags::PERMANENT;

#[test]
fn address_dad_failed_opens_at_once_and_closes_after_the_hold() {
    let failed = |store: &mut Store, s: i64| {
        let addresses = vec![address("10.0.0.1/24", SETTLED), address("2001:db8::1/64", FAILED)];
        network(store, s, vec![link(1, "lo", true, true, vec![]), link(3, "veth0", true, true, addresses)]);
    };
    let removed = |store: &mut Store, s: i64| network(store, s, vec![link(3, "veth0", true, true, vec![])]);
    let open = drive(
        "address_dad_failed",
        &[(0, &failed), (1, &failed), (2, &removed), (11, &removed), (12, &removed)],
    );
    let subject = vec!["veth0 2001:db8::1".to_owned()];
    assert_eq!(open, [subject.clone(), subject.clone(), subject.clone(), subject, vec![]]);
    let mut store = Store::default();
    let config = RuleConfig::defaults(&ADDRESS_DAD_FAILED);
    assert_eq!(subjects(&(ADDRESS_DAD_FAILED.evaluate)(&store, &config)), None, "no read: not applicable");
    failed(&mut store, 0);
    let candidate = &found((ADDRESS_DAD_FAILED.evaluate)(&store, &config))[0];
    assert_eq!(candidate.severity, Severity::Critical);
    assert!(candidate.evidence.iter().any(|e| e.value == "dadfailed tentative"), "{:?}", candidate.evidence);
    assert!(candidate.fix.starts_with("ip address del 2001:db8::1/64 dev veth0"), "{}", candidate.fix);
    // A failed address on a link taken down is not reported.
    network(&mut store, 1, vec![link(3, "veth0", false, false, vec![address("2001:db8::1/64", FAILED)])]);
    assert_eq!(subjects(&(ADDRESS_DAD_FAILED.evaluate)(&store, &config)), Some(vec![]));
}

#[test]
fn address_tentative_stuck_waits_out_the_debounce() {
    let stuck = |store: &mut Store, s: i64| {
        network(store, s, vec![link(3, "veth0", true, false, vec![address("2001:db8::1/64", TENTATIVE)])]);
    };
    let settled = |store: &mut Store, s: i64| {
        network(store, s, vec![link(3, "veth0", true, true, vec![address("2001:db8::1/64", SETTLED)])]);
    };
    let subject = vec!["veth0 2001:db8::1".to_owned()];
    let open = drive(
        "address_tentative_stuck",
        &[(0, &stuck), (5, &stuck), (10, &stuck), (11, &settled), (20, &settled), (21, &settled)],
    );
    assert_eq!(open, [vec![], vec![], subject.clone(), subject.clone(), subject, vec![]]);
    // Normal detection: tentative for two seconds after the link comes up.
    let normal = drive("address_tentative_stuck", &[(0, &stuck), (2, &settled), (12, &settled)]);
    assert_eq!(normal, [Vec::<String>::new(), vec![], vec![]]);
}

#[test]
fn address_tentative_stuck_says_why() {
    let config = RuleConfig::defaults(&ADDRESS_TENTATIVE_STUCK);
    let mut store = Store::default();
    assert_eq!(subjects(&(ADDRESS_TENTATIVE_STUCK.evaluate)(&store, &config)), None);
    let addresses = |flags| vec![address("2001:db8::1/64", flags)];
    network(&mut store, 0, vec![link(3, "veth0", true, false, addresses(TENTATIVE))]);
    let fold_added =
        Notice::new(TimelineKind::AddressAdded, "veth0", "2001:db8::1/64 added to veth0 (tentative)");
    fold(&mut store, 0, SourceId::Interfaces, Payload::Notices(vec![fold_added]));
    network(&mut store, 12, vec![link(3, "veth0", true, false, addresses(TENTATIVE))]);
    let candidate = &found((ADDRESS_TENTATIVE_STUCK.evaluate)(&store, &config))[0];
    assert_eq!(candidate.severity, Severity::Info, "no carrier: the link is the problem");
    assert!(candidate.cause.contains("no carrier"), "{}", candidate.cause);
    assert!(
        candidate.evidence.iter().any(|e| e.fact == "added" && e.value == "12 s ago"),
        "{:?}",
        candidate.evidence
    );
    network(&mut store, 13, vec![link(3, "veth0", true, true, addresses(TENTATIVE))]);
    assert_eq!(found((ADDRESS_TENTATIVE_STUCK.evaluate)(&store, &config))[0].severity, Severity::Warning);
    // Failed, optimistic, or on a link that is down: not this rule's.
    for (up, flags) in [(true, FAILED), (true, TENTATIVE.with(AddressFlags::OPTIMISTIC)), (false, TENTATIVE)]
    {
        network(&mut store, 14, vec![link(3, "veth0", up, false, addresses(flags))]);
        assert_eq!(subjects(&(ADDRESS_TENTATIVE_STUCK.evaluate)(&store, &config)), Some(vec![]), "{flags:?}");
    }
}

#[test]
fn interface_flapping_counts_changes_in_the_window() {
    let veth = |store: &mut Store, s: i64| network(store, s, vec![link(3, "veth0", true, true, vec![])]);
    let flap = |store: &mut Store, s: i64| {
        veth(store, s);
        changed(store, s, &[if s % 2 == 0 { "veth0 carrier lost" } else { "veth0 carrier gained" }]);
    };
    let subject = vec!["veth0".to_owned()];
    let open = drive(
        "interface_flapping",
        &[
            (0, &flap),
            (1, &flap),
            (2, &flap),
            (3, &flap),
            (4, &flap),
            (5, &flap),
            (300, &veth),
            (301, &veth),
            (330, &veth),
            (331, &veth),
        ],
    );
    let none = Vec::<String>::new();
    assert_eq!(
        open,
        [
            none.clone(),
            none.clone(),
            none.clone(),
            none.clone(),
            none.clone(),
            subject.clone(),
            subject.clone(),
            subject.clone(),
            subject,
            none
        ],
        "six changes open it; it holds 30 s after the first change ages out of the 300 s window"
    );
}

#[test]
fn interface_flapping_ignores_other_changes_and_earlier_links() {
    let config = RuleConfig::defaults(&INTERFACE_FLAPPING);
    let mut store = Store::default();
    assert_eq!(subjects(&(INTERFACE_FLAPPING.evaluate)(&store, &config)), None);
    // Changes of a veth0 that existed before this one (re-created at 10 s) do not count.
    changed(&mut store, 0, &["veth0 down", "veth0 up", "veth0 down", "veth0 up", "veth0 down", "veth0 up"]);
    network(&mut store, 10, vec![link(3, "veth0", true, true, vec![])]);
    changed(
        &mut store,
        11,
        &[
            "veth0 mtu 1500 → 9000",
            "veth0 mtu 9000 → 1500",
            "veth0 mac 02:00:00:00:00:01 → 02:00:00:00:00:02",
        ],
    );
    assert_eq!(subjects(&(INTERFACE_FLAPPING.evaluate)(&store, &config)), Some(vec![]));
    // Repeats folded into one timeline line count each.
    for _ in 0..3 {
        changed(&mut store, 12, &["veth0 carrier lost"]);
        changed(&mut store, 12, &["veth0 carrier gained"]);
    }
    let candidate = &found((INTERFACE_FLAPPING.evaluate)(&store, &config))[0];
    assert_eq!(candidate.subject, "veth0");
    assert!(candidate.evidence.iter().any(|e| e.value == "6"), "{:?}", candidate.evidence);
    assert!(
        candidate.evidence.iter().any(|e| e.value.starts_with("carrier gained 0 s ago")),
        "{:?}",
        candidate.evidence
    );
    let fewer = RuleOverride { thresholds: [("changes".to_owned(), 7.0)].into(), ..RuleOverride::default() };
    let config = RuleConfig::new(&INTERFACE_FLAPPING, Some(&fewer));
    assert_eq!(subjects(&(INTERFACE_FLAPPING.evaluate)(&store, &config)), Some(vec![]));
}

/// Counter growth over one second: `tx_dropped` and `rx_errors` by `(dropped, errors)`.
fn grew(tx_dropped: u64, rx_errors: u64) -> (time::Duration, InterfaceStats) {
    (time::Duration::SECOND, InterfaceStats { rx_errors, tx_dropped, ..InterfaceStats::default() })
}

/// A store with veth0 (its peer down) that dropped 5000 frames so far.
fn dropping_veth() -> Store {
    let mut store = Store::default();
    let mut veth = link(3, "veth0", true, false, vec![]);
    veth.stats = Some(InterfaceStats { tx_dropped: 5000, ..InterfaceStats::default() });
    network(&mut store, 0, vec![veth]);
    store
}

/// Which subjects are open after each step's growth, through the engine.
fn drive_errors(steps: &[(i64, Option<(time::Duration, InterfaceStats)>)]) -> Vec<Vec<String>> {
    let store = dropping_veth();
    let config = RuleConfig::defaults(&INTERFACE_ERRORS);
    let mut findings = Findings::default();
    steps
        .iter()
        .map(|(second, growth)| {
            let verdict = interface_errors_with(&store, &config, &|_| *growth);
            findings.update(&INTERFACE_ERRORS, &config, verdict, at(*second));
            findings.open().iter().map(|f| f.subject.clone()).collect()
        })
        .collect()
}

#[test]
fn interface_errors_opens_on_sustained_growth_only() {
    let (dropping, still) = (Some(grew(1000, 0)), Some(grew(0, 0)));
    let open = drive_errors(&[
        (0, dropping),
        (1, dropping),
        (2, dropping),
        (3, dropping),
        (4, still),
        (33, still),
        (34, still),
    ]);
    let veth = vec!["veth0".to_owned()];
    let none = Vec::<String>::new();
    assert_eq!(
        open,
        [none.clone(), none.clone(), none.clone(), veth.clone(), veth.clone(), veth, none.clone()]
    );
    // One second of drops is a blip, not a finding.
    assert_eq!(
        drive_errors(&[(0, dropping), (1, still), (2, dropping), (3, still), (4, still)]),
        vec![none; 5]
    );
    let store = dropping_veth();
    let config = RuleConfig::defaults(&INTERFACE_ERRORS);
    let candidate = &found(interface_errors_with(&store, &config, &|_| Some(grew(1000, 0))))[0];
    assert!(candidate.cause.contains("no carrier"), "{}", candidate.cause);
    assert!(
        candidate
            .evidence
            .iter()
            .any(|e| e.fact == "tx_dropped of veth0, last 1.0 s" && e.value == "+1000 (1000/s; 5000 in all)"),
        "{:?}",
        candidate.evidence
    );
    // Errors open it at a much lower rate than drops.
    assert_eq!(
        subjects(&interface_errors_with(&store, &config, &|_| Some(grew(0, 2)))),
        Some(vec!["veth0".to_owned()])
    );
    assert_eq!(
        subjects(&interface_errors_with(&store, &config, &|_| Some(grew(5, 0)))),
        Some(vec![]),
        "a few drops"
    );
    assert_eq!(subjects(&interface_errors_with(&store, &config, &|_| None)), None, "no growth yet");
    assert_eq!(
        subjects(&(INTERFACE_ERRORS.evaluate)(&store, &config)),
        None,
        "the store keeps no growth yet"
    );
}

/// A kernel reading at `second` with one softnet row per `(cpu, dropped, time_squeeze)`.
fn softnet(store: &mut Store, second: i64, cpus: &[(u32, u64, u64)]) {
    let softnet = cpus
        .iter()
        .map(|&(cpu, dropped, time_squeeze)| SoftnetCpu {
            cpu,
            processed: 1000 * second.unsigned_abs(),
            dropped,
            time_squeeze,
            flow_limit: 0,
        })
        .collect();
    fold(
        store,
        second,
        SourceId::Kernel,
        Payload::Kernel(Box::new(KernelCounters { netns: 1, softnet, ..KernelCounters::default() })),
    );
}

#[test]
fn softnet_drops_names_the_cpu_and_holds() {
    let s = |second: i64| second.unsigned_abs();
    let dropping = |store: &mut Store, t: i64| softnet(store, t, &[(0, 0, 3), (1, 50 * s(t), 7 * s(t))]);
    let still = |store: &mut Store, t: i64| softnet(store, t, &[(0, 0, 3), (1, 150, 21)]);
    let open = drive(
        "softnet_drops",
        &[
            (0, &dropping),
            (1, &dropping),
            (2, &dropping),
            (3, &dropping),
            (4, &still),
            (33, &still),
            (34, &still),
        ],
    );
    let subject = vec!["softnet".to_owned()];
    let none = Vec::<String>::new();
    assert_eq!(
        open,
        [none.clone(), none.clone(), none.clone(), subject.clone(), subject.clone(), subject, none]
    );
    let mut store = Store::default();
    let config = RuleConfig::defaults(&SOFTNET_DROPS);
    dropping(&mut store, 0);
    assert_eq!(subjects(&(SOFTNET_DROPS.evaluate)(&store, &config)), None, "one reading: not applicable");
    dropping(&mut store, 1);
    let candidate = &found((SOFTNET_DROPS.evaluate)(&store, &config))[0];
    assert_eq!(candidate.severity, Severity::Warning);
    assert!(candidate.title.starts_with("CPU 1 drops"), "{}", candidate.title);
    assert!(candidate.evidence[0].value.starts_with("+50 / +0 / +7"), "{:?}", candidate.evidence);
    assert!(candidate.fix.contains("netdev_max_backlog"), "{}", candidate.fix);
    // Squeezed but not dropping: worth knowing once it is frequent.
    softnet(&mut store, 2, &[(0, 0, 3), (1, 50, 106)]);
    assert_eq!(
        subjects(&(SOFTNET_DROPS.evaluate)(&store, &config)),
        Some(vec![]),
        "99 squeezes a second are under the bar"
    );
    softnet(&mut store, 3, &[(0, 0, 3), (1, 50, 306)]);
    let candidate = &found((SOFTNET_DROPS.evaluate)(&store, &config))[0];
    assert_eq!((candidate.severity, candidate.fix.contains("netdev_budget")), (Severity::Info, true));
    // A CPU whose counters went back is left out.
    softnet(&mut store, 4, &[(1, 0, 0)]);
    assert_eq!(subjects(&(SOFTNET_DROPS.evaluate)(&store, &config)), None);
}

/// Through the store: `tx_dropped` readings a second apart, rising then still.
#[test]
fn interface_errors_follows_the_store_counters() {
    let veth = |store: &mut Store, s: i64| network(store, s, vec![link(3, "veth0", true, false, vec![])]);
    let counters = |store: &mut Store, s: i64, tx_dropped: u64| {
        let stats = InterfaceStats { tx_dropped, ..InterfaceStats::default() };
        fold(store, s, SourceId::Interfaces, Payload::Counters(vec![(3, stats)]));
    };
    let rising = |store: &mut Store, s: i64| {
        veth(store, s);
        counters(store, s, 5000 + 1000 * s.unsigned_abs());
    };
    let still = |store: &mut Store, s: i64| {
        veth(store, s);
        counters(store, s, 9000);
    };
    let open = drive(
        "interface_errors",
        &[
            (0, &rising),
            (1, &rising),
            (2, &rising),
            (3, &rising),
            (4, &rising),
            (5, &still),
            (34, &still),
            (35, &still),
        ],
    );
    let subject = vec!["veth0".to_owned()];
    let none = Vec::<String>::new();
    assert_eq!(
        open,
        [
            none.clone(),
            none.clone(),
            none.clone(),
            none.clone(),
            subject.clone(),
            subject.clone(),
            subject,
            none
        ]
    );
}
