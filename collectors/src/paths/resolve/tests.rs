//! The RFC 8305 §3 timing with a fake lookup under paused time, and the hickory
//! lookup against a DNS responder on loopback.

#![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use super::*;

type Answer<T> = (u64, Result<Vec<T>, String>);

/// Answers each family after a fixed number of milliseconds.
struct Fake {
    v6: Answer<Ipv6Addr>,
    v4: Answer<Ipv4Addr>,
}

fn answer_after<'a, T: Clone + Send + Sync + 'a>(answer: &'a Answer<T>) -> LookupFuture<'a, T> {
    Box::pin(async move {
        tokio::time::sleep(Duration::from_millis(answer.0)).await;
        answer.1.clone()
    })
}

impl NameLookup for Fake {
    fn lookup_v6<'a>(&'a self, _name: &'a str) -> LookupFuture<'a, Ipv6Addr> {
        answer_after(&self.v6)
    }

    fn lookup_v4<'a>(&'a self, _name: &'a str) -> LookupFuture<'a, Ipv4Addr> {
        answer_after(&self.v4)
    }
}

const V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

#[tokio::test(start_paused = true)]
async fn resolution_delay() {
    let late = || -> Result<Vec<Ipv6Addr>, String> {
        Err("no AAAA answer within the 50 ms resolution delay".to_owned())
    };
    let cases = [
        ("AAAA first: wait for A", Fake { v6: (10, Ok(vec![V6])), v4: (30, Ok(vec![V4])) }, Ok(vec![V6]), 30),
        (
            "AAAA first with nothing: still wait for A",
            Fake { v6: (10, Ok(vec![])), v4: (300, Ok(vec![V4])) },
            Ok(vec![]),
            300,
        ),
        (
            "A first, AAAA within the delay",
            Fake { v6: (40, Ok(vec![V6])), v4: (10, Ok(vec![V4])) },
            Ok(vec![V6]),
            40,
        ),
        (
            "A first, AAAA too late: go without it",
            Fake { v6: (200, Ok(vec![V6])), v4: (10, Ok(vec![V4])) },
            late(),
            60,
        ),
        (
            "A first with no addresses: wait for AAAA",
            Fake { v6: (200, Ok(vec![V6])), v4: (10, Ok(vec![])) },
            Ok(vec![V6]),
            200,
        ),
        (
            "A failed: wait for AAAA",
            Fake { v6: (300, Err("timed out".to_owned())), v4: (10, Err("SERVFAIL".to_owned())) },
            Err("timed out".to_owned()),
            300,
        ),
        ("both at once", Fake { v6: (20, Ok(vec![V6])), v4: (20, Ok(vec![V4])) }, Ok(vec![V6]), 20),
    ];
    for (name, fake, v6, elapsed) in cases {
        let resolution = resolve_dual(&fake, "example.test", RESOLUTION_DELAY).await;
        let expected = DualResolution { v6, v4: fake.v4.1.clone(), elapsed: Duration::from_millis(elapsed) };
        assert_eq!(resolution, expected, "{name}");
    }
}

/// A DNS responder on loopback for `queries` queries: `dual.example.test` has
/// `::1` and 127.0.0.1, `v4only.example.test` only 127.0.0.2, anything else NXDOMAIN.
async fn dns_server(queries: usize) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    use hickory_resolver::proto::op::{Message, ResponseCode};
    use hickory_resolver::proto::rr::rdata::{A, AAAA};
    use hickory_resolver::proto::rr::{Record, RecordType};
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buffer = vec![0_u8; 1500];
        for _ in 0..queries {
            let (length, peer) = socket.recv_from(&mut buffer).await.unwrap();
            let query = Message::from_vec(&buffer[..length]).unwrap();
            let question = query.queries[0].clone();
            let name = question.name().clone();
            let mut response = query.into_response();
            let data = match (name.to_string().as_str(), question.query_type()) {
                ("dual.example.test.", RecordType::AAAA) => Some(RData::AAAA(AAAA(Ipv6Addr::LOCALHOST))),
                ("dual.example.test." | "v4only.example.test.", RecordType::A) => {
                    let last = if name.to_string().starts_with("dual") { 1 } else { 2 };
                    Some(RData::A(A(Ipv4Addr::new(127, 0, 0, last))))
                }
                ("dual.example.test." | "v4only.example.test.", _) => None,
                _ => {
                    response.metadata.response_code = ResponseCode::NXDomain;
                    None
                }
            };
            if let Some(data) = data {
                response.add_answer(Record::from_rdata(name, 300, data));
            }
            socket.send_to(&response.to_vec().unwrap(), peer).await.unwrap();
        }
    });
    (address, task)
}

#[tokio::test]
async fn hickory_lookup_asks_both_families() {
    let (server, done) = dns_server(6).await;
    let lookup = HickoryLookup::with_server(server, Duration::from_secs(2)).unwrap();
    let dual = resolve_dual(&lookup, "dual.example.test.", RESOLUTION_DELAY).await;
    assert_eq!((dual.v6, dual.v4), (Ok(vec![Ipv6Addr::LOCALHOST]), Ok(vec![Ipv4Addr::LOCALHOST])));
    let v4_only = resolve_dual(&lookup, "v4only.example.test.", Duration::from_secs(2)).await;
    assert_eq!(
        (v4_only.v6, v4_only.v4),
        (Ok(vec![]), Ok(vec![Ipv4Addr::new(127, 0, 0, 2)])),
        "no AAAA is not an error"
    );
    let missing = resolve_dual(&lookup, "missing.example.test.", RESOLUTION_DELAY).await;
    assert_eq!((missing.v6, missing.v4), (Ok(vec![]), Ok(vec![])), "NXDOMAIN is no addresses, not an error");
    done.await.unwrap();
}

#[tokio::test]
async fn hickory_lookup_reports_a_dead_server() {
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let lookup =
        HickoryLookup::with_server(silent.local_addr().unwrap(), Duration::from_millis(200)).unwrap();
    let resolution = resolve_dual(&lookup, "dual.example.test.", RESOLUTION_DELAY).await;
    assert!(resolution.v4.is_err(), "{resolution:?}");
    assert!(resolution.v6.is_err(), "{resolution:?}");
}
