//! Real probes on loopback only: listeners and DNS responders the tests run
//! themselves, and the kernel's own echo replies on 127.0.0.1 and `::1`.

#![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::*;

const TIMEOUT: Duration = Duration::from_secs(2);

fn spec(address: SocketAddr) -> ProbeSpec {
    ProbeSpec::new(address, TIMEOUT)
}

/// A loopback port nothing listens on: bound, then released.
fn closed_port(ip: &str) -> SocketAddr {
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    listener.local_addr().unwrap()
}

#[test]
fn error_texts() {
    assert_eq!(ProbeError::Refused.to_string(), "connection refused");
    assert_eq!(ProbeError::TimedOut(Duration::from_secs(2)).to_string(), "no answer within 2 s");
    assert_eq!(ProbeError::TimedOut(Duration::from_millis(1500)).to_string(), "no answer within 1.5 s");
    assert_eq!(ProbeError::TimedOut(Duration::from_millis(250)).to_string(), "no answer within 250 ms");
    assert_eq!(ProbeError::NoSuchInterface("wg9".to_owned()).to_string(), "no interface named wg9");
}

#[tokio::test]
async fn tcp_connect_measures_the_handshake() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rtt = tcp_connect(&spec(listener.local_addr().unwrap())).await.unwrap();
    assert!(rtt < TIMEOUT, "{rtt:?}");
    // The probe closed its end at once: the server reads end-of-file.
    let (mut accepted, _) = listener.accept().await.unwrap();
    let mut buffer = [0_u8; 1];
    assert_eq!(tokio::io::AsyncReadExt::read(&mut accepted, &mut buffer).await.unwrap(), 0);
}

#[tokio::test]
async fn tcp_connect_on_ipv6_loopback_bound_to_lo_with_a_mark() {
    let listener = tokio::net::TcpListener::bind("[::1]:0").await.unwrap();
    let bound = ProbeSpec { interface: Some("lo".to_owned()), ..spec(listener.local_addr().unwrap()) };
    assert!(tcp_connect(&bound).await.is_ok());
    let marked = ProbeSpec { mark: Some(0x2a), ..bound };
    match tcp_connect(&marked).await {
        Ok(_) => {}
        // A mark needs CAP_NET_ADMIN: without it the probe must say so, not go unmarked.
        Err(ProbeError::NotPermitted(why)) => {
            assert!(why.contains("mark=42") && why.contains("CAP_NET_ADMIN"), "{why}");
        }
        Err(error) => panic!("{error}"),
    }
}

#[tokio::test]
async fn tcp_connect_to_a_closed_port_is_refused() {
    assert_eq!(tcp_connect(&spec(closed_port("127.0.0.1"))).await, Err(ProbeError::Refused));
    assert_eq!(tcp_connect(&spec(closed_port("::1"))).await, Err(ProbeError::Refused));
}

#[tokio::test]
async fn a_missing_interface_is_named() {
    let probe = ProbeSpec { interface: Some("nl-missing0".to_owned()), ..spec(closed_port("127.0.0.1")) };
    assert_eq!(tcp_connect(&probe).await, Err(ProbeError::NoSuchInterface("nl-missing0".to_owned())));
    let icmp = icmp_echo(&probe, 1).await;
    // Without any ICMP socket to bind, the missing permission is the first problem.
    assert!(
        matches!(&icmp, Err(ProbeError::NoSuchInterface(name)) if name == "nl-missing0")
            || matches!(icmp, Err(ProbeError::NotPermitted(_))),
        "{icmp:?}"
    );
    assert_eq!(dns_query(&probe).await, Err(ProbeError::NoSuchInterface("nl-missing0".to_owned())));
}

/// A listener whose accept queue is full drops further SYNs, so a connect to it
/// gets no answer at all — a timeout without sending anything off the host.
#[tokio::test]
async fn tcp_connect_times_out_when_the_syn_is_dropped() {
    let listener = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).unwrap();
    // Backlog 0 admits one unaccepted connection; the next SYN is dropped.
    listener.listen(0).unwrap();
    let address = listener.local_addr().unwrap().as_socket().unwrap();
    let short = ProbeSpec::new(address, Duration::from_millis(300));
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let outcome = tcp_connect(&short).await;
        let timed_out = outcome.is_err();
        outcomes.push(outcome);
        if timed_out {
            break;
        }
    }
    assert_eq!(outcomes.last(), Some(&Err(ProbeError::TimedOut(Duration::from_millis(300)))), "{outcomes:?}");
    drop(listener);
}

