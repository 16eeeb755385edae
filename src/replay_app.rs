//! The TUI over a journal (`netlens replay`) or a snapshot file (`netlens open`),
//! read-only: the same panes, drawn from the store as of a time cursor the user
//! moves, with no source running.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt as _;
use netlens_collectors::Store;
use netlens_collectors::journal::{Journal, Replay};
use netlens_collectors::model::Timestamp;
use netlens_collectors::snapshot::SnapshotCapture;
use netlens_ui::replay::{Cursor, ReadOnly, ReplayCommand, SeekFilter};
use netlens_ui::{Command, Keymap, StatusLevel, Theme, UiState};
use ratatui::crossterm::event::EventStream;
use tokio::time::Instant;

use crate::config::Settings;
use crate::signals::StopSignals;
use crate::terminal::TerminalGuard;
use crate::{export, journal_at, output};

/// Playback speeds, slowest first; playing starts at 1×.
const SPEEDS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];

/// How often a playing replay moves its cursor.
const PLAY_TICK: Duration = Duration::from_millis(100);

/// Where a replay starts: this far in, once the sources' first readings are in.
const START_AFTER: time::Duration = time::Duration::seconds(2);

/// What is shown: a journal with its cursor, or one snapshot.
enum Shown<'a> {
    Journal {
        replay: Box<Replay<'a>>,
        /// The cursor: it runs on between events while playing, so it is not the last
        /// event's time.
        clock: Timestamp,
        playing: bool,
        speed: usize,
        first: Timestamp,
        last: Timestamp,
    },
    Snapshot {
        store: Box<Store>,
        at: Timestamp,
    },
}

impl Shown<'_> {
    fn store(&self) -> &Store {
        match self {
            Self::Journal { replay, .. } => replay.store(),
            Self::Snapshot { store, .. } => store,
        }
    }

    /// The time of the state shown: what relative times are measured from.
    fn at(&self) -> Timestamp {
        match self {
            Self::Journal { clock, .. } => *clock,
            Self::Snapshot { at, .. } => *at,
        }
    }

    fn view(&self, source: &str) -> ReadOnly {
        let cursor = match self {
            Self::Journal { replay, playing, speed, first, last, .. } => Some(Cursor {
                at: self.at(),
                first: *first,
                last: *last,
                position: replay.position(),
                total: replay.journal().events(),
                playing: *playing,
                speed: speed_label(SPEEDS[*speed]),
            }),
            Self::Snapshot { .. } => None,
        };
        ReadOnly { source: source.to_owned(), cursor }
    }
}

fn speed_label(speed: f64) -> String {
    if speed >= 1.0 { format!("{speed:.0}×") } else { format!("{speed}×") }
}

fn file_label(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned())
}

/// Open the journal at `path` (before the terminal is taken, so errors print plainly).
///
/// # Errors
/// The journal cannot be read: the message names the file.
pub fn open_journal(path: &Path) -> Result<Journal, String> {
    let journal = Journal::open(path).map_err(|error| error.to_string())?;
    if journal.span().is_none() {
        return Err(format!("{} holds no events yet", path.display()));
    }
    Ok(journal)
}

/// Replay `journal` (read from `path`) in the TUI.
pub async fn replay(
    path: &Path,
    journal: &Journal,
    settings: &Settings,
    theme: &Theme,
    keymap: &Keymap,
) -> anyhow::Result<()> {
    let (first, last) = journal.span().unwrap_or((Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH));
    let mut replay = Replay::new(journal)?;
    let clock = (first + START_AFTER).min(last);
    replay.seek_time(clock)?;
    let shown = Shown::Journal { replay: Box::new(replay), clock, playing: false, speed: 2, first, last };
    let header = journal.header();
    let mut ui = UiState::with_keymap(keymap);
    let recorded = match &header.netns {
        Some(netns) => format!("recorded on {} in netns {netns}", header.host),
        None => format!("recorded on {}", header.host),
    };
    ui.set_status(
        format!("{recorded}: space plays, ← → step, J jumps, ? lists the keys"),
        StatusLevel::Info,
        Timestamp::now_utc(),
    );
    run(shown, &format!("replay {}", file_label(path)), ui, settings, theme, keymap).await
}

