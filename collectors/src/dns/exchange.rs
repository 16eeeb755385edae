//! One round of questions to one server, the way glibc's `send_dg` and `send_vc` ask
//! them: A and AAAA on one connected UDP socket at once (one after the other with
//! `single-request`), each answer matched by transaction id and question, replies
//! that match neither ignored and counted; a truncated answer is asked again over TCP.
//!
//! The socket is connected, as glibc's is: the kernel then drops datagrams from any
//! other address (passive capture counts those as unmatched), and a closed port
//! answers at once with ECONNREFUSED instead of a timeout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

use crate::model::DnsTransport;

/// Largest datagram read; EDNS answers can exceed 512 bytes.
const MAX_DATAGRAM: usize = 65_535;
/// The UDP payload size advertised with `options edns0` (glibc's default).
const EDNS_PAYLOAD: u16 = 1_200;

/// How to ask: the resolv.conf options that change the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[expect(clippy::struct_excessive_bools, reason = "each is one independent resolv.conf option")]
pub struct AskOptions {
    /// `edns0`: add an OPT record (bigger UDP answers).
    pub edns0: bool,
    /// `trust-ad`: set the AD bit.
    pub trust_ad: bool,
    /// `use-vc`: TCP from the start.
    pub use_vc: bool,
    /// `single-request`: A, then AAAA, not both at once.
    pub single_request: bool,
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Fully qualified name.
    pub name: Name,
    /// A or AAAA.
    pub qtype: RecordType,
}

/// What came back for one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// How the final answer (or timeout) travelled.
    pub transport: DnsTransport,
    /// The answer, if one came.
    pub message: Option<Message>,
    /// Replies ignored (wrong id or question).
    pub ignored: u32,
    /// From sending to the answer, or to giving up.
    pub latency: Duration,
    /// Why there is no answer.
    pub error: Option<String>,
    /// The UDP answer was truncated: this reply is the TCP retry's, and `udp_latency`
    /// is how long the truncated one took.
    pub truncated_udp: Option<Duration>,
    /// The server's port was closed (ECONNREFUSED): glibc stops searching when every
    /// server says so.
    pub refused: bool,
    /// The socket the question left from, once one was open.
    pub local: Option<SocketAddr>,
    /// The UDP socket of the truncated answer, when this reply is the TCP retry's.
    pub truncated_local: Option<SocketAddr>,
}

impl Reply {
    const fn failed(transport: DnsTransport, latency: Duration, ignored: u32, error: String) -> Self {
        Self {
            transport,
            message: None,
            ignored,
            latency,
            error: Some(error),
            truncated_udp: None,
            refused: false,
            local: None,
            truncated_local: None,
        }
    }

    /// The response code, when an answer came.
    #[must_use]
    pub fn rcode(&self) -> Option<ResponseCode> {
        self.message.as_ref().map(|message| message.metadata.response_code)
    }
}

/// Build the query message for `question` with transaction `id`.
fn query_bytes(question: &Question, id: u16, options: AskOptions) -> Result<Vec<u8>, String> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.metadata.authentic_data = options.trust_ad;
    message.add_query(Query::query(question.name.clone(), question.qtype));
    if options.edns0 {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        message.set_edns(edns);
    }
    message.to_vec().map_err(|error| format!("cannot encode the query: {error}"))
}

/// Whether `reply` answers `question` asked with `id`: glibc's `res_queriesmatch`
/// wants the same id and the same question back. A truncated reply that could only be
/// read as far as its header (see [`decode`]) matches on the id alone.
fn answers(reply: &Message, id: u16, question: &Question) -> bool {
    reply.metadata.id == id
        && reply.metadata.message_type == MessageType::Response
        && match reply.queries.first() {
            Some(query) => query.query_type() == question.qtype && query.name() == &question.name,
            None => reply.metadata.truncation,
        }
}

/// Decode a reply. A truncated datagram may end mid-record, which a full decode
/// rejects; its header still says TC, and TC is all that is needed to retry over TCP.
fn decode(bytes: &[u8]) -> Option<Message> {
    if let Ok(message) = Message::from_vec(bytes) {
        return Some(message);
    }
    let header = <hickory_proto::op::Header as hickory_proto::serialize::binary::BinDecodable>::read(
        &mut hickory_proto::serialize::binary::BinDecoder::new(bytes),
    )
    .ok()?;
    header.metadata.truncation.then(|| {
        let mut message =
            Message::new(header.metadata.id, header.metadata.message_type, header.metadata.op_code);
        message.metadata = header.metadata;
        message
    })
}

