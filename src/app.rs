//! The TUI: one task owns the store and the UI state and multiplexes terminal input,
//! collector events, export results, redraws and signals in one `select!` loop
//! (DESIGN.md §3). Drawing happens only when something changed, capped at the
//! configured frame rate.

use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt as _;
use netlens_collectors::dns::source::DnsControl;
use netlens_collectors::model::{SourceId, TimelineKind, Timestamp};
use netlens_collectors::paths::source::PathsControl;
use netlens_collectors::snapshot::SnapshotCapture;
use netlens_collectors::{Event, Notice, Payload, Store};
use netlens_ui::{Command, Keymap, StatusLevel, Theme, UiState};
use ratatui::crossterm::event::EventStream;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::collect;
use crate::config::Settings;
use crate::export;
use crate::flight_recorder::FlightRecorder;
use crate::output;
use crate::terminal::TerminalGuard;

/// At most this many queued events are folded before the loop looks at input again
/// (or goes on with a pending fold).
const FOLD_BATCH: usize = 4096;

/// A pending fold goes on this long before the events that came meanwhile are folded:
/// an owner waits at most about this, not a whole table (issue 12's budget is 5 ms).
const FOLD_SLICE: Duration = Duration::from_millis(1);

/// Redraw at least this often, so relative times ("3s ago") stay true; periodic
/// samples (counters, usage) are also drawn no more often than this.
const IDLE_REDRAW: Duration = Duration::from_secs(1);

/// How soon a change must reach the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Redraw {
    /// Nothing changed.
    None,
    /// Periodic samples or the clock: within [`IDLE_REDRAW`] of the last frame.
    Soon,
    /// A real change or a key press: at the frame-rate cap.
    Now,
}

/// Periodic samples refresh numbers on screen; everything else is news.
const fn urgency(payload: &Payload) -> Redraw {
    match payload {
        Payload::Counters(_)
        | Payload::SelfUsage(_)
        | Payload::System(_)
        | Payload::Sockets(_)
        | Payload::Flows(_)
        | Payload::Capture(_)
        | Payload::Names(_)
        | Payload::Kernel(_) => Redraw::Soon,
        Payload::Network(_)
        | Payload::Notices(_)
        | Payload::Status(_)
        | Payload::SocketsClosed(_)
        | Payload::SocketOwners(_)
        | Payload::Paths(_)
        | Payload::RouteLookup(_)
        | Payload::DnsConfig(_)
        | Payload::DnsTrace(_)
        | Payload::DnsQueries(_)
        | Payload::Dns64(_) => Redraw::Now,
    }
}

/// Fold `first` and the events queued behind it, then evaluate the findings; how
/// urgently the screen should show them. A socket table is folded a slice at a time,
/// with the events that came meanwhile (closes, owners) folded between slices; it is
/// finished before anything reads the store.
fn fold_burst(
    store: &mut Store,
    events: &mut mpsc::Receiver<Event>,
    first: Event,
    recorder: &mut Option<FlightRecorder>,
) -> Redraw {
    let mut urgent = urgency(&first.payload);
    record(recorder, &first);
    store.fold(first);
    loop {
        for _ in 0..FOLD_BATCH {
            match events.try_recv() {
                Ok(event) => {
                    urgent = urgent.max(urgency(&event.payload));
                    record(recorder, &event);
                    store.fold(event);
                }
                Err(_) => break,
            }
        }
        if !store.work_for(FOLD_SLICE) {
            break;
        }
    }
    // Bounded inside: at most one evaluation per period, however many events.
    store.evaluate_findings(netlens_collectors::clock::Stamp::now());
    urgent
}

/// Say what an export or a bundle came to: on the status line and on the timeline
/// (the flight recorder keeps that line too).
fn announce(
    store: &mut Store,
    recorder: &mut Option<FlightRecorder>,
    ui: &mut UiState,
    (level, subject, text): (StatusLevel, &str, String),
) {
    ui.set_status(text.clone(), level, Timestamp::now_utc());
    let notice = Notice::new(TimelineKind::Export, subject, text);
    let event = Event::now(SourceId::App, Payload::Notices(vec![notice]));
    record(recorder, &event);
    store.apply(event);
}

/// Keep a copy of `event` in the flight recorder, when one runs.
fn record(recorder: &mut Option<FlightRecorder>, event: &Event) {
    if let Some(recorder) = recorder {
        recorder.record(event);
    }
}

