//! A loopback DNS responder for the unit tests of the trace and the source.
#![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{RData, Record, RecordType};

/// What the responder answers for a name.
#[derive(Clone)]
pub enum Answer {
    Addresses(Vec<IpAddr>),
    Alias(&'static str, Vec<IpAddr>),
    Code(ResponseCode),
    Truncated(Vec<IpAddr>),
    /// A answered with these addresses, AAAA SERVFAIL (a broken forwarder).
    AaaaFails(Vec<IpAddr>),
}

/// A loopback responder on UDP and TCP (same port) answering from a table.
pub struct Responder {
    /// Where it listens.
    pub address: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn reply(query: &[u8], zone: &HashMap<String, Answer>, tcp: bool) -> Option<Vec<u8>> {
    let query = Message::from_vec(query).ok()?;
    let question = query.queries.first()?.clone();
    let name = question.name().to_ascii().trim_end_matches('.').to_lowercase();
    let mut response = Message::new(query.metadata.id, MessageType::Response, query.metadata.op_code);
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.add_query(question.clone());
    let records = |owner: &hickory_proto::rr::Name, addresses: &[IpAddr]| -> Vec<Record> {
        addresses
            .iter()
            .filter_map(|address| match (address, question.query_type()) {
                (IpAddr::V4(v4), RecordType::A) => {
                    Some(Record::from_rdata(owner.clone(), 300, RData::A(A(*v4))))
                }
                (IpAddr::V6(v6), RecordType::AAAA) => {
                    Some(Record::from_rdata(owner.clone(), 300, RData::AAAA(AAAA(*v6))))
                }
                _ => None,
            })
            .collect()
    };
    match zone.get(&name) {
        None => response.metadata.response_code = ResponseCode::NXDomain,
        Some(Answer::Code(code)) => response.metadata.response_code = *code,
        Some(Answer::Addresses(addresses)) => {
            response.add_answers(records(question.name(), addresses));
        }
        Some(Answer::Alias(target, addresses)) => {
            let target = hickory_proto::rr::Name::from_ascii(format!("{target}.")).unwrap();
            response.add_answer(Record::from_rdata(
                question.name().clone(),
                60,
                RData::CNAME(CNAME(target.clone())),
            ));
            response.add_answers(records(&target, addresses));
        }
        Some(Answer::AaaaFails(addresses)) => {
            if question.query_type() == RecordType::AAAA {
                response.metadata.response_code = ResponseCode::ServFail;
            } else {
                response.add_answers(records(question.name(), addresses));
            }
        }
        Some(Answer::Truncated(addresses)) => {
            if tcp {
                response.add_answers(records(question.name(), addresses));
            } else {
                response.metadata.truncation = true;
            }
        }
    }
    response.to_vec().ok()
}

pub fn responder(ip: Ipv4Addr, port: u16, zone: HashMap<String, Answer>) -> Responder {
    let udp = UdpSocket::bind((ip, port)).unwrap();
    let tcp = TcpListener::bind((ip, udp.local_addr().unwrap().port())).unwrap();
    let address = udp.local_addr().unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    tcp.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let zone = Arc::new(zone);
    let (stopping, udp_zone) = (Arc::clone(&stop), Arc::clone(&zone));
    std::thread::spawn(move || {
        let mut buffer = [0_u8; 2048];
        while !stopping.load(Ordering::Relaxed) {
            if let Ok((len, from)) = udp.recv_from(&mut buffer)
                && let Some(bytes) = reply(&buffer[..len], &udp_zone, false)
            {
                let _ = udp.send_to(&bytes, from);
            }
        }
    });
    let stopping = Arc::clone(&stop);
    std::thread::spawn(move || {
        while !stopping.load(Ordering::Relaxed) {
            let Ok((mut stream, _)) = tcp.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            let mut prefix = [0_u8; 2];
            if stream.read_exact(&mut prefix).is_err() {
                continue;
            }
            let mut body = vec![0_u8; usize::from(u16::from_be_bytes(prefix))];
            if stream.read_exact(&mut body).is_err() {
                continue;
            }
            if let Some(bytes) = reply(&body, &zone, true) {
                let mut framed = u16::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
                framed.extend_from_slice(&bytes);
                let _ = stream.write_all(&framed);
            }
        }
    });
    Responder { address, stop }
}

pub fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

pub fn zone(entries: &[(&str, Answer)]) -> HashMap<String, Answer> {
    entries.iter().map(|(name, answer)| ((*name).to_owned(), answer.clone())).collect()
}