/// A DNS responder on loopback: answers each query with `reply(query)` (or stays
/// silent when it returns nothing), for `queries` queries.
async fn dns_server(
    queries: usize,
    reply: impl Fn(&[u8]) -> Vec<Vec<u8>> + Send + 'static,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buffer = [0_u8; 512];
        for _ in 0..queries {
            let (length, peer) = socket.recv_from(&mut buffer).await.unwrap();
            for datagram in reply(&buffer[..length]) {
                socket.send_to(&datagram, peer).await.unwrap();
            }
        }
    });
    (address, task)
}

/// The query's header turned into a response with `rcode`, no records.
fn response(query: &[u8], rcode: u8) -> Vec<u8> {
    let mut bytes = query.to_vec();
    bytes[2] |= 0x80;
    bytes[3] = 0x80 | rcode;
    bytes
}

#[tokio::test]
async fn dns_query_counts_any_response_as_an_answer() {
    for rcode in [0, 2, 3, 5] {
        let (server, done) = dns_server(1, move |query| {
            assert_eq!(query.len(), 17, "a 17-byte `. NS` query");
            vec![response(query, rcode)]
        })
        .await;
        let rtt = dns_query(&spec(server)).await;
        assert!(rtt.is_ok(), "rcode {rcode}: {rtt:?}");
        done.await.unwrap();
    }
}

#[tokio::test]
async fn dns_query_skips_a_response_with_another_id() {
    let (server, done) = dns_server(1, |query| {
        let mut stale = response(query, 0);
        stale[0] ^= 0xff;
        vec![stale, response(query, 0)]
    })
    .await;
    assert!(dns_query(&spec(server)).await.is_ok());
    done.await.unwrap();
}

#[tokio::test]
async fn dns_query_to_a_silent_server_times_out() {
    let (server, done) = dns_server(1, |_| Vec::new()).await;
    let probe = ProbeSpec::new(server, Duration::from_millis(200));
    assert_eq!(dns_query(&probe).await, Err(ProbeError::TimedOut(Duration::from_millis(200))));
    done.await.unwrap();
}

#[tokio::test]
async fn dns_query_to_a_closed_port_is_unreachable() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    assert_eq!(
        dns_query(&spec(closed)).await,
        Err(ProbeError::Unreachable(format!("no DNS server on {closed} (port unreachable)")))
    );
}

#[tokio::test]
async fn icmp_echo_on_loopback() {
    for address in [Ipv4Addr::LOCALHOST.into(), std::net::IpAddr::from(Ipv6Addr::LOCALHOST)] {
        match icmp_echo(&spec(SocketAddr::new(address, 0)), 1).await {
            Ok(rtt) => assert!(rtt < TIMEOUT, "{address}: {rtt:?}"),
            // Without CAP_NET_RAW and outside ping_group_range there is nothing to test.
            Err(ProbeError::NotPermitted(why)) => {
                crate::test_policy::cannot_run(&format!("ICMP echo to {address}: {why}"));
            }
            Err(error) => panic!("{address}: {error}"),
        }
    }
}

#[tokio::test]
async fn concurrent_icmp_echoes_each_get_their_own_reply() {
    let probe =
        ProbeSpec { interface: Some("lo".to_owned()), mark: Some(7), ..spec("127.0.0.1:0".parse().unwrap()) };
    let (a, b, c) = tokio::join!(icmp_echo(&probe, 1), icmp_echo(&probe, 1), icmp_echo(&probe, 2));
    for outcome in [a, b, c] {
        match outcome {
            Ok(rtt) => assert!(rtt < TIMEOUT, "{rtt:?}"),
            Err(ProbeError::NotPermitted(why)) => {
                return crate::test_policy::cannot_run(&format!("ICMP echo: {why}"));
            }
            Err(error) => panic!("{error}"),
        }
    }
}
