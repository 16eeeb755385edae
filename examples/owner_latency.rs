//! How long a BPF attribution record takes to become a connection's owner in the
//! store, end to end: from the record's kernel timestamp (the connect hook,
//! `CLOCK_BOOTTIME`) to the moment the store has folded the event that gave the
//! connection its owner. Issue 12's budget: ≤ 5 ms at 10,000 connects/s.
//!
//! Runs what netlens runs: the attribution source (the ring reader) and the
//! connections source (`sock_diag` every 1 s, destroy notifications on, the BPF book
//! joined) on a tokio runtime, one channel into a [`Store`] folded on a thread of its
//! own like the app's loop. The load is RATE TCP `connect()`+`close()`s a second to a
//! listener on 127.0.0.1 (a thread accepts and closes), paced in 1 ms ticks: the
//! connections are shorter than a refresh, so their owners reach the store as the
//! destroy listener's `SocketOwners` after its `SocketsClosed`; a socket table
//! naming one is counted too.
//!
//! Each owned connection's delay is split into hops: act → event (close, destroy
//! notification, the listener's read and book join, stamped by the sink), event →
//! received from the channel, received → folded. Records' `at_ns` are read from
//! the book at the end (it keeps owners 30 s), so nothing in the store's model
//! exists for the test.
//!
//! Needs root (loads the programs onto the cgroup v2 root; joins the destroy groups).
//! Usage: `owner_latency [RATE] [SECONDS]` (defaults: 10000/s for 5 s).

#![allow(missing_docs, reason = "an example binary")]

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netlens_collectors::attribution::cgroup::CgroupRoot;
use netlens_collectors::attribution::reader::AttributionSource;
use netlens_collectors::attribution::{self, Availability, boot_ns};
use netlens_collectors::connections::{ConnectionsConfig, ConnectionsSource, WatchHandle, watch};
use netlens_collectors::model::Attribution;
use netlens_collectors::source::spawn_supervised;
use netlens_collectors::{Event, Mono, Payload, Store};
use tokio::sync::mpsc::{self, Receiver};

/// Connects per pacing tick are made back to back, then the generator sleeps.
const TICK: Duration = Duration::from_millis(1);
/// The budget.
const BUDGET_NS: u64 = 5_000_000;