/// Show the snapshot `store` (read from `path`, taken at `at`) in the TUI.
pub async fn open(
    path: &Path,
    store: Store,
    at: Timestamp,
    settings: &Settings,
    theme: &Theme,
    keymap: &Keymap,
) -> anyhow::Result<()> {
    let shown = Shown::Snapshot { store: Box::new(store), at };
    let ui = UiState::with_keymap(keymap);
    run(shown, &format!("snapshot {}", file_label(path)), ui, settings, theme, keymap).await
}

async fn run(
    mut shown: Shown<'_>,
    source: &str,
    mut ui: UiState,
    settings: &Settings,
    theme: &Theme,
    keymap: &Keymap,
) -> anyhow::Result<()> {
    let mut guard = TerminalGuard::enter().context("cannot set up the terminal (is this a TTY?)")?;
    let mut input = EventStream::new();
    let mut stop = StopSignals::install();
    if let Ok(size) = guard.terminal().and_then(|terminal| terminal.size()) {
        netlens_ui::update(&mut ui, shown.store(), netlens_ui::Action::Resize(size.width, size.height));
    }
    let mut ticks = tokio::time::interval(PLAY_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_tick = Instant::now();
    let mut last_draw = Instant::now();
    let mut dirty = true;
    loop {
        if dirty {
            ui.set_read_only(Some(shown.view(source)));
            draw(&mut guard, &shown, &mut ui, theme)?;
            last_draw = Instant::now();
            dirty = false;
        }
        tokio::select! {
            _ = stop.received() => break,
            maybe = input.next() => {
                let Some(event) = maybe else { break };
                let event = event.context("reading terminal input")?;
                let Some(action) = netlens_ui::input::map_event(keymap, &ui, &event) else { continue };
                dirty = true;
                match netlens_ui::update(&mut ui, shown.store(), action) {
                    Some(Command::Quit) => break,
                    Some(Command::Export) => export_at(&shown, settings, &mut ui),
                    Some(Command::Replay(command)) => {
                        if let Err(error) = move_cursor(&mut shown, command, &mut ui) {
                            ui.set_status(error, StatusLevel::Error, Timestamp::now_utc());
                        }
                        last_tick = Instant::now();
                    }
                    _ => {}
                }
            }
            _ = ticks.tick() => {
                let elapsed = last_tick.elapsed();
                last_tick = Instant::now();
                let playing = matches!(shown, Shown::Journal { playing: true, .. });
                if let Err(error) = play(&mut shown, elapsed, &mut ui) {
                    ui.set_status(error, StatusLevel::Error, Timestamp::now_utc());
                }
                // A paused screen is redrawn once a second, so messages age out.
                dirty = playing || last_draw.elapsed() >= Duration::from_secs(1);
            }
        }
    }
    drop(guard);
    Ok(())
}

fn draw(guard: &mut TerminalGuard, shown: &Shown<'_>, ui: &mut UiState, theme: &Theme) -> anyhow::Result<()> {
    let now = shown.at();
    let store = shown.store();
    guard
        .terminal()
        .and_then(|terminal| terminal.draw(|frame| netlens_ui::draw(frame, store, ui, theme, now)).map(drop))
        .context("drawing to the terminal")?;
    Ok(())
}

/// Advance a playing replay by `elapsed` times its speed; pause at the end.
fn play(shown: &mut Shown<'_>, elapsed: Duration, ui: &mut UiState) -> Result<(), String> {
    let Shown::Journal { replay, clock, playing: playing @ true, speed, last, .. } = shown else {
        return Ok(());
    };
    let advance = time::Duration::try_from(elapsed.mul_f64(SPEEDS[*speed])).unwrap_or(time::Duration::ZERO);
    *clock = (*clock + advance).min(*last);
    loop {
        match replay.peek().map_err(|error| error.to_string())? {
            Some(next) if next <= *clock => {
                replay.step().map_err(|error| error.to_string())?;
            }
            Some(_) => return Ok(()),
            None => {
                *playing = false;
                ui.set_status("the end of the journal", StatusLevel::Info, Timestamp::now_utc());
                return Ok(());
            }
        }
    }
}

fn move_cursor(shown: &mut Shown<'_>, command: ReplayCommand, ui: &mut UiState) -> Result<(), String> {
    let at = shown.at();
    let Shown::Journal { replay, clock, playing, speed, first, last } = shown else { return Ok(()) };
    let error = |error: netlens_collectors::journal::JournalError| error.to_string();
    let (first, last) = (*first, *last);
    // Moves by time put the cursor where asked (within the recording); moves by event
    // put it on the event.
    let mut seek = |replay: &mut Replay<'_>, to: Timestamp| -> Result<(), String> {
        let to = to.clamp(first, last);
        replay.seek_time(to).map_err(error)?;
        *clock = to;
        Ok(())
    };
    match command {
        ReplayCommand::PlayPause => *playing = !*playing,
        ReplayCommand::Faster => *speed = (*speed + 1).min(SPEEDS.len() - 1),
        ReplayCommand::Slower => *speed = speed.saturating_sub(1),
        ReplayCommand::Step(by) => {
            *playing = false;
            let index = replay.position().saturating_add_signed(by);
            replay.seek_index(index).map_err(error)?;
            *clock = replay.at().unwrap_or(first);
        }
        ReplayCommand::Minutes(by) => seek(replay, at + time::Duration::minutes(by))?,
        ReplayCommand::Jump(text) => seek(replay, journal_at::parse(&text, first, last)?)?,
        ReplayCommand::Next(filter) => {
            *playing = false;
            if next_matching(replay, &filter).map_err(error)? {
                *clock = replay.at().unwrap_or(first);
            } else {
                *clock = last;
                ui.set_status(
                    format!("no later {}", filter.describe()),
                    StatusLevel::Info,
                    Timestamp::now_utc(),
                );
            }
        }
        ReplayCommand::Previous(filter) => {
            *playing = false;
            let before =
                replay.store().timeline().iter().rev().find(|entry| entry.at < at && filter.matches(entry));
            if let Some(then) = before.map(|entry| entry.at) {
                seek(replay, then)?;
            } else {
                let text = format!("no earlier {} in the timeline", filter.describe());
                ui.set_status(text, StatusLevel::Info, Timestamp::now_utc());
            }
        }
    }
    Ok(())
}

