//! A DNS load generator for measuring passive capture: a responder on
//! `127.0.0.1:53` that echoes each query back as an empty NOERROR answer, and a
//! sender asking RATE queries per second (distinct names, ids and source ports) for
//! SECONDS, in the network namespace it runs in. Run it inside a throw-away
//! namespace (`ip netns exec NS ...`), never on a host whose port 53 is in use.
//!
//! Usage: `dns_flood [RATE] [SECONDS]` (defaults: 10000 queries/s for 20 s).

#![allow(missing_docs, reason = "an example binary")]

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

/// Queries per pacing tick.
const TICK: Duration = Duration::from_millis(10);
/// Source sockets the sender rotates through.
const SENDERS: usize = 16;

fn query(id: u16, n: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(64);
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    let label = format!("host{}", n % 5_000);
    for part in [label.as_str(), "flood", "test"] {
        bytes.push(part.len() as u8);
        bytes.extend_from_slice(part.as_bytes());
    }
    bytes.extend_from_slice(&[0, 0, 1, 0, 1]);
    bytes
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let responder =
        UdpSocket::bind((Ipv4Addr::LOCALHOST, 53)).unwrap_or_else(|e| panic!("bind 127.0.0.1:53: {e}"));
    std::thread::spawn(move || {
        let mut buffer = [0_u8; 512];
        while let Ok((len, from)) = responder.recv_from(&mut buffer) {
            if len >= 12 {
                // QR=1, RA=1, NOERROR: the question echoed, no answers.
                buffer[2] |= 0x80;
                buffer[3] = 0x80;
                let _ = responder.send_to(&buffer[..len], from);
            }
        }
    });
    let senders: Vec<UdpSocket> = (0..SENDERS)
        .map(|_| {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap_or_else(|e| panic!("bind: {e}"));
            socket.connect((Ipv4Addr::LOCALHOST, 53)).unwrap_or_else(|e| panic!("connect: {e}"));
            socket.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
            socket
        })
        .collect();
    let per_tick = (rate * TICK.as_millis() as u64 / 1_000).max(1);
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let (mut sent, mut next) = (0_u64, start);
    let mut sink = [0_u8; 512];
    while Instant::now() < end {
        for _ in 0..per_tick {
            let socket = &senders[(sent % SENDERS as u64) as usize];
            let _ = socket.send(&query(sent as u16, sent));
            sent += 1;
        }
        // Drain answers so the sockets' buffers never fill.
        for socket in &senders {
            while socket.recv(&mut sink).is_ok() {}
        }
        next += TICK;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("sent {sent} queries in {elapsed:.1} s: {:.0} queries/s", sent as f64 / elapsed);
}
