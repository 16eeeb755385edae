//! A UDP load generator for measuring packet capture: sends RATE datagrams per second
//! of SIZE payload bytes to DESTINATION for SECONDS, from SOCKETS source ports in
//! turn, paced every millisecond, and prints how many it sent. Run it in a throw-away
//! network namespace (`ip netns exec NS ...`) towards another one across a veth pair.
//!
//! Usage: `udp_flood DESTINATION [RATE] [SECONDS] [SIZE] [SOCKETS] [THREADS]`
//! (defaults: 100000 datagrams/s for 20 s, 64 bytes, 16 sockets, 2 threads sharing
//! the rate).

#![allow(missing_docs, reason = "an example binary")]

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// The pacing step.
const TICK: Duration = Duration::from_millis(1);

fn main() {
    let mut args = std::env::args().skip(1);
    let destination: SocketAddr = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("usage: udp_flood DESTINATION [RATE] [SECONDS] [SIZE] [SOCKETS]"));
    let rate: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20.0);
    let size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let sockets: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let threads: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2).max(1);
    let workers: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || send(destination, rate / threads, seconds, size, sockets)))
        .collect();
    let (mut sent, mut refused, mut elapsed) = (0, 0, 0.0_f64);
    for worker in workers {
        let (s, r, e) = worker.join().unwrap_or_else(|_| panic!("a sender panicked"));
        (sent, refused, elapsed) = (sent + s, refused + r, elapsed.max(e));
    }
    println!(
        "sent {sent} datagrams ({:.0}/s) of {size} bytes to {destination} in {elapsed:.1} s; {refused} refused",
        sent as f64 / elapsed
    );
}

/// One sender's share: `rate` datagrams a second for `seconds`; (sent, refused, seconds).
fn send(destination: SocketAddr, rate: u64, seconds: f64, size: usize, sockets: usize) -> (u64, u64, f64) {
    let unspecified: SocketAddr = if destination.is_ipv4() { "0.0.0.0:0".parse() } else { "[::]:0".parse() }
        .unwrap_or_else(|e| panic!("{e}"));
    let senders: Vec<UdpSocket> = (0..sockets.max(1))
        .map(|_| {
            // Unconnected: an ICMP port unreachable from a host without a listener is
            // not reported back as an error that eats the next datagram.
            UdpSocket::bind(unspecified).unwrap_or_else(|e| panic!("bind: {e}"))
        })
        .collect();
    let payload = vec![0x5a_u8; size];
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let (mut sent, mut refused, mut next) = (0_u64, 0_u64, start);
    while Instant::now() < end {
        // Catch up to where the rate says we should be: bursts of a millisecond's worth.
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent + refused < due {
            let socket = &senders[((sent + refused) as usize) % senders.len()];
            match socket.send_to(&payload, destination) {
                Ok(_) => sent += 1,
                // A full queue (ENOBUFS): counted, not retried.
                Err(_) => refused += 1,
            }
        }
        next += TICK;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    (sent, refused, start.elapsed().as_secs_f64())
}
