//! The TUI's flight recorder: the last minutes of the event stream, kept as journal
//! segments in memory on a thread of their own, and `E`'s incident bundle — a
//! directory with the snapshot (JSON and Markdown) and the journal of those minutes.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

use netlens_collectors::Event;
use netlens_collectors::clock::Mono;
use netlens_collectors::journal::{MemorySink, Writer, segment_name};
use netlens_collectors::snapshot::{Snapshot, SnapshotCapture};

use crate::export;

/// Events waiting for the recorder thread at most; past it they are counted as lost
/// (the recorder never slows the screen down).
const QUEUE: usize = 65_536;

/// The result of a bundle, sent back to the app.
pub type BundleResult = Result<PathBuf, String>;

enum Message {
    Event(Box<Event>),
    Bundle { capture: Box<SnapshotCapture>, dir: PathBuf, reply: tokio::sync::mpsc::Sender<BundleResult> },
}

/// The handle the app keeps.
pub struct FlightRecorder {
    queue: SyncSender<Message>,
    lost: u64,
}

impl FlightRecorder {
    /// Start keeping `record.flight_recorder` of the session (`None` when that is
    /// zero, or when the thread cannot start).
    pub fn start(settings: &crate::config::Settings) -> Option<Self> {
        let window = settings.flight_recorder;
        if window.is_zero() {
            return None;
        }
        let (queue, events) = std::sync::mpsc::sync_channel(QUEUE);
        let (header, store) = crate::record_command::start(settings);
        let (sink, options) = netlens_collectors::journal::flight_recorder(window);
        let writer = Writer::new(sink, header, options, store);
        std::thread::Builder::new()
            .name("flight-recorder".into())
            .spawn(move || run(writer, &events))
            .ok()?;
        Some(Self { queue, lost: 0 })
    }

    /// Keep `event` (a copy).
    pub fn record(&mut self, event: &Event) {
        match self.queue.try_send(Message::Event(Box::new(event.clone()))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => self.lost += 1,
        }
    }

    /// Events that could not be kept (the thread fell behind or stopped).
    pub const fn lost(&self) -> u64 {
        self.lost
    }

    /// Write a bundle of the snapshot `capture` and the recorded minutes into a new
    /// directory in `dir`, on the recorder's thread; the result comes back on `reply`.
    pub fn bundle(
        &self,
        capture: SnapshotCapture,
        dir: PathBuf,
        reply: tokio::sync::mpsc::Sender<BundleResult>,
    ) -> Result<(), String> {
        self.queue
            .try_send(Message::Bundle { capture: Box::new(capture), dir, reply })
            .map_err(|_| "the flight recorder is busy or stopped; try again".to_owned())
    }
}

fn run(mut writer: Writer<MemorySink>, messages: &Receiver<Message>) {
    // A write to memory does not fail; a bundle's errors go back to the app.
    loop {
        match messages.recv_timeout(Duration::from_secs(1)) {
            Ok(Message::Event(event)) => {
                let _ = writer.write(*event);
            }
            Ok(Message::Bundle { capture, dir, reply }) => {
                let _ = writer.flush();
                let result = write_bundle(&capture.into_snapshot(), &dir, &writer);
                let _ = reply.blocking_send(result);
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = writer.tick(Mono::now());
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// `DIR/netlens-incident-<time>/` with `snapshot.json`, `snapshot.md` and
/// `journal/<segments>`, made new (never into something already there).
fn write_bundle(doc: &Snapshot, dir: &Path, writer: &Writer<MemorySink>) -> BundleResult {
    use std::os::unix::fs::DirBuilderExt as _;
    let make = |path: &Path| std::fs::DirBuilder::new().mode(0o700).create(path);
    let name = export::bundle_name(doc.taken_at);
    // Two bundles in one second get -2, -3, … rather than one inside the other.
    let mut bundle = dir.join(&name);
    let mut attempt = 1;
    loop {
        match make(&bundle) {
            Ok(()) => break,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
                bundle = dir.join(format!("{name}-{attempt}"));
            }
            Err(error) => return Err(format!("cannot create {}: {error}", bundle.display())),
        }
    }
    let journal = bundle.join("journal");
    make(&journal).map_err(|error| format!("cannot create {}: {error}", journal.display()))?;
    let write = |path: PathBuf,
                 render: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>|
     -> Result<(), String> {
        let mut bytes = Vec::new();
        render(&mut bytes).map_err(|error| error.to_string())?;
        write_new(&path, &bytes)
    };
    write(bundle.join("snapshot.json"), &|out| export::write_json(doc, out))?;
    write(bundle.join("snapshot.md"), &|out| export::write_markdown(doc, out))?;
    for segment in writer.sink().segments() {
        write_new(&journal.join(segment_name(&segment.header)), &segment.bytes)?;
    }
    Ok(std::fs::canonicalize(&bundle).unwrap_or(bundle))
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}
