//! The connections source's hot path (issue 3 budget: one full refresh of 10,000
//! established TCP sockets — dump, parse, attribution, fold — in at most 15 ms of CPU).
//!
//! - `sock_diag_parse/10k_tcp`: parsing a 10,000-socket dump built from a real kernel
//!   reply (the established socket of `collectors/src/connections/fixtures/tcp4.bin`,
//!   repeated with distinct ports and cookies), no I/O.
//! - `refresh/10k_established_loopback` (root only): a whole refresh against 10,000
//!   real sockets — 5,000 loopback pairs held by a helper process in a throwaway
//!   network namespace — followed by the store fold. Afterwards one line sums up 100
//!   more refreshes: wall time per refresh (median, 90th percentile; the refresh is
//!   single-threaded and never sleeps, so this bounds its CPU time; split into reading
//!   the table and folding it) and the mean CPU time (user + system, from
//!   `/proc/thread-self/schedstat`), which criterion does not measure.
//!
//! Run with `cargo bench --bench sockets`. `scripts/compare_ss.py` runs this binary with
//! `NETLENS_SOCKETS_NETNS=<namespace>` to measure against sockets it set up itself:
//! then only the CPU measurement runs, printed as one `netlens_refresh …` line.

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use netlens_collectors::connections::SocketReader;
use netlens_collectors::connections::parse::{self, DumpProgress};
use netlens_collectors::connections::watch::{self, WatchHandle};
use netlens_collectors::model::{Protocol, SourceId};
use netlens_collectors::{Event, Payload, Store};
use nix::sched::{CloneFlags, setns};

const SOCKETS: usize = 10_000;
const PAIRS: usize = SOCKETS / 2;
/// Refreshes timed for the CPU figure.
const SAMPLES: usize = 100;

const TCP4: &[u8] = include_bytes!("../collectors/src/connections/fixtures/tcp4.bin");

/// A dump reply of `count` established IPv4 TCP sockets in kernel-sized datagrams
/// (at most 32 KiB each), ending in `NLMSG_DONE`, from the fixture's client socket.
fn synthetic_dump(count: usize) -> (Vec<u8>, u32) {
    let mut template = None;
    let mut offset = 0;
    for message in parse::messages(TCP4) {
        let length = parse::HEADER_LEN + message.body.len();
        // The client socket, 127.0.0.1:40001 → :5001 (sport is big-endian at body[4..6]).
        if message.kind == parse::SOCK_DIAG_BY_FAMILY && message.body[4..6] == 40_001u16.to_be_bytes() {
            template = Some((TCP4[offset..offset + length].to_vec(), message.sequence));
        }
        offset += (length + 3) & !3;
    }
    let (template, sequence) = template.unwrap_or_else(|| panic!("the fixture lost its client socket"));
    let mut bytes = Vec::with_capacity(count * template.len() + 64);
    for n in 0..count {
        let mut message = template.clone();
        let port = 10_000 + (n % 50_000) as u16;
        // header (16) + family/state/timer/retrans (4) → sport at 20, cookie at 16 + 44.
        message[20..22].copy_from_slice(&port.to_be_bytes());
        message[60..64].copy_from_slice(&(n as u32).to_ne_bytes());
        bytes.extend_from_slice(&message);
    }
    let mut done = 20u32.to_ne_bytes().to_vec();
    done.extend_from_slice(&3u16.to_ne_bytes());
    done.extend_from_slice(&2u16.to_ne_bytes());
    done.extend_from_slice(&sequence.to_ne_bytes());
    done.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&done);
    (bytes, sequence)
}

