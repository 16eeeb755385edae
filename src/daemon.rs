//! `netlens daemon`: the collectors with no terminal, one store, and an HTTP endpoint
//! for Prometheus (DESIGN.md §12). The store stays with one task; each scrape asks it
//! for the metric families of the moment (a pure function of the store, a few
//! milliseconds) and encodes them on its own connection's task, so a slow client holds
//! up neither collection nor other scrapes.

mod http;
pub mod journald;

use netlens_collectors::Store;
use netlens_collectors::clock::Stamp;
use netlens_collectors::metrics::{BuildInfo, Family};
use netlens_collectors::model::SourceState;
use tokio::sync::{mpsc, oneshot};

use crate::cli::DaemonArgs;
use crate::collect;
use crate::config::Settings;
use crate::signals::StopSignals;

/// The endpoint's listening socket, bound before privileges are dropped (a port below
/// 1024 needs them) and before anything else starts, so that a port in use is a usage
/// error (exit 2) naming the address.
pub fn bind(args: &DaemonArgs) -> Result<std::net::TcpListener, String> {
    let listener = std::net::TcpListener::bind(args.metrics_addr)
        .map_err(|error| format!("cannot listen on {}: {error}", args.metrics_addr))?;
    listener.set_nonblocking(true).map_err(|error| format!("{}: {error}", args.metrics_addr))?;
    Ok(listener)
}

/// What a connection asks of the store's task.
enum Ask {
    /// The metric families now.
    Families(oneshot::Sender<Vec<Family>>),
    /// Whether every source is up; else the failed ones and why.
    Health(oneshot::Sender<Result<(), String>>),
}

/// Run until SIGINT or SIGTERM.
pub async fn run(settings: &Settings, listener: std::net::TcpListener) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let address = listener.local_addr()?;
    let mut stop = StopSignals::install();
    let mut collectors = collect::start(settings, settings.refresh, collect::Purpose::Snapshot);
    let mut store = Store::new(settings.store_limits());
    store.set_findings_config(settings.findings.clone());
    let (asks, mut asked) = mpsc::channel::<Ask>(1024);
    let server = tokio::spawn(http::serve(listener, asks));
    tracing::info!(%address, "serving /metrics and /healthz");
    let build = BuildInfo { version: env!("CARGO_PKG_VERSION") };
    loop {
        tokio::select! {
            maybe = collectors.events.recv() => match maybe {
                Some(event) => {
                    store.apply(event);
                    store.evaluate_findings(Stamp::now());
                }
                None => break,
            },
            Some(ask) = asked.recv() => match ask {
                Ask::Families(reply) => {
                    let _ = reply.send(netlens_collectors::metrics::families(&store, &build));
                }
                Ask::Health(reply) => {
                    let _ = reply.send(health(&store));
                }
            },
            _ = stop.received() => break,
        }
    }
    server.abort();
    tracing::info!("stopped");
    Ok(())
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
