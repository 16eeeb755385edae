//! How long a BPF attribution record takes to reach the owner book: from the
//! record's kernel timestamp (taken in the connect hook) to its fold into the book
//! by the attribution source's reader (woken by epoll; the BPF side wakes it at most
//! once a millisecond, and it drains once more when no wakeup follows within 1 ms). Consumers
//! drain before they join, so this is the worst a join can see without draining.
//!
//! Needs root (loads and attaches the programs to the cgroup v2 root). Makes RATE
//! connected-UDP `connect()`s a second (to 127.0.0.1:9: no packet is sent) for
//! SECONDS and prints the delays and the records lost to a full ring.
//!
//! Usage: `attribution_latency [RATE] [SECONDS]` (defaults: 10000/s for 5 s).

#![allow(missing_docs, reason = "an example binary")]

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use netlens_collectors::attribution::cgroup::CgroupRoot;
use netlens_collectors::attribution::reader::AttributionSource;
use netlens_collectors::attribution::{self, Availability};
use netlens_collectors::model::SourceId;
use netlens_collectors::source::{EventSink, Source as _};

/// Connects per pacing tick.
const TICK: Duration = Duration::from_millis(1);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().map(|arg| arg.parse()).transpose()?.unwrap_or(10_000);
    let seconds: u64 = args.next().map(|arg| arg.parse()).transpose()?.unwrap_or(5);
    let bpf = match attribution::load(CgroupRoot::find()) {
        Availability::Attached(bpf) => bpf,
        Availability::Unavailable(why) => return Err(why.into()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let reader = {
        let mut source = AttributionSource::new(Availability::Attached(bpf.clone()));
        let sink = EventSink::new(SourceId::Attribution, tx);
        runtime.spawn(async move {
            let _ = source.run(&sink).await;
        })
    };
    runtime.spawn(async move { while rx.recv().await.is_some() {} });
    // Let the reader register, then forget what came before.
    std::thread::sleep(Duration::from_millis(100));
    let _before = bpf.take_delay();

    let per_tick = (rate * TICK.as_micros() as u64 / 1_000_000).max(1);
    let start = Instant::now();
    let mut made = 0u64;
    let mut next = start;
    while start.elapsed() < Duration::from_secs(seconds) {
        for _ in 0..per_tick {
            let socket = UdpSocket::bind("127.0.0.1:0")?;
            socket.connect("127.0.0.1:9")?;
            made += 1;
        }
        next += TICK;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let elapsed = start.elapsed();
    // The last records wait for the settle drain.
    std::thread::sleep(Duration::from_millis(20));
    let delay = bpf.take_delay();
    reader.abort();
    println!(
        "{made} connects in {:.2} s ({:.0}/s): {} records folded by the reader; \
         delay event → book: mean {:.3} ms, max {:.3} ms, over 5 ms: {} ({:.2} %); lost to a full ring: {}",
        elapsed.as_secs_f64(),
        made as f64 / elapsed.as_secs_f64(),
        delay.records,
        delay.total_ns as f64 / delay.records.max(1) as f64 / 1e6,
        delay.max_ns as f64 / 1e6,
        delay.over_5ms,
        delay.over_5ms as f64 * 100.0 / delay.records.max(1) as f64,
        bpf.lost(),
    );
    Ok(())
}
