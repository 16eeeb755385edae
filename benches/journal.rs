//! The journal's budgets (issue 14) on the synthetic hour of a busy host
//! (`common/synthetic_host.rs`), as the live sources would send it.
//!
//! First a report: bytes on disk (keyframe and event frames apart) and the writer's
//! time, per cent of a core, with keyframes every 300 s, 120 s (the default) and 60 s.
//! - `journal_seek/keyframe_{300,120,60}s`: open, start a replay and seek to the worst
//!   time, just before a keyframe: a whole interval of events to fold.
//! - `journal_replay/hour_10min`: fold ten minutes of the hour step by step;
//!   `{sockets_only,small_events}_10min`: the same minutes recorded apart, only the
//!   socket events (tables, closes, owners) or only the others.
//!
//! Run with `cargo bench --bench journal`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use netlens_collectors::journal::{FileSink, Journal, JournalHeader, Replay, Writer, WriterOptions};
use netlens_collectors::model::Timestamp;
use netlens_collectors::{Event, Payload, Store};

#[path = "common/synthetic_host.rs"]
mod synthetic_host;

use synthetic_host::{HOUR, Host, START};

/// The replay benchmarks' slice: from the keyframe at 20 minutes (default options).
const SLICE_START: u32 = 1200;
const SLICE: u32 = 600;

/// Which events a recording gets: all of the hour, or those of the slice that are
/// (or are not) socket events.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Hour,
    Sockets,
    Small,
}

impl Part {
    fn keeps(self, s: u32, event: &Event) -> bool {
        use Payload::{SocketOwners, Sockets, SocketsClosed};
        let sockets = matches!(event.payload, Sockets(_) | SocketsClosed(_) | SocketOwners(_));
        self == Self::Hour
            || ((SLICE_START..SLICE_START + SLICE).contains(&s) && sockets == (self == Self::Sockets))
    }
}

/// One journal being written, and what writing it cost.
struct Recording {
    name: &'static str,
    path: PathBuf,
    part: Part,
    writer: Option<Writer<FileSink>>,
    /// CPU time in `Writer::write` and `finish`, with the clone of each event the
    /// recorder must make (the app's store consumes the original).
    cpu: Duration,
    events: u64,
}

impl Recording {
    fn new(dir: &Path, name: &'static str, part: Part, keyframe_every: u64) -> Self {
        let path = dir.join(format!("{name}.nlj"));
        let sink = FileSink::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (netlens_version, host, netns) = ("bench".into(), "bench".into(), None);
        let (recording_started_at, segment, segment_started_at) = (START, 0, START);
        let header =
            JournalHeader { netlens_version, host, netns, recording_started_at, segment, segment_started_at };
        let options =
            WriterOptions { keyframe_every: Duration::from_secs(keyframe_every), ..WriterOptions::default() };
        let writer = Some(Writer::new(sink, header, options, Store::default()));
        Self { name, path, part, writer, cpu: Duration::ZERO, events: 0 }
    }

    fn feed(&mut self, s: u32, events: &[Event]) {
        let Some(writer) = &mut self.writer else { return };
        let cpu = thread_cpu();
        for event in events.iter().filter(|event| self.part.keeps(s, event)) {
            writer.write(event.clone()).unwrap_or_else(|e| panic!("{e}"));
            self.events += 1;
        }
        self.cpu += thread_cpu().saturating_sub(cpu);
    }

    fn finish(&mut self) {
        let cpu = thread_cpu();
        if let Some(writer) = self.writer.take() {
            writer.finish("bench done").unwrap_or_else(|e| panic!("{e}"));
        }
        self.cpu += thread_cpu().saturating_sub(cpu);
    }
}

/// CPU time of this thread (`schedstat` is exact over many scheduler ticks).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(text.split_whitespace().next().and_then(|field| field.parse().ok()).unwrap_or(0))
}

/// Frames and bytes (headers included) of each kind — header, keyframe, events,
/// end — read from the frame headers as docs/journal.md lays them out.
fn frames(path: &Path) -> [(u64, u64); 4] {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut split = [(0, 0); 4];
    let mut at = 12;
    while at + 52 <= bytes.len() {
        let kind = usize::from(bytes[at + 4]).min(3);
        let len = u32::from_le_bytes([bytes[at + 8], bytes[at + 9], bytes[at + 10], bytes[at + 11]]) as usize;
        split[kind].0 += 1;
        split[kind].1 += (52 + len) as u64;
        at += 52 + len;
    }
    split
}

/// What the benchmarks share: the journals, and where the slice is in the hour.
struct Fixture {
    _dir: tempfile::TempDir,
    recordings: Vec<Recording>,
    /// Events before [`SLICE_START`], and in the slice.
    before_slice: u64,
    slice_events: u64,
}

