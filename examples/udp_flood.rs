//! A UDP load generator for measuring packet capture: sends RATE datagrams per second
//! of SIZE payload bytes to DESTINATION for SECONDS and prints how many the kernel
//! accepted. Run it in a throw-away network namespace (`ip netns exec NS ...`) towards
//! another one across a veth pair.
//!
//! Usage: `udp_flood DESTINATION [RATE] [SECONDS] [SIZE] [SOCKETS] [THREADS] [BATCH]`
//! (defaults: 100000 datagrams/s for 20 s, 64 bytes, 4 source ports per thread,
//! 1 thread, 128 datagrams per `sendmmsg`).
//!
//! One `send_to` per datagram topped out near 145,000/s on a 2-core VM: the syscall
//! entry and exit cost more than the datagram. `sendmmsg` hands the kernel BATCH
//! datagrams per call (rustix's safe wrapper, already a dependency), and a pacer
//! releases batches every millisecond so the rate holds on average without bursts
//! longer than a millisecond's worth. Several threads share the rate when one core is
//! not enough.
//!
//! "Sent" is what `sendmmsg` accepted. A veth drops silently when the peer's backlog is
//! full (the datagram still counts as sent here), so the honest achieved rate is the
//! receiving interface's rx counter: `scripts/measure_capture.py` reads it.

#![allow(missing_docs, reason = "an example binary")]

use std::io::IoSlice;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny, sendmmsg};

/// The pacing step: each tick sends what the rate says is due, in batches.
const TICK: Duration = Duration::from_millis(1);

/// What one sender thread does.
#[derive(Clone, Copy)]
struct Plan {
    destination: SocketAddr,
    rate: u64,
    seconds: f64,
    size: usize,
    sockets: usize,
    batch: usize,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let destination: SocketAddr = args.next().and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        panic!("usage: udp_flood DESTINATION [RATE] [SECONDS] [SIZE] [SOCKETS] [THREADS] [BATCH]")
    });
    let mut number = |default: f64| args.next().and_then(|a| a.parse::<f64>().ok()).unwrap_or(default);
    let rate = number(100_000.0) as u64;
    let seconds = number(20.0);
    let size = number(64.0) as usize;
    let sockets = (number(4.0) as usize).max(1);
    let threads = (number(1.0) as u64).max(1);
    let batch = (number(128.0) as usize).clamp(1, 1024);
    let plan = Plan { destination, rate: rate / threads, seconds, size, sockets, batch };
    let workers: Vec<_> = (0..threads).map(|_| std::thread::spawn(move || send(plan))).collect();
    let (mut sent, mut refused, mut elapsed) = (0, 0, 0.0_f64);
    for worker in workers {
        let (s, r, e) = worker.join().unwrap_or_else(|_| panic!("a sender panicked"));
        (sent, refused, elapsed) = (sent + s, refused + r, elapsed.max(e));
    }
    println!(
        "sent {sent} datagrams ({:.0}/s) of {size} bytes to {destination} in {elapsed:.1} s \
         from {threads} thread(s), {batch} per sendmmsg; {refused} refused",
        sent as f64 / elapsed
    );
}

/// One thread's share of the rate; (accepted by the kernel, refused, seconds).
fn send(plan: Plan) -> (u64, u64, f64) {
    let unspecified: SocketAddr = if plan.destination.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    // Unconnected: an ICMP port unreachable from a host without a listener is not
    // reported back as an error that fails the next call.
    let sockets: Vec<UdpSocket> = (0..plan.sockets)
        .map(|_| UdpSocket::bind(unspecified).unwrap_or_else(|e| panic!("bind: {e}")))
        .collect();
    let address = SocketAddrAny::from(plan.destination);
    let payload = vec![0x5a_u8; plan.size];
    let iov = [IoSlice::new(&payload)];
    // Built once: the kernel only writes each header's msg_len back.
    let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> =
        (0..plan.batch).map(|_| SendAncillaryBuffer::default()).collect();
    let mut messages: Vec<MMsgHdr<'_>> =
        controls.iter_mut().map(|control| MMsgHdr::new_with_addr(&address, &iov, control)).collect();

    let start = Instant::now();
    let end = start + Duration::from_secs_f64(plan.seconds);
    let (mut sent, mut refused, mut next, mut turn) = (0_u64, 0_u64, start, 0_usize);
    while Instant::now() < end {
        let due = (start.elapsed().as_secs_f64() * plan.rate as f64) as u64;
        // Behind the pace (a rate above what one core can send) the catch-up still
        // stops at the end, so SECONDS holds and the printed rate is what was reached.
        while sent + refused < due && Instant::now() < end {
            let count = ((due - sent - refused) as usize).min(plan.batch);
            let socket = &sockets[turn % sockets.len()];
            turn += 1;
            match sendmmsg(socket, &mut messages[..count], SendFlags::empty()) {
                // A partial batch stopped at a full queue: the rest is counted as
                // refused, not retried, so the pace stays the pace.
                Ok(accepted) => {
                    sent += accepted as u64;
                    refused += (count - accepted) as u64;
                }
                Err(_) => refused += count as u64,
            }
        }
        next += TICK;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    (sent, refused, start.elapsed().as_secs_f64())
}
