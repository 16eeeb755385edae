//! `netlens daemon`: the collectors with no terminal, one store, and an HTTP endpoint
//! for Prometheus (DESIGN.md §12). The store stays with one task; each scrape asks it
//! for the metric families of the moment (a pure function of the store, a few
//! milliseconds) and encodes them on its own connection's task, so a slow client holds
//! up neither collection nor other scrapes.

mod http;
pub mod journald;
mod reload;

use std::path::PathBuf;

use netlens_collectors::Store;
use netlens_collectors::clock::{Mono, Stamp};
use netlens_collectors::journal::{DirSink, Writer};
use netlens_collectors::metrics::{BuildInfo, Family};
use netlens_collectors::model::SourceState;
use tokio::sync::{mpsc, oneshot};

use crate::cli::{Cli, DaemonArgs};
use crate::collect;
use crate::config::Settings;
use crate::record_command;
use crate::signals::StopSignals;

/// What the daemon opens before privileges are dropped: its listening socket (a port
/// below 1024 needs them; a port in use is a usage error, exit 2, naming the address)
/// and the journal's directory (the sandbox then allows writing exactly there).
pub struct Prepared {
    listener: std::net::TcpListener,
    journal: Option<(PathBuf, DirSink)>,
}

/// Bind and open what `args` names.
pub fn prepare(args: &DaemonArgs) -> Result<Prepared, String> {
    let listener = std::net::TcpListener::bind(args.metrics_addr).map_err(|error| {
        let address = args.metrics_addr;
        let fix = match error.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "; another process listens there (ss -ltnp 'sport = :{}'): choose another --metrics-addr",
                address.port()
            ),
            std::io::ErrorKind::PermissionDenied => {
                "; a port below 1024 needs root or CAP_NET_BIND_SERVICE: choose a higher one".to_owned()
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "; no interface here has that address (ip -br addr lists them)".to_owned()
            }
            _ => String::new(),
        };
        format!("cannot listen on {address}: {error}{fix}")
    })?;
    listener.set_nonblocking(true).map_err(|error| format!("{}: {error}", args.metrics_addr))?;
    let journal = match &args.record {
        Some(dir) => Some((
            dir.clone(),
            DirSink::open(dir, args.record_max_size).map_err(|error| {
                format!("--record {}: cannot record into this directory: {error}", dir.display())
            })?,
        )),
        None => None,
    };
    Ok(Prepared { listener, journal })
}

/// What a connection asks of the store's task.
enum Ask {
    /// The metric families now.
    Families(oneshot::Sender<Vec<Family>>),
    /// Whether every source is up; else the failed ones and why.
    Health(oneshot::Sender<Result<(), String>>),
}

/// Run until SIGINT or SIGTERM; SIGHUP reloads the config.
pub async fn run(cli: &Cli, settings: Settings, args: &DaemonArgs, prepared: Prepared) -> anyhow::Result<()> {
    let mut settings = settings;
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let listener = tokio::net::TcpListener::from_std(prepared.listener)?;
    let address = listener.local_addr()?;
    let mut stop = StopSignals::install();
    let collectors_settings = settings.clone();
    let mut collectors = collect::start(&collectors_settings, settings.refresh, collect::Purpose::Snapshot);
    let (header, store) = record_command::start(&settings);
    // With a journal, the store is the journal writer's own fold (a keyframe is exactly
    // it), so the daemon holds one store either way.
    let mut keeper = match prepared.journal {
        Some((dir, sink)) => {
            let options = record_command::dir_options(args.record_max_size);
            tracing::info!(dir = %dir.display(), bound = args.record_max_size, "recording a journal");
            Keeper::Journal { writer: Box::new(Writer::new(sink, header, options, store)), dir }
        }
        None => Keeper::Store(Box::new(store)),
    };
    let (asks, mut asked) = mpsc::channel::<Ask>(1024);
    let server = tokio::spawn(http::serve(listener, asks));
    tracing::info!(%address, "serving /metrics and /healthz");
    let build = BuildInfo { version: env!("CARGO_PKG_VERSION") };
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
    let reason = loop {
        tokio::select! {
            maybe = collectors.events.recv() => match maybe {
                Some(event) => keeper.fold(event),
                None => break "the sources stopped",
            },
            Some(ask) = asked.recv() => answer(ask, keeper.store(), &build),
            _ = ticks.tick() => keeper.tick(),
            Some(()) = hangups.recv() => match reload::reload(cli, &settings, &collectors) {
                Ok(applied) => {
                    keeper.set_findings_config(&applied.settings);
                    tracing::info!(added = ?applied.added, removed = ?applied.removed, "SIGHUP: config reloaded");
                    if !applied.undelivered.is_empty() {
                        tracing::warn!(undelivered = ?applied.undelivered, "SIGHUP: a source was too busy; send SIGHUP again");
                    }
                    settings = applied.settings;
                }
                Err(error) => tracing::error!(%error, "SIGHUP: the config was not reloaded; the one in use stays"),
            },
            signal = stop.received() => break signal.describe(),
        }
    };
    server.abort();
    keeper.finish(reason);
    tracing::info!(reason, "stopped");
    Ok(())
}