/// `E`: hand the snapshot of the live store and the recorded minutes to the flight
/// recorder's thread, which writes the bundle; its path comes back on `done`.
fn start_bundle(
    recorder: Option<&FlightRecorder>,
    store: &Store,
    settings: &Settings,
    ui: &mut UiState,
    done: mpsc::Sender<ExportResult>,
) {
    let Some(recorder) = recorder else {
        let text = "the flight recorder is off (record.flight_recorder = \"0s\" in the config)";
        ui.set_status(text, StatusLevel::Warning, Timestamp::now_utc());
        return;
    };
    let capture = SnapshotCapture::take(store, Timestamp::now_utc());
    match recorder.bundle(capture, settings.export_dir.clone(), done) {
        Ok(()) if recorder.lost() > 0 => {
            let text = format!("writing the incident bundle… ({} events could not be kept)", recorder.lost());
            ui.set_status(text, StatusLevel::Warning, Timestamp::now_utc());
        }
        Ok(()) => ui.set_status("writing the incident bundle…", StatusLevel::Info, Timestamp::now_utc()),
        Err(error) => ui.set_status(error, StatusLevel::Warning, Timestamp::now_utc()),
    }
}

/// Set (to anything) to make the TUI panic right after its first frame: how the
/// end-to-end tests check that a panic leaves the terminal usable.
const PANIC_TEST_VARIABLE: &str = "NETLENS_PANIC_AFTER_FIRST_FRAME";

/// The result of an export, sent back from the blocking writer.
type ExportResult = Result<std::path::PathBuf, String>;

/// Run the TUI until the user quits or a signal arrives.
pub async fn run(
    settings: Settings,
    theme: Theme,
    keymap: Keymap,
    startup_notices: Vec<Notice>,
) -> anyhow::Result<()> {
    let mut store = Store::new(settings.store_limits());
    store.set_findings_config(settings.findings.clone());
    let mut recorder = FlightRecorder::start(&settings);
    if !startup_notices.is_empty() {
        let event = Event::now(SourceId::App, Payload::Notices(startup_notices));
        record(&mut recorder, &event);
        store.apply(event);
    }
    let mut collectors = collect::start(&settings, settings.refresh, collect::Purpose::Interactive);
    let mut ui = UiState::with_keymap(&keymap);
    let mut frozen: Option<Store> = None;

    let mut guard = TerminalGuard::enter().context("cannot set up the terminal (is this a TTY?)")?;
    let mut input = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let (export_tx, mut export_rx) = mpsc::channel::<ExportResult>(4);
    let (bundle_tx, mut bundle_rx) = mpsc::channel::<ExportResult>(4);

    let frame_interval = Duration::from_secs(1) / settings.max_fps.max(1);
    if let Ok(size) = guard.terminal().and_then(|terminal| terminal.size()) {
        netlens_ui::update(&mut ui, &store, netlens_ui::Action::Resize(size.width, size.height));
    }
    let mut last_draw = Instant::now();
    let mut redraw = Redraw::Now;
    // The first frame goes out at once, before any collector has answered.
    draw(&mut guard, &store, &mut ui, &theme)?;
    // Lets the end-to-end tests prove that a panic restores the terminal.
    assert!(std::env::var_os(PANIC_TEST_VARIABLE).is_none(), "panic requested by {PANIC_TEST_VARIABLE}");
    let mut idle = tokio::time::interval_at(Instant::now() + IDLE_REDRAW, IDLE_REDRAW);
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        let wait = if redraw == Redraw::Now { frame_interval } else { IDLE_REDRAW };
        let draw_at = (last_draw + wait).max(Instant::now());
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
            _ = sigint.recv() => break,
            maybe = input.next() => {
                let Some(terminal_event) = maybe else { break };
                let terminal_event = terminal_event.context("reading terminal input")?;
                let view = frozen.as_ref().unwrap_or(&store);
                let Some(action) = netlens_ui::input::map_event(&keymap, &ui, &terminal_event) else { continue };
                let command = netlens_ui::update(&mut ui, view, action);
                redraw = Redraw::Now;
                match command {
                    Some(Command::Quit) => break,
                    Some(Command::Export) => start_export(&store, &settings, export_tx.clone()),
                    Some(Command::Incident) => start_bundle(recorder.as_ref(), &store, &settings, &mut ui, bundle_tx.clone()),
                    Some(Command::Trace(name)) => dns_control(&collectors, &mut ui, DnsControl::Trace(name)),
                    Some(command) => {
                        target_names(&collectors, &command);
                        paths_command(&collectors, &mut ui, command);
                    }
                    None => {}
                }
                if ui.paused() && frozen.is_none() {
                    frozen = Some(store.clone());
                } else if !ui.paused() {
                    frozen = None;
                }
            }
            Some(event) = collectors.events.recv() => {
                let urgent = fold_burst(&mut store, &mut collectors.events, event, &mut recorder);
                if frozen.is_none() {
                    redraw = redraw.max(urgent);
                }
            }
            Some(result) = export_rx.recv() => {
                let (level, subject, text) = match result {
                    Ok(path) => (StatusLevel::Info, "snapshot", format!("snapshot written to {}", path.display())),
                    Err(error) => (StatusLevel::Error, "failed", format!("export failed: {error}")),
                };
                announce(&mut store, &mut recorder, &mut ui, (level, subject, text));
                redraw = Redraw::Now;
            }
            Some(result) = bundle_rx.recv() => {
                let (level, subject, text) = match result {
                    Ok(path) => (StatusLevel::Success, "incident", format!("incident bundle written to {}", path.display())),
                    Err(error) => (StatusLevel::Error, "failed", format!("incident bundle failed: {error}")),
                };
                announce(&mut store, &mut recorder, &mut ui, (level, subject, text));
                redraw = Redraw::Now;
            }
            () = tokio::time::sleep_until(draw_at), if redraw != Redraw::None => {
                let view = frozen.as_ref().unwrap_or(&store);
                draw(&mut guard, view, &mut ui, &theme)?;
                last_draw = Instant::now();
                redraw = Redraw::None;
                // Names are looked up lazily: only for what is on screen now.
                if let Some(names) = &collectors.names {
                    names.ask(netlens_ui::wanted_names(view, &ui));
                }
            }
            _ = idle.tick() => redraw = redraw.max(Redraw::Soon),
        }
    }
    drop(guard);
    Ok(())
}