fn parsing(c: &mut Criterion) {
    let (dump, sequence) = synthetic_dump(SOCKETS);
    let mut group = c.benchmark_group("sock_diag_parse");
    group.throughput(Throughput::Elements(SOCKETS as u64));
    group.bench_function("10k_tcp", |b| {
        b.iter_batched(
            || Vec::with_capacity(SOCKETS),
            |mut sockets| {
                let mut progress = DumpProgress::default();
                parse::dump_datagram(black_box(&dump), sequence, Protocol::Tcp, &mut sockets, &mut progress);
                assert!(progress.finished && sockets.len() == SOCKETS);
                sockets
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// A namespace holding 5,000 established loopback pairs, owned by a helper process;
/// everything is torn down on drop.
struct Loopback {
    name: String,
    helper: Option<Child>,
}

/// Holds the pairs: raises its own descriptor limit, connects, says `ready`, waits
/// for its stdin to close.
const HELPER: &str = r#"
import resource, socket, sys
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (2 * n + 64, 2 * n + 64))
listener = socket.socket()
listener.bind(("127.0.0.1", 7000))
listener.listen(4096)
held = []
for _ in range(n):
    client = socket.create_connection(("127.0.0.1", 7000))
    server, _ = listener.accept()
    client.sendall(b"x" * 100)
    server.recv(100)
    held += [client, server]
listener.close()
print("ready", flush=True)
sys.stdin.read()
"#;

impl Loopback {
    fn create(pairs: usize) -> Result<Self, String> {
        let name = format!("nlbench-{}", std::process::id());
        run("ip", &["netns", "add", &name])?;
        let mut this = Self { name, helper: None };
        run("ip", &["-n", &this.name, "link", "set", "lo", "up"])?;
        let helper = this.helper.insert(
            Command::new("ip")
                .args(["netns", "exec", &this.name, "python3", "-c", HELPER, &pairs.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|error| format!("python3: {error}"))?,
        );
        let stdout = helper.stdout.take().ok_or("no helper stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map_err(|error| error.to_string())?;
        if line.trim() != "ready" {
            return Err(format!("the pair helper said {line:?}"));
        }
        Ok(this)
    }

    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        if let Some(mut helper) = self.helper.take() {
            drop(helper.stdin.take());
            let _ = helper.kill();
            let _ = helper.wait();
        }
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program).args(args).output().map_err(|error| format!("{program}: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// A reader whose `sock_diag` socket lives in the namespace at `path` (the socket
/// keeps its namespace whichever thread uses it).
fn reader_in(path: PathBuf) -> SocketReader {
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        SocketReader::open(PathBuf::from("/proc")).unwrap_or_else(|error| panic!("sock_diag: {error}"))
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// One refresh as the app does it: read the table, fold it into the store.
fn refresh(reader: &mut SocketReader, store: &mut Store) -> usize {
    let table = reader.read().unwrap_or_else(|error| panic!("refresh: {error}"));
    let count = table.sockets.len();
    store.apply(Event::now(SourceId::Connections, Payload::Sockets(table)));
    count
}

/// This thread's CPU time so far (user + system), from the scheduler's own account.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = text.split_whitespace().next().and_then(|field| field.parse().ok()).unwrap_or(0);
    Duration::from_nanos(nanos)
}

fn percentile(sorted: &[Duration], at: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * at).round() as usize]
}

/// What `samples` timed refreshes cost.
struct Timing {
    sockets: usize,
    /// Wall time of each refresh, sorted. The refresh runs on this one thread and
    /// never sleeps, so this bounds its CPU time from above.
    wall: Vec<Duration>,
    /// The part of each refresh spent reading the table (dump, parse, owners), sorted.
    read: Vec<Duration>,
    /// The part spent folding it into the store, sorted.
    fold: Vec<Duration>,
    /// CPU time of the whole run. `schedstat` is only brought up to date at scheduler
    /// ticks, so it is exact over many refreshes, not for one.
    cpu_total: Duration,
}

/// Time `samples` refreshes after a warm-up (the first refresh walks `/proc` to learn
/// the owners; later ones use the cache, as in steady state).
fn measure(reader: &mut SocketReader, store: &mut Store, samples: usize) -> Timing {
    let mut sockets = 0;
    for _ in 0..3 {
        sockets = refresh(reader, store);
    }
    let mut timing = Timing {
        sockets,
        wall: Vec::with_capacity(samples),
        read: Vec::with_capacity(samples),
        fold: Vec::with_capacity(samples),
        cpu_total: Duration::ZERO,
    };
    let cpu_start = thread_cpu();
    for _ in 0..samples {
        let start = Instant::now();
        let table = reader.read().unwrap_or_else(|error| panic!("refresh: {error}"));
        let read = start.elapsed();
        timing.sockets = table.sockets.len() + table.unchanged.len();
        store.apply(Event::now(SourceId::Connections, Payload::Sockets(table)));
        let wall = start.elapsed();
        timing.wall.push(wall);
        timing.read.push(read);
        timing.fold.push(wall.saturating_sub(read));
    }
    timing.cpu_total = thread_cpu().saturating_sub(cpu_start);
    for series in [&mut timing.wall, &mut timing.read, &mut timing.fold] {
        series.sort_unstable();
    }
    timing
}

fn report(timing: &Timing) {
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    let samples = timing.wall.len().max(1);
    println!(
        "netlens_refresh sockets={} samples={samples} wall_median_ms={:.3} wall_p90_ms={:.3} cpu_mean_ms={:.3} \
         read_median_ms={:.3} fold_median_ms={:.3}",
        timing.sockets,
        ms(percentile(&timing.wall, 0.5)),
        ms(percentile(&timing.wall, 0.9)),
        ms(timing.cpu_total) / samples as f64,
        ms(percentile(&timing.read, 0.5)),
        ms(percentile(&timing.fold, 0.5)),
    );
}

fn full_refresh(c: &mut Criterion) {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("refresh/10k_established_loopback skipped: needs root (a network namespace)");
        return;
    }
    let loopback = match Loopback::create(PAIRS) {
        Ok(loopback) => loopback,
        Err(error) => {
            eprintln!("refresh/10k_established_loopback skipped: {error}");
            return;
        }
    };
    let mut reader = reader_in(loopback.path());
    let mut store = Store::default();
    let count = refresh(&mut reader, &mut store);
    assert!(count >= SOCKETS, "expected the pairs, got {count} sockets");
    let mut group = c.benchmark_group("refresh");
    group.throughput(Throughput::Elements(count as u64));
    group.sample_size(50);
    group.bench_function("10k_established_loopback", |b| b.iter(|| refresh(&mut reader, &mut store)));
    group.finish();
    report(&measure(&mut reader, &mut store, SAMPLES));
    watched_refresh(loopback.path());
}

/// The same refreshes with the BPF socket watch: the iterator lists the sockets of
/// the namespace of the thread that walks, so the whole run happens in a thread
/// inside the namespace. Nothing moves between refreshes here, so after the first
/// (full) one each reads no socket again: the walk, the UDP dump and the fold of
/// 10,000 unchanged sockets. Every 30th is a full dump, as in the app.
fn watched_refresh(path: PathBuf) {
    let watch = match watch::load(watch::MARKS_RING_BYTES) {
        Ok(watch) => WatchHandle::new(watch),
        Err(why) => {
            eprintln!("refresh with the socket watch skipped: {why}");
            return;
        }
    };
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        let mut reader = SocketReader::open(PathBuf::from("/proc"))
            .unwrap_or_else(|error| panic!("sock_diag: {error}"))
            .with_watch(Some(watch));
        let mut store = Store::default();
        print!("watched ");
        report(&measure(&mut reader, &mut store, SAMPLES));
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

fn main() {
    if let Ok(name) = std::env::var("NETLENS_SOCKETS_NETNS") {
        let samples =
            std::env::var("NETLENS_SOCKETS_SAMPLES").ok().and_then(|n| n.parse().ok()).unwrap_or(SAMPLES);
        let mut reader = reader_in(PathBuf::from("/run/netns").join(name));
        let mut store = Store::default();
        report(&measure(&mut reader, &mut store, samples));
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    parsing(&mut criterion);
    full_refresh(&mut criterion);
    criterion.final_summary();
}
