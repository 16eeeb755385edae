#![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::net::{Ipv4Addr, UdpSocket};

use super::*;
use crate::dns::testing::{Answer, ip, responder, zone};
use crate::model::DnsTransport;

fn tracer(servers: &[IpAddr], port: u16, search: &[&str], timeout_s: u32) -> Tracer {
    Tracer {
        config: ResolverConfig {
            nameservers: servers.to_vec(),
            search: search.iter().map(|s| (*s).to_owned()).collect(),
            timeout_s,
            attempts: 1,
            ..ResolverConfig::default()
        },
        port,
    }
}

fn summary(trace: &DnsTrace) -> Vec<String> {
    trace
        .steps
        .iter()
        .map(|step| {
            format!(
                "{} {} {} {}{}",
                step.candidate,
                step.qtype,
                step.transport.as_str(),
                step.rcode.as_deref().unwrap_or("timeout"),
                if step.nodata { " nodata" } else { "" }
            )
        })
        .collect()
}

#[test]
fn glibc_server_timeouts() {
    // One server: the configured timeout every time.
    assert_eq!(server_timeout(0, 5, 1), Duration::from_secs(5));
    // Two: the second gets (5 << 1) / 2.
    assert_eq!(server_timeout(1, 5, 2), Duration::from_secs(5));
    // Three: 5, 10/3 = 3, 20/3 = 6.
    assert_eq!(server_timeout(1, 5, 3), Duration::from_secs(3));
    assert_eq!(server_timeout(2, 5, 3), Duration::from_secs(6));
    // Never below one second.
    assert_eq!(server_timeout(1, 1, 3), Duration::from_secs(1));
}

#[test]
fn search_rules() {
    assert!(next_candidate(&CandidateOutcome::NxDomain));
    assert!(next_candidate(&CandidateOutcome::NoData));
    assert!(next_candidate(&CandidateOutcome::ServFail));
    assert!(!next_candidate(&CandidateOutcome::Answered(vec![ip("10.0.0.1")])));
    assert!(!next_candidate(&CandidateOutcome::NoAnswer("timeout".into())));
    assert!(!next_candidate(&CandidateOutcome::NoRecovery("REFUSED".into())));
}

#[test]
fn cname_chains_follow_the_answers() {
    let answer = |name: &str, rtype: &str, data: &str| DnsAnswer {
        name: name.into(),
        rtype: rtype.into(),
        data: data.into(),
        ttl: 60,
    };
    let answers = [
        answer("www.test", "CNAME", "edge.test"),
        answer("edge.test", "CNAME", "host.cdn.test"),
        answer("host.cdn.test", "A", "10.0.0.1"),
    ];
    assert_eq!(cname_chain("www.test", &answers), ["www.test", "edge.test", "host.cdn.test"]);
    assert!(cname_chain("other.test", &answers).is_empty());
    // A loop ends.
    let looped = [answer("a.test", "CNAME", "b.test"), answer("b.test", "CNAME", "a.test")];
    assert_eq!(cname_chain("a.test", &looped), ["a.test", "b.test"]);
}

#[tokio::test]
async fn the_search_list_is_walked_in_order() {
    let server = responder(
        Ipv4Addr::LOCALHOST,
        0,
        zone(&[
            ("db.lab.test", Answer::Addresses(vec![ip("10.0.0.5")])),
            ("www.lab.test", Answer::Alias("web.lab.test", vec![ip("10.0.0.6")])),
        ]),
    );
    let tracer = tracer(&[ip("127.0.0.1")], server.address.port(), &["corp.test", "lab.test"], 2);
    let trace = tracer.trace("db", TraceOrigin::User).await.unwrap();
    assert_eq!(
        summary(&trace),
        [
            "db.corp.test A udp NXDOMAIN",
            "db.corp.test AAAA udp NXDOMAIN",
            "db.lab.test A udp NOERROR",
            "db.lab.test AAAA udp NOERROR nodata"
        ]
    );
    assert_eq!(trace.answered_by.as_deref(), Some("db.lab.test"));
    assert_eq!(trace.result, [ip("10.0.0.5")]);
    assert_eq!(trace.steps[2].answers[0].ttl, 300);
    assert!(trace.error.is_none());

    let trace = tracer.trace("www", TraceOrigin::User).await.unwrap();
    let step = trace.steps.iter().find(|step| step.qtype == "A" && step.candidate == "www.lab.test").unwrap();
    assert_eq!(step.cname_chain, ["www.lab.test", "web.lab.test"]);
    assert_eq!(trace.result, [ip("10.0.0.6")]);

    let trace = tracer.trace("nothing.here.", TraceOrigin::User).await.unwrap();
    assert_eq!(trace.candidates, ["nothing.here"]);
    assert!(trace.error.as_deref().unwrap_or_default().starts_with("NXDOMAIN"), "{:?}", trace.error);
}