/// When the store learned a connection's owner, `CLOCK_BOOTTIME` ns.
#[derive(Debug, Clone, Copy)]
struct Owned {
    /// The event's own stamp (when its source sent it).
    sent: u64,
    /// When the store's loop took it from the channel.
    received: u64,
    /// When the store had folded it.
    folded: u64,
    /// From a socket table (path a) rather than the destroy listener (path b).
    from_table: bool,
    /// The client's port, from its destroy event.
    port: Option<u16>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().map(|arg| arg.parse()).transpose()?.unwrap_or(10_000);
    let seconds: u64 = args.next().map(|arg| arg.parse()).transpose()?.unwrap_or(5);
    let bpf = match attribution::load(CgroupRoot::find()) {
        Availability::Attached(bpf) => bpf,
        Availability::Unavailable(why) => return Err(why.into()),
    };
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let target = listener.local_addr()?;
    let closes = serve(listener);

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (tx, mut rx) = mpsc::channel(1024);
    // With the socket watch, as netlens loads it: a refresh reads only what changed.
    let watch = Some(watch::load(watch::MARKS_RING_BYTES).map(WatchHandle::new));
    let config = ConnectionsConfig { attribution: Some(bpf.clone()), watch, ..ConnectionsConfig::default() };
    {
        let _entered = runtime.enter();
        spawn_supervised(AttributionSource::new(Availability::Attached(bpf.clone())), tx.clone());
        spawn_supervised(ConnectionsSource::new(config), tx);
    }
    // Events carry the monotonic clock; the records, the boot clock. They differ
    // by a constant while the machine does not suspend.
    let offset = boot_ns() as i64 - Mono::now().as_nanos();
    let stop = Arc::new(AtomicBool::new(false));
    let folding = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || fold(&mut rx, target, offset, &stop))
    };
    // Let the sources start and the first table go by.
    std::thread::sleep(Duration::from_millis(1500));
    let _before = bpf.take_delay();
    let lost_before = bpf.lost();

    let window_start = boot_ns();
    let per_tick = (rate * TICK.as_micros() as u64 / 1_000_000).max(1);
    let (made, failed, elapsed) = generate(target, per_tick, Duration::from_secs(seconds));
    let window_end = boot_ns();
    let book = bpf.take_delay();
    // A refresh (1 s) and stragglers, then stop folding once the channel is empty.
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let (owned, folds) = folding.join().map_err(|_| "the store's thread panicked")?;
    runtime.shutdown_background();

    let acts: HashMap<u64, u64> = bpf
        .owners_of(owned.keys().copied())
        .into_iter()
        .map(|(cookie, owner)| (cookie, owner.at_ns))
        .collect();
    let by_port = by_port(&closes);
    // The server's close of this connection: the last one of its port before the event.
    let closed_at = |hop: &Owned, at: u64| {
        let closes = by_port.get(&hop.port?)?;
        closes.iter().copied().filter(|&close| close >= at && close <= hop.sent).max()
    };
    let mut total = Vec::new();
    let mut to_event = Vec::new();
    let (mut lifetime, mut close_to_store) = (Vec::new(), Vec::new());
    let mut channel = Vec::new();
    let mut fold = Vec::new();
    let mut from_tables = 0;
    for (cookie, hop) in &owned {
        let Some(&at) = acts.get(cookie).filter(|&&at| (window_start..window_end).contains(&at)) else {
            continue;
        };
        total.push(hop.folded.saturating_sub(at));
        to_event.push(hop.sent.saturating_sub(at));
        if let Some(close) = closed_at(hop, at) {
            lifetime.push(close - at);
            close_to_store.push(hop.folded.saturating_sub(close));
        }
        channel.push(hop.received.saturating_sub(hop.sent));
        fold.push(hop.folded.saturating_sub(hop.received));
        from_tables += usize::from(hop.from_table);
    }
    let over = total.iter().filter(|&&ns| ns > BUDGET_NS).count();
    println!(
        "{made} connects in {:.2} s ({:.0}/s, {failed} failed); owned by BPF in the store: {} ({:.1} %), \
         {from_tables} of them from a socket table; records lost to a full ring: {}",
        elapsed.as_secs_f64(),
        made as f64 / elapsed.as_secs_f64(),
        total.len(),
        total.len() as f64 * 100.0 / made.max(1) as f64,
        bpf.lost() - lost_before,
    );
    println!("act → store:    {}", summary(&mut total));
    println!("  act → event:  {}", summary(&mut to_event));
    println!("  channel:      {}", summary(&mut channel));
    println!("  fold:         {}", summary(&mut fold));
    print_closes(&mut lifetime, &mut close_to_store);
    println!(
        "over 5 ms: {over} ({:.2} %); ring → book: {} records, mean {:.3} ms, max {:.3} ms",
        over as f64 * 100.0 / total.len().max(1) as f64,
        book.records,
        book.total_ns as f64 / book.records.max(1) as f64 / 1e6,
        book.max_ns as f64 / 1e6,
    );
    for (kind, folds) in &folds {
        println!(
            "store fold of {kind}: {} events, {} items, mean {:.3} ms, max {:.3} ms",
            folds.events,
            folds.items,
            folds.total_ns as f64 / folds.events.max(1) as f64 / 1e6,
            folds.max_ns as f64 / 1e6,
        );
    }
    Ok(())
}

/// Accept and close connections on `listener`; when the server side closed each, by
/// the client's port. The client's socket is destroyed (and its destroy event sent)
/// only once both ends closed: a connection's life ends at the later of the two
/// closes, here the server's.
fn serve(listener: TcpListener) -> Arc<Mutex<Vec<(u16, u64)>>> {
    let closes: Arc<Mutex<Vec<(u16, u64)>>> = Arc::default();
    let served = Arc::clone(&closes);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let port = stream.peer_addr().map_or(0, |peer| peer.port());
            drop(stream);
            served.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((port, boot_ns()));
        }
    });
    closes
}

/// The server's closes, by the client's port.
fn by_port(closes: &Mutex<Vec<(u16, u64)>>) -> HashMap<u16, Vec<u64>> {
    let mut by_port: HashMap<u16, Vec<u64>> = HashMap::new();
    for &(port, at) in closes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
        by_port.entry(port).or_default().push(at);
    }
    by_port
}

/// The load's own part of the delay (until both ends closed), and netlens's after.
fn print_closes(lifetime: &mut [u64], close_to_store: &mut [u64]) {
    let matched = close_to_store.len();
    let late = close_to_store.iter().filter(|&&ns| ns > BUDGET_NS).count();
    println!("connect → both ends closed (the load's own): {}", summary(lifetime));
    println!(
        "both ends closed → store: {} ({late} over 5 ms, {:.2} %, of {matched} matched by port)",
        summary(close_to_store),
        late as f64 * 100.0 / matched.max(1) as f64
    );
}

/// What the store's folds of one kind of event cost.
#[derive(Debug, Default)]
struct Folds {
    events: u64,
    items: u64,
    total_ns: u64,
    max_ns: u64,
}

impl Folds {
    fn add(&mut self, items: usize, ns: u64) {
        self.events += 1;
        self.items += items as u64;
        self.total_ns += ns;
        self.max_ns = self.max_ns.max(ns);
    }
}