/// Step until the timeline gains an entry `filter` accepts; `false` at the end.
fn next_matching(
    replay: &mut Replay<'_>,
    filter: &SeekFilter,
) -> Result<bool, netlens_collectors::journal::JournalError> {
    loop {
        let before = replay.store().timeline().appended();
        if !replay.step()? {
            return Ok(false);
        }
        let timeline = replay.store().timeline();
        let new = usize::try_from(timeline.appended() - before).unwrap_or(usize::MAX).min(timeline.len());
        if (0..new).filter_map(|back| timeline.from_newest(back)).any(|entry| filter.matches(entry)) {
            return Ok(true);
        }
    }
}

/// `e`: the snapshot of the state shown, written into the export directory.
fn export_at(shown: &Shown<'_>, settings: &Settings, ui: &mut UiState) {
    let at = shown.at();
    let doc = SnapshotCapture::take(shown.store(), at).into_snapshot();
    let name = export::file_name(at, "json");
    let result =
        output::create_new(&settings.export_dir, &name, Box::new(move |out| export::write_json(&doc, out)));
    let (text, level) = match result {
        Ok(path) => (
            format!("snapshot of {} written to {}", export::rfc3339(at), path.display()),
            StatusLevel::Success,
        ),
        Err(error) => (format!("export failed: {error}"), StatusLevel::Error),
    };
    ui.set_status(text, level, Timestamp::now_utc());
}