/// Ask `server` every question in `questions` within `timeout`, and give one reply
/// per question, in order.
pub async fn ask(
    server: SocketAddr,
    questions: &[Question],
    timeout: Duration,
    options: AskOptions,
) -> Vec<Reply> {
    let ids: Vec<u16> = questions.iter().map(|_| rand_id()).collect();
    let mut replies = if options.use_vc {
        let mut replies = Vec::with_capacity(questions.len());
        for (question, &id) in questions.iter().zip(&ids) {
            replies.push(ask_tcp(server, question, id, timeout, options).await);
        }
        replies
    } else if options.single_request {
        let mut replies = Vec::with_capacity(questions.len());
        for (question, &id) in questions.iter().zip(&ids) {
            replies.extend(ask_udp(server, std::slice::from_ref(question), &[id], timeout, options).await);
        }
        replies
    } else {
        ask_udp(server, questions, &ids, timeout, options).await
    };
    // A truncated answer is asked again over TCP, as glibc does.
    for ((reply, question), &id) in replies.iter_mut().zip(questions).zip(&ids) {
        if reply.transport == DnsTransport::Udp
            && reply.message.as_ref().is_some_and(|m| m.metadata.truncation)
        {
            let udp_latency = reply.latency;
            let mut tcp = ask_tcp(server, question, id, timeout, options).await;
            tcp.truncated_udp = Some(udp_latency);
            tcp.truncated_local = reply.local;
            tcp.ignored += reply.ignored;
            *reply = tcp;
        }
    }
    replies
}

/// A transaction id; unpredictable enough for a diagnostic tool without a CSPRNG.
fn rand_id() -> u16 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
    );
    hasher.finish() as u16
}

const fn unspecified(server: SocketAddr) -> SocketAddr {
    match server.ip() {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    }
}

/// Every question on one connected UDP socket, answers collected until all came or
/// the deadline passed.
async fn ask_udp(
    server: SocketAddr,
    questions: &[Question],
    ids: &[u16],
    timeout: Duration,
    options: AskOptions,
) -> Vec<Reply> {
    let start = Instant::now();
    let fail_all = |error: String, refused: bool| {
        questions
            .iter()
            .map(|_| Reply { refused, ..Reply::failed(DnsTransport::Udp, start.elapsed(), 0, error.clone()) })
            .collect()
    };
    let socket = match UdpSocket::bind(unspecified(server)).await {
        Ok(socket) => socket,
        Err(error) => return fail_all(format!("cannot open a UDP socket: {error}"), false),
    };
    if let Err(error) = socket.connect(server).await {
        return fail_all(format!("cannot reach {server}: {error}"), false);
    }
    let local = socket.local_addr().ok();
    if let Some(local) = local {
        super::own::register(DnsTransport::Udp, local, server);
    }
    let mut sent_at = Vec::with_capacity(questions.len());
    for (question, &id) in questions.iter().zip(ids) {
        let bytes = match query_bytes(question, id, options) {
            Ok(bytes) => bytes,
            Err(error) => return fail_all(error, false),
        };
        sent_at.push(Instant::now());
        // The ICMP port-unreachable of the first query can fail the second send.
        if let Err(error) = socket.send(&bytes).await {
            let refused = error.kind() == std::io::ErrorKind::ConnectionRefused;
            let text =
                if refused { refused_text(server) } else { format!("cannot send to {server}: {error}") };
            return fail_all(text, refused);
        }
    }
    // The timeout runs from the first query on the wire, so a step's recorded
    // latency is never shorter than the timeout it reports (socket set-up aside).
    let deadline = sent_at.first().copied().unwrap_or(start) + timeout;
    let mut replies: Vec<Option<Reply>> = questions.iter().map(|_| None).collect();
    let mut ignored = 0_u32;
    let mut buffer = vec![0_u8; MAX_DATAGRAM];
    while replies.iter().any(Option::is_none) {
        let received = tokio::time::timeout_at(deadline, socket.recv(&mut buffer)).await;
        let len = match received {
            Err(_elapsed) => break,
            Ok(Ok(len)) => len,
            Ok(Err(error)) => {
                let refused = error.kind() == std::io::ErrorKind::ConnectionRefused;
                let error =
                    if refused { refused_text(server) } else { format!("receive from {server}: {error}") };
                for (slot, at) in replies.iter_mut().zip(&sent_at) {
                    if slot.is_none() {
                        let mut reply =
                            Reply::failed(DnsTransport::Udp, at.elapsed(), ignored, error.clone());
                        reply.refused = refused;
                        *slot = Some(reply);
                    }
                }
                break;
            }
        };
        let Some(message) = decode(&buffer[..len]) else {
            ignored += 1;
            continue;
        };
        let position = questions
            .iter()
            .zip(ids)
            .zip(&replies)
            .position(|((question, &id), slot)| slot.is_none() && answers(&message, id, question));
        match position {
            Some(index) => {
                replies[index] = Some(Reply {
                    transport: DnsTransport::Udp,
                    message: Some(message),
                    ignored: 0,
                    latency: sent_at[index].elapsed(),
                    error: None,
                    truncated_udp: None,
                    refused: false,
                    local,
                    truncated_local: None,
                });
            }
            None => ignored += 1,
        }
    }
    let timeout_ms = timeout.as_millis();
    let mut out: Vec<Reply> = replies
        .into_iter()
        .zip(&sent_at)
        .map(|(slot, at)| {
            let mut reply = slot.unwrap_or_else(|| {
                Reply::failed(DnsTransport::Udp, at.elapsed(), 0, format!("timeout after {timeout_ms} ms"))
            });
            reply.local = local;
            reply
        })
        .collect();
    // Ignored replies are shown once, on the first question's step.
    if let Some(first) = out.first_mut() {
        first.ignored += ignored;
    }
    out
}