#[tokio::test]
async fn failures_move_to_the_next_server_and_truncation_to_tcp() {
    let good = responder(
        Ipv4Addr::LOCALHOST,
        0,
        zone(&[
            ("big.test", Answer::Truncated(vec![ip("10.0.0.7")])),
            ("sf.test", Answer::Code(ResponseCode::ServFail)),
        ]),
    );
    let port = good.address.port();
    let refusing =
        responder(Ipv4Addr::new(127, 0, 0, 2), port, zone(&[("x", Answer::Code(ResponseCode::Refused))]));
    // REFUSED from the first server (its zone refuses `x` only; everything else is NXDOMAIN there).
    let tracer = tracer(&[ip("127.0.0.2"), ip("127.0.0.1")], port, &[], 2);
    let trace = tracer.trace("x.", TraceOrigin::User).await.unwrap();
    assert_eq!(summary(&trace)[..2], ["x A udp REFUSED", "x AAAA udp REFUSED"]);
    assert_eq!(trace.steps[2].server, good.address);
    drop(refusing);

    let tracer_one = self::tracer(&[ip("127.0.0.1")], port, &[], 2);
    let trace = tracer_one.trace("big.test", TraceOrigin::User).await.unwrap();
    let a_steps: Vec<&TraceStep> = trace.steps.iter().filter(|step| step.qtype == "A").collect();
    assert_eq!(a_steps.len(), 2, "{:?}", summary(&trace));
    assert!(a_steps[0].truncated && a_steps[0].transport == DnsTransport::Udp);
    assert_eq!(a_steps[1].transport, DnsTransport::Tcp);
    assert_eq!(trace.result, [ip("10.0.0.7")]);

    let trace = tracer_one.trace("sf.test", TraceOrigin::User).await.unwrap();
    assert!(trace.error.as_deref().unwrap_or_default().starts_with("SERVFAIL"), "{:?}", trace.error);
}

#[tokio::test]
async fn a_silent_server_times_out_at_its_timeout() {
    let good =
        responder(Ipv4Addr::LOCALHOST, 0, zone(&[("db.test", Answer::Addresses(vec![ip("10.0.0.5")]))]));
    let port = good.address.port();
    // Bound but never answering: a blackholed server.
    let _silent = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 3), port)).unwrap();
    let tracer = tracer(&[ip("127.0.0.3"), ip("127.0.0.1")], port, &[], 1);
    let trace = tracer.trace("db.test", TraceOrigin::User).await.unwrap();
    let first = &trace.steps[0];
    assert_eq!(first.rcode, None);
    assert!(first.error.as_deref().unwrap_or_default().contains("timeout after 1000 ms"), "{first:?}");
    assert!((1_000.0..1_200.0).contains(&first.latency_ms), "{}", first.latency_ms);
    assert_eq!(trace.result, [ip("10.0.0.5")]);
    assert!(trace.total_ms >= first.latency_ms, "{} < {}", trace.total_ms, first.latency_ms);
}