impl Fixture {
    fn build() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut recordings = vec![
            Recording::new(dir.path(), "keyframe_300s", Part::Hour, 300),
            Recording::new(dir.path(), "keyframe_120s", Part::Hour, 120),
            Recording::new(dir.path(), "keyframe_60s", Part::Hour, 60),
            Recording::new(dir.path(), "sockets_only_10min", Part::Sockets, 300),
            Recording::new(dir.path(), "small_events_10min", Part::Small, 300),
        ];
        let mut host = Host::new();
        let (mut before_slice, mut slice_events) = (0, 0);
        let (cpu, wall) = (thread_cpu(), Instant::now());
        for s in 0..HOUR {
            let events = host.second(s);
            if s < SLICE_START {
                before_slice += events.len() as u64;
            } else if s < SLICE_START + SLICE {
                slice_events += events.len() as u64;
            }
            for recording in &mut recordings {
                recording.feed(s, &events);
            }
            if s + 1 == SLICE_START + SLICE {
                recordings.iter_mut().skip(3).for_each(Recording::finish);
            }
        }
        recordings.iter_mut().for_each(Recording::finish);
        let (wall, cpu) = (wall.elapsed().as_secs_f64(), thread_cpu().saturating_sub(cpu).as_secs_f64());
        println!("journal: the hour made and recorded in {wall:.1} s ({cpu:.1} s CPU)");
        Self { _dir: dir, recordings, before_slice, slice_events }
    }

    fn path(&self, name: &str) -> &Path {
        &self.recordings.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("{name}")).path
    }

    fn journal(&self, name: &str) -> Journal {
        Journal::open(self.path(name)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The size report, printed once.
    fn report(&self) {
        for recording in &self.recordings {
            let [_, keyframes, events, _] = frames(&recording.path);
            let total = std::fs::metadata(&recording.path).map_or(0, |meta| meta.len());
            let seconds = if recording.part == Part::Hour { HOUR } else { SLICE };
            let (mb, cpu) = (|bytes: u64| bytes as f64 / 1e6, recording.cpu.as_secs_f64());
            println!(
                "journal {:<18} {:>5} events {:>8} B = {:5.2} MB; keyframes {:>2} = {:5.2} MB, event frames {:>4} \
                 = {:5.2} MB; writer {:.2} s CPU = {:.3} % of a core",
                recording.name,
                recording.events,
                total,
                mb(total),
                keyframes.0,
                mb(keyframes.1),
                events.0,
                mb(events.1),
                cpu,
                cpu / f64::from(seconds) * 100.0,
            );
        }
    }

    /// The worst time to seek to in `name`: the last event but one before its last
    /// keyframe, so the seek starts at the keyframe before and folds a whole interval.
    fn worst_seek(&self, name: &str) -> (Timestamp, u64) {
        let journal = self.journal(name);
        let keyframes: Vec<u64> = journal.keyframe_positions().collect();
        let (before, last) = (keyframes[keyframes.len() - 2], keyframes[keyframes.len() - 1]);
        let mut replay = Replay::new(&journal).unwrap_or_else(|e| panic!("{e}"));
        replay.seek_index(last - 1).unwrap_or_else(|e| panic!("{e}"));
        let at = replay.at().unwrap_or_else(|| panic!("no time"));
        (at, last - 1 - before)
    }
}

/// A seek as `netlens replay` makes it: open, start, jump.
fn seek(path: &Path, at: Timestamp) -> u64 {
    let journal = Journal::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut replay = Replay::new(&journal).unwrap_or_else(|e| panic!("{e}"));
    replay.seek_time(at).unwrap_or_else(|e| panic!("{e}"));
    replay.position()
}

fn seeks(c: &mut Criterion, fixture: &Fixture) {
    let mut group = c.benchmark_group("journal_seek");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    for name in ["keyframe_300s", "keyframe_120s", "keyframe_60s"] {
        let (at, folded) = fixture.worst_seek(name);
        println!("journal {name}: the worst seek folds {folded} events after its keyframe");
        group.bench_function(name, |b| b.iter(|| seek(fixture.path(name), at)));
    }
    group.finish();
}

fn replays(c: &mut Criterion, fixture: &Fixture) {
    let hour = fixture.journal("keyframe_300s");
    assert!(hour.keyframe_positions().any(|at| at == fixture.before_slice), "no keyframe at the slice");
    let (sockets, small) = (fixture.journal("sockets_only_10min"), fixture.journal("small_events_10min"));
    let mut group = c.benchmark_group("journal_replay");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(10));
    // `count` events folded one by one from event `from`.
    let mut steps = |name: &str, journal: &Journal, from: u64, count: u64| {
        group.throughput(Throughput::Elements(count));
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut replay = Replay::new(journal).unwrap_or_else(|e| panic!("{e}"));
                    replay.seek_index(from).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(replay.position(), from);
                    replay
                },
                |mut replay| {
                    for _ in 0..count {
                        assert!(replay.step().unwrap_or_else(|e| panic!("{e}")));
                    }
                    replay
                },
                BatchSize::PerIteration,
            );
        });
    };
    steps("hour_10min", &hour, fixture.before_slice, fixture.slice_events);
    steps("sockets_only_10min", &sockets, 0, sockets.events());
    steps("small_events_10min", &small, 0, small.events());
    group.finish();
}

fn main() {
    let fixture = Fixture::build();
    fixture.report();
    let mut criterion = Criterion::default().configure_from_args();
    seeks(&mut criterion, &fixture);
    replays(&mut criterion, &fixture);
    criterion.final_summary();
}