/// The daemon's store, alone or as a journal writer's fold.
enum Keeper {
    Store(Box<Store>),
    Journal { writer: Box<Writer<DirSink>>, dir: PathBuf },
}

impl Keeper {
    fn store(&self) -> &Store {
        match self {
            Self::Store(store) => store,
            Self::Journal { writer, .. } => writer.store(),
        }
    }

    fn fold(&mut self, event: netlens_collectors::Event) {
        let failed = match self {
            Self::Store(store) => {
                store.apply(event);
                store.evaluate_findings(Stamp::now());
                None
            }
            Self::Journal { writer, dir } => {
                writer.write(event).err().map(|error| format!("writing {} failed: {error}", dir.display()))
            }
        };
        if let Some(why) = failed {
            self.stop_recording(&why);
        }
    }

    /// The findings' rules and thresholds from `settings` (a journal's keyframes carry
    /// them from the next one on).
    fn set_findings_config(&mut self, settings: &Settings) {
        match self {
            Self::Store(store) => store.set_findings_config(settings.findings.clone()),
            Self::Journal { writer, .. } => writer.set_findings_config(settings.findings.clone()),
        }
    }

    fn tick(&mut self) {
        if let Self::Journal { writer, dir } = self
            && let Err(error) = writer.tick(Mono::now())
        {
            let why = format!("writing {} failed: {error}", dir.display());
            self.stop_recording(&why);
        }
    }

    /// A journal that cannot be written (a full disk) stops; the metrics go on from the
    /// store it folded, and the journal up to then stays readable.
    fn stop_recording(&mut self, why: &str) {
        let Self::Journal { writer, .. } = self else { return };
        let kept = writer.written_until().map_or_else(|| "nothing".to_owned(), crate::export::rfc3339);
        tracing::error!(why, kept_until = %kept, "recording stopped; metrics go on");
        let store = writer.store().clone();
        *self = Self::Store(Box::new(store));
    }

    fn finish(self, reason: &str) {
        if let Self::Journal { writer, dir } = self
            && let Err(error) = (*writer).finish(reason)
        {
            tracing::error!(dir = %dir.display(), %error, "closing the journal failed");
        }
    }
}

/// A connection's question, answered from the store as it is now.
fn answer(ask: Ask, store: &Store, build: &BuildInfo) {
    match ask {
        Ask::Families(reply) => {
            let _ = reply.send(netlens_collectors::metrics::families(store, build));
        }
        Ask::Health(reply) => {
            let _ = reply.send(health(store));
        }
    }
}

/// Ok while every source is ok or degraded; else the failed ones with their detail.
fn health(store: &Store) -> Result<(), String> {
    let failed: Vec<String> = store
        .sources()
        .filter(|source| source.status == SourceState::Failed)
        .map(|source| format!("{}: {}", source.name.as_str(), source.detail))
        .collect();
    if failed.is_empty() { Ok(()) } else { Err(failed.join("\n")) }
}

#[cfg(test)]
mod tests;