#[tokio::test]
async fn a_closed_port_is_refused_at_once() {
    let good =
        responder(Ipv4Addr::LOCALHOST, 0, zone(&[("db.test", Answer::Addresses(vec![ip("10.0.0.5")]))]));
    // Nothing listens on 127.0.0.4 at this port.
    let tracer = tracer(&[ip("127.0.0.4"), ip("127.0.0.1")], good.address.port(), &[], 3);
    let trace = tracer.trace("db.test", TraceOrigin::User).await.unwrap();
    assert!(trace.steps[0].error.as_deref().unwrap_or_default().contains("refused"), "{:?}", trace.steps[0]);
    assert!(trace.steps[0].latency_ms < 500.0);
    assert_eq!(trace.result, [ip("10.0.0.5")]);
}

#[tokio::test]
async fn invalid_names_are_refused_before_any_query() {
    let tracer = tracer(&[ip("127.0.0.1")], 9, &[], 1);
    assert!(tracer.trace("bad name!", TraceOrigin::User).await.is_err());
    assert!(tracer.trace("", TraceOrigin::User).await.is_err());
}

#[tokio::test]
async fn an_answer_for_one_type_stands_when_the_other_fails() {
    let server =
        responder(Ipv4Addr::LOCALHOST, 0, zone(&[("host.test", Answer::AaaaFails(vec![ip("10.9.9.9")]))]));
    let tracer = tracer(&[ip("127.0.0.1")], server.address.port(), &["corp.test"], 1);
    let trace = tracer.trace("host.test", TraceOrigin::User).await.unwrap();
    assert_eq!(trace.result, [ip("10.9.9.9")]);
    assert_eq!(trace.answered_by.as_deref(), Some("host.test"));
    assert_eq!(summary(&trace), ["host.test A udp NOERROR", "host.test AAAA udp SERVFAIL"]);
}

/// `res_search`'s order after failures: a dotted name asked first still walks the
/// search list when it fails, and a search that stops on a timeout still asks the
/// name as written at the end.
#[tokio::test]
async fn failures_follow_res_search() {
    let good = responder(
        Ipv4Addr::LOCALHOST,
        0,
        zone(&[("db.eu.corp.test", Answer::Addresses(vec![ip("10.0.0.9")]))]),
    );
    let tracer_one = tracer(&[ip("127.0.0.1")], good.address.port(), &["corp.test"], 1);
    let trace = tracer_one.trace("db.eu", TraceOrigin::User).await.unwrap();
    assert_eq!(trace.candidates, ["db.eu", "db.eu.corp.test"]);
    assert_eq!(trace.result, [ip("10.0.0.9")]);
    assert_eq!(trace.answered_by.as_deref(), Some("db.eu.corp.test"));

    // Every server refusing the port ends the search at once.
    let refused = tracer(&[ip("127.0.0.5")], good.address.port(), &["corp.test", "lab.test"], 1);
    let trace = refused.trace("db", TraceOrigin::User).await.unwrap();
    assert!(trace.steps.iter().all(|step| step.candidate == "db.corp.test"), "{:?}", summary(&trace));
    assert!(trace.error.as_deref().unwrap_or_default().contains("refused"), "{:?}", trace.error);
}

#[tokio::test]
async fn a_timeout_ends_the_search_list_but_not_the_name_as_written() {
    let port = {
        let probe = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 6), 0)).unwrap();
        probe.local_addr().unwrap().port()
    };
    // Silent: every query times out.
    let _silent = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 6), port)).unwrap();
    let tracer = tracer(&[ip("127.0.0.6")], port, &["corp.test", "lab.test"], 1);
    let trace = tracer.trace("db", TraceOrigin::User).await.unwrap();
    let asked: Vec<&str> =
        trace.steps.iter().filter(|s| s.qtype == "A").map(|s| s.candidate.as_str()).collect();
    assert_eq!(asked, ["db.corp.test", "db"], "lab.test is skipped after the timeout, the bare name is not");
    assert!(trace.error.as_deref().unwrap_or_default().contains("timeout"), "{:?}", trace.error);
}