/// The app's loop, reduced (`src/app.rs`): fold every event into a store, a socket
/// table a slice at a time with the events that came meanwhile folded between
/// slices, and note when each client connection to `target` first has a BPF owner
/// there; and what folds and slices cost.
fn fold(
    rx: &mut Receiver<Event>,
    target: SocketAddr,
    offset: i64,
    stop: &AtomicBool,
) -> (HashMap<u64, Owned>, HashMap<&'static str, Folds>) {
    let mut store = Store::default();
    let mut owned: HashMap<u64, Owned> = HashMap::new();
    let mut folds: HashMap<&'static str, Folds> = HashMap::new();
    // A table's owners, looked at once its fold is done.
    let mut tables: Vec<(u64, u64, Vec<u64>)> = Vec::new();
    // Client ports by cookie, from destroy events.
    let mut ports: HashMap<u64, u16> = HashMap::new();
    let mut take = |store: &mut Store,
                    event: Event,
                    tables: &mut Vec<(u64, u64, Vec<u64>)>,
                    owned: &mut HashMap<u64, Owned>| {
        let received = boot_ns();
        let sent = (event.mono.as_nanos() + offset) as u64;
        let (kind, items, candidates): (_, _, Vec<u64>) = match &event.payload {
            Payload::SocketOwners(closed) => {
                ("SocketOwners", closed.owners.len(), closed.owners.iter().map(|owner| owner.0).collect())
            }
            Payload::Sockets(table) => (
                "Sockets (start)",
                table.sockets.len(),
                table.origins.iter().map(|origin| origin.0).collect(),
            ),
            Payload::SocketsClosed(sockets) => {
                for socket in sockets.iter().filter(|socket| socket.remote == target) {
                    ports.insert(socket.cookie, socket.local.port());
                }
                ("SocketsClosed", sockets.len(), Vec::new())
            }
            _ => ("other", 0, Vec::new()),
        };
        store.fold(event);
        let folded = boot_ns();
        folds.entry(kind).or_default().add(items, folded - received);
        if kind.starts_with("Sockets (") {
            tables.push((sent, received, candidates));
        } else {
            let hop = Owned { sent, received, folded, from_table: false, port: None };
            note(store, owned, target, &candidates, hop, &ports);
        }
    };
    let mut slices = Folds::default();
    while let Some(event) = rx.blocking_recv() {
        take(&mut store, event, &mut tables, &mut owned);
        loop {
            for _ in 0..4096 {
                match rx.try_recv() {
                    Ok(event) => take(&mut store, event, &mut tables, &mut owned),
                    Err(_) => break,
                }
            }
            let started = boot_ns();
            let pending = store.work_for(Duration::from_millis(1));
            if store.connections().tables() > 0 {
                slices.add(0, boot_ns() - started);
            }
            if !pending {
                break;
            }
        }
        let folded = boot_ns();
        for (sent, received, candidates) in tables.drain(..) {
            let hop = Owned { sent, received, folded, from_table: true, port: None };
            note(&store, &mut owned, target, &candidates, hop, &HashMap::new());
        }
        // Stop once the backlog is folded: what was late is measured too.
        if stop.load(Ordering::Relaxed) && rx.is_empty() {
            break;
        }
    }
    folds.insert("work slices", slices);
    (owned, folds)
}

/// Note the connections to `target` among `candidates` that have a BPF owner in
/// the store now.
fn note(
    store: &Store,
    owned: &mut HashMap<u64, Owned>,
    target: SocketAddr,
    candidates: &[u64],
    hop: Owned,
    ports: &HashMap<u64, u16>,
) {
    for &cookie in candidates {
        let Some(entry) = store.connections().get(cookie) else { continue };
        let by_bpf = entry.origin.as_ref().is_some_and(|origin| origin.attribution == Attribution::Bpf);
        if by_bpf && entry.socket.remote == target {
            owned.entry(cookie).or_insert(Owned { port: ports.get(&cookie).copied(), ..hop });
        }
    }
}

/// Connect and close `per_tick` times each tick for `length`: connects made, failed,
/// and the time taken.
fn generate(target: SocketAddr, per_tick: u64, length: Duration) -> (u64, u64, Duration) {
    let start = Instant::now();
    let (mut made, mut failed) = (0, 0);
    let mut next = start;
    while start.elapsed() < length {
        for _ in 0..per_tick {
            match TcpStream::connect(target) {
                Ok(stream) => {
                    drop(stream);
                    made += 1;
                }
                Err(_) => failed += 1,
            }
        }
        next += TICK;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    (made, failed, start.elapsed())
}

/// `median m, p90 …, p99 …, max …` in milliseconds (sorts `ns`).
fn summary(ns: &mut [u64]) -> String {
    if ns.is_empty() {
        return "none".to_owned();
    }
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize] as f64 / 1e6;
    format!("median {:.3} ms, p90 {:.3}, p99 {:.3}, max {:.3}", at(0.5), at(0.9), at(0.99), at(1.0))
}
