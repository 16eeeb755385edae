//! What a traced lookup costs beyond the network: a four-step trace (two candidates,
//! A and AAAA each) against a loopback responder, beside the bare UDP round trips the
//! same four queries need. The difference divided by four is the trace's own cost per
//! step (encoding, socket set-up, matching, recording); the budget is 1 ms.
//!
//! Run with `cargo bench --bench dns_trace`.

#![allow(missing_docs, reason = "criterion's macros generate undocumented items")]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use netlens_collectors::dns::trace::Tracer;
use netlens_collectors::model::{ResolverConfig, TraceOrigin};

/// Answers `db.lab.test` A with 10.0.0.5, NXDOMAIN for everything else.
fn responder(stop: Arc<AtomicBool>) -> SocketAddr {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap_or_else(|e| panic!("bind: {e}"));
    socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap_or_else(|e| panic!("{e}"));
    let address = socket.local_addr().unwrap_or_else(|e| panic!("{e}"));
    std::thread::spawn(move || {
        let mut buffer = [0_u8; 1500];
        while !stop.load(Ordering::Relaxed) {
            let Ok((len, from)) = socket.recv_from(&mut buffer) else { continue };
            let Ok(query) = Message::from_vec(&buffer[..len]) else { continue };
            let Some(question) = query.queries.first().cloned() else { continue };
            let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
            reply.add_query(question.clone());
            if question.name().to_ascii().eq_ignore_ascii_case("db.lab.test.") {
                if question.query_type() == RecordType::A {
                    reply.add_answer(Record::from_rdata(
                        question.name().clone(),
                        300,
                        RData::A(A(Ipv4Addr::new(10, 0, 0, 5))),
                    ));
                }
            } else {
                reply.metadata.response_code = ResponseCode::NXDomain;
            }
            if let Ok(bytes) = reply.to_vec() {
                let _ = socket.send_to(&bytes, from);
            }
        }
    });
    address
}

fn bench(c: &mut Criterion) {
    let stop = Arc::new(AtomicBool::new(false));
    let server = responder(Arc::clone(&stop));
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"));
    let tracer = Tracer {
        config: ResolverConfig {
            nameservers: vec![server.ip()],
            search: vec!["corp.test".into(), "lab.test".into()],
            timeout_s: 1,
            attempts: 1,
            ..ResolverConfig::default()
        },
        port: server.port(),
    };
    let mut group = c.benchmark_group("dns_trace");
    group.bench_function("trace_4_steps", |b| {
        b.iter(|| {
            let trace =
                runtime.block_on(tracer.trace("db", TraceOrigin::User)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(trace.steps.len(), 4);
            trace
        });
    });
    // The network part: the same four questions as bare blocking round trips.
    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap_or_else(|e| panic!("{e}"));
    client.connect(server).unwrap_or_else(|e| panic!("{e}"));
    let questions: Vec<Vec<u8>> = ["db.corp.test.", "db.lab.test."]
        .iter()
        .flat_map(|name| {
            [RecordType::A, RecordType::AAAA].map(|qtype| {
                let mut message = Message::new(7, MessageType::Query, OpCode::Query);
                message
                    .add_query(Query::query(Name::from_ascii(name).unwrap_or_else(|e| panic!("{e}")), qtype));
                message.to_vec().unwrap_or_else(|e| panic!("{e}"))
            })
        })
        .collect();
    group.bench_function("raw_round_trips_4", |b| {
        let mut buffer = [0_u8; 1500];
        b.iter(|| {
            for question in &questions {
                client.send(question).unwrap_or_else(|e| panic!("{e}"));
                client.recv(&mut buffer).unwrap_or_else(|e| panic!("{e}"));
            }
        });
    });
    group.finish();
    stop.store(true, Ordering::Relaxed);
}

criterion_group!(benches, bench);
criterion_main!(benches);
