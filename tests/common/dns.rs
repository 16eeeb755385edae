//! A tiny authoritative DNS server for tests: answers A and AAAA questions from a
//! fixed table over UDP, NXDOMAIN for names it does not know. Runs on a thread (in
//! whatever network namespace that thread is in) until dropped.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running server.
pub struct DnsServer {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DnsServer {
    /// Serve `records` (lower-case name → addresses) on `socket`.
    pub fn serve(socket: UdpSocket, records: Vec<(String, IpAddr)>) -> Self {
        let address = socket.local_addr().unwrap_or_else(|error| panic!("dns socket: {error}"));
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap_or_else(|error| panic!("dns socket timeout: {error}"));
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buffer = [0_u8; 512];
            while !stopping.load(Ordering::Relaxed) {
                let Ok((len, from)) = socket.recv_from(&mut buffer) else { continue };
                if let Some(reply) = answer(&buffer[..len], &records) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Self { address, stop, thread: Some(thread) }
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The reply to one query, or `None` for something that is not a query.
fn answer(query: &[u8], records: &[(String, IpAddr)]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 {
        return None;
    }
    // Question: labels, then qtype and qclass.
    let mut position = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(position)?);
        position += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(position..position + len)?).to_lowercase());
        position += len;
    }
    let qtype = u16::from_be_bytes([*query.get(position)?, *query.get(position + 1)?]);
    let question_end = position + 4;
    let name = labels.join(".");
    let known = records.iter().any(|(record, _)| *record == name);
    let answers: Vec<&IpAddr> = records
        .iter()
        .filter(|(record, address)| {
            *record == name && matches!((qtype, address), (1, IpAddr::V4(_)) | (28, IpAddr::V6(_)))
        })
        .map(|(_, address)| address)
        .collect();
    let mut reply = Vec::with_capacity(512);
    reply.extend_from_slice(&query[..2]);
    // QR, AA, RD copied; RA; rcode NOERROR or NXDOMAIN.
    reply.push(0x84 | (query[2] & 0x01));
    reply.push(if known { 0x80 } else { 0x83 });
    reply.extend_from_slice(&[0, 1]);
    reply.extend_from_slice(&u16::try_from(answers.len()).unwrap_or(0).to_be_bytes());
    reply.extend_from_slice(&[0, 0, 0, 0]);
    reply.extend_from_slice(query.get(12..question_end)?);
    for address in answers {
        reply.extend_from_slice(&[0xc0, 12]);
        match address {
            IpAddr::V4(v4) => {
                reply.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 30, 0, 4]);
                reply.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                reply.extend_from_slice(&[0, 28, 0, 1, 0, 0, 0, 30, 0, 16]);
                reply.extend_from_slice(&v6.octets());
            }
        }
    }
    Some(reply)
}
