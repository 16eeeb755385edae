//! `netlens record`: the TUI's collectors, headless, with every event written to a
//! journal until SIGINT, SIGTERM, `--duration` or `--max-size`.

use std::io::IsTerminal as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netlens_collectors::Store;
use netlens_collectors::clock::Mono;
use netlens_collectors::journal::{DirSink, FileSink, JournalHeader, Sink, Writer, WriterOptions};
use netlens_collectors::model::Timestamp;

use crate::cli::RecordArgs;
use crate::collect;
use crate::config::Settings;
use crate::signals::StopSignals;

/// A directory keeps at most this much unless `--max-size` says otherwise.
const DIR_DEFAULT_MAX: u64 = 1 << 30;

/// A directory's segments start anew after this long.
const SEGMENT_AGE: Duration = Duration::from_secs(600);

/// Where the journal goes, opened before privileges are dropped (the sandbox then
/// allows writing exactly there).
pub enum Target {
    /// One file, created new.
    File(PathBuf, FileSink),
    /// Standard output (a pipe or a file, never a terminal).
    Stdout(FileSink),
    /// A directory of segments.
    Dir(PathBuf, DirSink),
}

/// The recording could not go on (the disk filled, …): what was written is kept.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Stopped(String);

/// Whether `path` names a directory: one that exists, or a name ending in `/`.
fn names_dir(path: &Path) -> bool {
    path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/')
}

/// Open the journal's destination for `args`.
///
/// # Errors
/// A message for the user (exit 2): the file exists, the directory cannot be made, …
pub fn open(args: &RecordArgs) -> Result<Target, String> {
    let path = &args.output;
    if path.as_os_str() == "-" {
        if std::io::stdout().is_terminal() {
            return Err("-o -: a journal is binary; redirect standard output to a file or a pipe".into());
        }
        return Ok(Target::Stdout(FileSink::stream(Box::new(std::io::stdout()))));
    }
    if names_dir(path) {
        let max = args.max_size.unwrap_or(DIR_DEFAULT_MAX);
        return DirSink::open(path, max)
            .map(|sink| Target::Dir(path.clone(), sink))
            .map_err(|error| format!("cannot record into directory {}: {error}", path.display()));
    }
    // A device or FIFO (`/dev/null`, a named pipe to a compressor) is written in place,
    // as `snapshot -o` does: there is no file there to overwrite.
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::FileTypeExt as _;
        let kind = meta.file_type();
        if kind.is_char_device() || kind.is_fifo() || kind.is_socket() {
            let out = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
            return Ok(Target::File(path.clone(), FileSink::stream(Box::new(out))));
        }
    }
    FileSink::create(path).map(|sink| Target::File(path.clone(), sink)).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            format!(
                "{} exists: netlens record never overwrites a file; remove it, name another, or name a directory (DIR/) to record segments into",
                path.display()
            )
        } else {
            format!("cannot create {}: {error}", path.display())
        }
    })
}

/// The header of a recording starting now, and the empty store it folds into (with
/// the config's limits and findings settings): `record` and the flight recorder.
pub fn start(settings: &Settings) -> (JournalHeader, Store) {
    let now = Timestamp::now_utc();
    let header = JournalHeader {
        netlens_version: env!("CARGO_PKG_VERSION").into(),
        host: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map_or_else(|_| "unknown".into(), |name| name.trim().into()),
        netns: settings.netns.clone(),
        recording_started_at: now,
        segment: 0,
        segment_started_at: now,
    };
    let mut store = Store::new(settings.store_limits());
    store.set_findings_config(settings.findings.clone());
    (header, store)
}

/// A directory journal's options for a bound of `max` bytes: segments of 10 minutes
/// or an eighth of the bound (`record -o DIR/` and `daemon --record DIR`).
pub fn dir_options(max: u64) -> WriterOptions {
    WriterOptions {
        segment_bytes: (max / 8).clamp(1 << 20, 64 << 20),
        segment_age: SEGMENT_AGE,
        ..WriterOptions::default()
    }
}

/// Record until a stop; then close the journal and say what it holds.
pub async fn run(settings: &Settings, args: &RecordArgs, target: Target) -> anyhow::Result<()> {
    let (header, store) = start(settings);
    match target {
        Target::File(path, sink) => {
            let writer = Writer::new(sink, header, WriterOptions::default(), store);
            record(settings, args, writer, &path.display().to_string(), args.max_size).await
        }
        Target::Stdout(sink) => {
            let writer = Writer::new(sink, header, WriterOptions::default(), store);
            record(settings, args, writer, "standard output", args.max_size).await
        }
        Target::Dir(path, sink) => {
            let writer =
                Writer::new(sink, header, dir_options(args.max_size.unwrap_or(DIR_DEFAULT_MAX)), store);
            // The directory's bound is kept by rotation, not by stopping.
            record(settings, args, writer, &path.display().to_string(), None).await
        }
    }
}

async fn record<S: Sink>(
    settings: &Settings,
    args: &RecordArgs,
    mut writer: Writer<S>,
    name: &str,
    stop_at: Option<u64>,
) -> anyhow::Result<()> {
    let verbose = std::io::stderr().is_terminal();
    if verbose {
        let until = args
            .duration
            .map_or_else(|| "until Ctrl-C".to_owned(), |d| format!("for {}", crate::duration::format(d)));
        let _ = writeln!(std::io::stderr(), "netlens: recording to {name} {until} …");
    }
    let mut collectors = collect::start(settings, settings.refresh, collect::Purpose::Snapshot);
    let mut stop = StopSignals::install();
    let deadline = args.duration.map(|duration| tokio::time::Instant::now() + duration);
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut events = 0u64;
    let reason = loop {
        tokio::select! {
            maybe = collectors.events.recv() => {
                let Some(event) = maybe else { break "the sources stopped".to_owned() };
                if let Err(error) = writer.write(event) {
                    return Err(stopped(name, &error, &writer));
                }
                events += 1;
                if stop_at.is_some_and(|limit| writer.sink().written() >= limit) {
                    break "reached --max-size".to_owned();
                }
            }
            _ = ticks.tick() => {
                if let Err(error) = writer.tick(Mono::now()) {
                    return Err(stopped(name, &error, &writer));
                }
            }
            () = sleep_until(deadline) => break "--duration reached".to_owned(),
            signal = stop.received() => break signal.describe().to_owned(),
        }
    };
    let sink =
        writer.finish(&reason).map_err(|error| anyhow::anyhow!("closing the journal {name}: {error}"))?;
    if verbose {
        let _ = writeln!(
            std::io::stderr(),
            "netlens: {reason}: {events} events, {} bytes in {name}",
            sink.written()
        );
    }
    Ok(())
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn stopped<S: Sink>(name: &str, error: &std::io::Error, writer: &Writer<S>) -> anyhow::Error {
    let kept = writer.written_until().map_or_else(
        || "nothing was written".to_owned(),
        |at| format!("the journal up to {} is kept", crate::export::rfc3339(at)),
    );
    Stopped(format!("recording stopped: writing {name} failed: {error}; {kept}")).into()
}