/// Draw a frame; drawing records into `ui` the geometry the next key acts on.
fn draw(guard: &mut TerminalGuard, store: &Store, ui: &mut UiState, theme: &Theme) -> anyhow::Result<()> {
    let now = Timestamp::now_utc();
    guard
        .terminal()
        .and_then(|terminal| terminal.draw(|frame| netlens_ui::draw(frame, store, ui, theme, now)).map(drop))
        .context("drawing to the terminal")?;
    Ok(())
}

/// Write a snapshot of the live store on a blocking thread; the result comes back
/// on `done` and shows in the status bar.
fn start_export(store: &Store, settings: &Settings, done: mpsc::Sender<ExportResult>) {
    let taken_at = Timestamp::now_utc();
    // Only the copy out of the store runs on the loop (`benches/snapshot.rs`); naming,
    // sorting, rendering and writing run on a thread.
    let capture = SnapshotCapture::take(store, taken_at);
    let dir = settings.export_dir.clone();
    tokio::task::spawn_blocking(move || {
        let doc = capture.into_snapshot();
        // netlens picks the name, so it is created exclusively: nothing prepared in
        // advance under that name (a symlink in /tmp) can redirect the write.
        let name = export::file_name(taken_at, "json");
        let result = output::create_new(&dir, &name, Box::new(move |out| export::write_json(&doc, out)))
            .map(|path| std::fs::canonicalize(&path).unwrap_or(path))
            .map_err(|error| error.to_string());
        let _ = done.blocking_send(result);
    });
}

/// Route a path command (lookup, add, remove, probe) to the paths source.
fn paths_command(collectors: &collect::Collectors, ui: &mut UiState, command: Command) {
    let control = match command {
        Command::RouteLookup(request) => PathsControl::Lookup(request),
        Command::AddTarget(target) => PathsControl::Add(target),
        Command::RemoveTarget(text) => PathsControl::Remove(text),
        Command::ProbeNow(text) => PathsControl::ProbeNow(text),
        Command::Quit | Command::Export | Command::Incident | Command::Trace(_) | Command::Replay(_) => {
            return;
        }
    };
    paths_control(collectors, ui, control);
}

/// Keep the DNS source's target names in step with the path targets.
fn target_names(collectors: &collect::Collectors, command: &Command) {
    let Some(dns) = &collectors.dns else { return };
    let control = match command {
        Command::AddTarget(target) => collect::target_name(target).map(DnsControl::AddTarget),
        Command::RemoveTarget(text) => text
            .parse::<netlens_collectors::paths::target::Target>()
            .ok()
            .as_ref()
            .and_then(collect::target_name)
            .map(DnsControl::RemoveTarget),
        _ => None,
    };
    if let Some(control) = control {
        let _ = dns.send(control);
    }
}

/// Hand a trace request to the DNS source, or say on the status line why it cannot be.
fn dns_control(collectors: &collect::Collectors, ui: &mut UiState, control: DnsControl) {
    let delivered = collectors.dns.as_ref().is_some_and(|dns| dns.send(control));
    if !delivered {
        let why = if collectors.dns.is_some() {
            "the DNS source is busy; try again"
        } else {
            "traces need the DNS source (off with --demo)"
        };
        ui.abandon_trace();
        ui.set_status(why, StatusLevel::Warning, Timestamp::now_utc());
    }
}

/// Hand a request to the paths source, or say on the status line why it cannot be.
fn paths_control(collectors: &collect::Collectors, ui: &mut UiState, control: PathsControl) {
    let delivered = collectors.paths.as_ref().is_some_and(|paths| paths.send(control));
    if !delivered {
        let why = if collectors.paths.is_some() {
            "the paths source is busy; try again"
        } else {
            "paths need rtnetlink (off with --no-netlink, interfaces.netlink = false or --demo)"
        };
        ui.set_status(why, StatusLevel::Warning, Timestamp::now_utc());
    }
}
