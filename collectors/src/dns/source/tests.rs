#![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::net::Ipv4Addr;

use super::*;
use crate::dns::testing::{Answer, ip, responder, zone};
use crate::event::Event;

async fn next(
    rx: &mut mpsc::Receiver<Event>,
    what: &str,
    mut wanted: impl FnMut(&Payload) -> bool,
) -> Payload {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 10 s"))
            .unwrap();
        if wanted(&event.payload) {
            return event.payload;
        }
    }
}

#[test]
fn nat64_prefixes_at_every_rfc6052_length() {
    let cases = [
        ("64:ff9b::c000:aa", Some("64:ff9b::/96")),
        ("2001:db8:122:344:c0:0:aa00:0", Some("2001:db8:122:344::/64")),
        ("2001:db8:122:3c0:0:aa::", Some("2001:db8:122:300::/56")),
        ("2001:db8:122:c000:0:aa00::", Some("2001:db8:122::/48")),
        ("2001:db8:1c0:0:aa:0:0:0", Some("2001:db8:100::/40")),
        ("2001:db8:c000:aa::", Some("2001:db8::/32")),
        ("2001:db8::1", None),
    ];
    for (address, prefix) in cases {
        assert_eq!(nat64_prefix(address.parse().unwrap()).as_deref(), prefix, "{address}");
    }
}

/// The source reads the files, traces on request, detects NAT64 through the
/// configured server, and notices a replaced resolv.conf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_traces_and_follows_the_files() {
    let server = responder(
        Ipv4Addr::LOCALHOST,
        0,
        zone(&[
            ("db.test", Answer::Addresses(vec![ip("10.0.0.5")])),
            ("ipv4only.arpa", Answer::Addresses(vec![ip("192.0.0.170"), ip("64:ff9b::c000:aa")])),
        ]),
    );
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(root.path().join("etc/resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1\n").unwrap();
    let config = DnsConfig {
        files: ResolverFiles::under(root.path()),
        system_answer: false,
        port: server.address.port(),
        poll_interval: Duration::from_secs(30),
        ..DnsConfig::default()
    };
    let (handle, source) = dns(config);
    let (tx, mut rx) = mpsc::channel(64);
    let task = crate::source::spawn_supervised(source, tx);

    let Payload::DnsConfig(report) =
        next(&mut rx, "configuration", |p| matches!(p, Payload::DnsConfig(_))).await
    else {
        unreachable!()
    };
    assert_eq!(report.config.nameservers, [ip("127.0.0.1")]);
    assert_eq!(report.config.timeout_s, 1);

    // NAT64 detection waits for the first trace: no DNS traffic nobody asked for.
    assert!(handle.send(DnsControl::Trace("db.test".into())));
    let (mut nat64, mut trace) = (None, None);
    while nat64.is_none() || trace.is_none() {
        match next(&mut rx, "the trace and NAT64 detection", |p| {
            matches!(p, Payload::Dns64(_) | Payload::DnsTrace(_))
        })
        .await
        {
            Payload::Dns64(report) => nat64 = Some(report),
            Payload::DnsTrace(done) if done.origin == TraceOrigin::User => trace = Some(done),
            _ => {}
        }
    }
    let (nat64, trace) = (nat64.unwrap(), trace.unwrap());
    assert_eq!(nat64.prefix.as_deref(), Some("64:ff9b::/96"));
    assert_eq!(trace.name, "db.test");
    assert_eq!(trace.result, [ip("10.0.0.5")]);
    assert!(trace.system.is_none(), "no getaddrinfo in tests");

    // Replaced by rename, the way editors and network managers write it.
    let etc = root.path().join("etc");
    std::fs::write(etc.join("resolv.tmp"), "nameserver 127.0.0.1\nsearch corp.test\n").unwrap();
    std::fs::rename(etc.join("resolv.tmp"), etc.join("resolv.conf")).unwrap();
    let Payload::DnsConfig(report) =
        next(&mut rx, "the re-read configuration", |p| matches!(p, Payload::DnsConfig(_))).await
    else {
        unreachable!()
    };
    assert_eq!(report.config.search, ["corp.test"]);
    task.abort();
}

/// Target names are traced on the probe schedule without being asked, and can be
/// added and removed while the source runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_names_are_traced_on_their_schedule() {
    let server =
        responder(Ipv4Addr::LOCALHOST, 0, zone(&[("db.test", Answer::Addresses(vec![ip("10.0.0.5")]))]));
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(root.path().join("etc/resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1\n").unwrap();
    let config = DnsConfig {
        files: ResolverFiles::under(root.path()),
        targets: vec!["db.test".into()],
        target_interval: Duration::from_secs(1),
        detect_dns64: false,
        system_answer: false,
        port: server.address.port(),
        ..DnsConfig::default()
    };
    let (handle, source) = dns(config);
    let (tx, mut rx) = mpsc::channel(64);
    let task = crate::source::spawn_supervised(source, tx);
    let is_target = |name: &'static str| move |p: &Payload| matches!(p, Payload::DnsTrace(t) if t.origin == TraceOrigin::Target && t.name == name);
    // Twice: at start and one interval later.
    for _ in 0..2 {
        let Payload::DnsTrace(trace) = next(&mut rx, "a target trace", is_target("db.test")).await else {
            unreachable!()
        };
        assert_eq!(trace.result, [ip("10.0.0.5")]);
    }
    assert!(handle.send(DnsControl::AddTarget("other.test".into())));
    let Payload::DnsTrace(trace) = next(&mut rx, "the added target", is_target("other.test")).await else {
        unreachable!()
    };
    assert!(trace.error.as_deref().is_some_and(|e| e.contains("NXDOMAIN")), "{:?}", trace.error);
    task.abort();
}