/// What a closed port (ICMP port unreachable, ECONNREFUSED) means, in words.
fn refused_text(server: SocketAddr) -> String {
    format!("{server} refused (ICMP port unreachable: nothing listens on port {})", server.port())
}

/// One question over TCP: connect, send it length-prefixed, read the answer.
async fn ask_tcp(
    server: SocketAddr,
    question: &Question,
    id: u16,
    timeout: Duration,
    options: AskOptions,
) -> Reply {
    let start = Instant::now();
    let deadline = start + timeout;
    let result = tokio::time::timeout_at(deadline, async {
        let mut stream = TcpStream::connect(server).await.map_err(|error| {
            if error.kind() == std::io::ErrorKind::ConnectionRefused {
                format!("{server} refused the TCP connection")
            } else {
                format!("cannot connect to {server} over TCP: {error}")
            }
        })?;
        let local = stream.local_addr().ok();
        if let Some(local) = local {
            super::own::register(DnsTransport::Tcp, local, server);
        }
        let bytes = query_bytes(question, id, options)?;
        let len = u16::try_from(bytes.len()).map_err(|_| "query too long for TCP".to_owned())?;
        let mut framed = Vec::with_capacity(bytes.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&bytes);
        stream.write_all(&framed).await.map_err(|error| format!("send to {server} over TCP: {error}"))?;
        let mut ignored = 0_u32;
        loop {
            let mut prefix = [0_u8; 2];
            stream
                .read_exact(&mut prefix)
                .await
                .map_err(|error| format!("{server} closed the TCP connection without an answer: {error}"))?;
            let mut body = vec![0_u8; usize::from(u16::from_be_bytes(prefix))];
            stream
                .read_exact(&mut body)
                .await
                .map_err(|error| format!("short TCP answer from {server}: {error}"))?;
            match Message::from_vec(&body) {
                Ok(message) if answers(&message, id, question) => return Ok((message, ignored, local)),
                _ => ignored += 1,
            }
        }
    })
    .await;
    match result {
        Ok(Ok((message, ignored, local))) => Reply {
            transport: DnsTransport::Tcp,
            message: Some(message),
            ignored,
            latency: start.elapsed(),
            error: None,
            truncated_udp: None,
            refused: false,
            local,
            truncated_local: None,
        },
        Ok(Err(error)) => Reply::failed(DnsTransport::Tcp, start.elapsed(), 0, error),
        Err(_elapsed) => Reply::failed(
            DnsTransport::Tcp,
            start.elapsed(),
            0,
            format!("timeout after {} ms", timeout.as_millis()),
        ),
    }
}
