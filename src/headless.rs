//! `netlens snapshot`: collect for a moment without a terminal, then write the
//! snapshot to a file or standard output.

use std::io::IsTerminal as _;
use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use netlens_collectors::Store;
use netlens_collectors::model::{SourceId, SourceState, Timestamp};
use netlens_collectors::snapshot::SnapshotCapture;
use tokio::time::Instant;

use crate::cli::{SnapshotArgs, SnapshotFormat};
use crate::collect;
use crate::config::Settings;
use crate::export;
use crate::output::{self, Output};

/// How long to wait past `--duration` for the first complete read of the network.
const FIRST_READ_GRACE: Duration = Duration::from_secs(3);

/// Collect for `args.duration`, then write the snapshot.
pub async fn run(settings: Settings, args: SnapshotArgs) -> anyhow::Result<()> {
    if args.duration >= Duration::from_secs(3) && std::io::stderr().is_terminal() {
        let note = format!("netlens: collecting for {} …", crate::duration::format(args.duration));
        let _ = writeln!(std::io::stderr(), "{note}");
    }
    let store = collect_for(&settings, args.duration).await;
    // Copy the facts out, free the store, then build the document: the store and the
    // finished document are never in memory together (`scripts/measure_snapshot.py`).
    let capture = SnapshotCapture::take(&store, Timestamp::now_utc());
    drop(store);
    let doc = capture.into_snapshot();
    tokio::task::spawn_blocking(move || emit(doc, &args)).await.context("export task")?
}

/// Redact `doc` if asked, render it in the format asked and write it where asked.
pub fn emit(mut doc: netlens_collectors::snapshot::Snapshot, args: &SnapshotArgs) -> anyhow::Result<()> {
    if args.redact {
        export::redact(&mut doc);
    }
    let render = match args.format {
        SnapshotFormat::Json => export::write_json,
        SnapshotFormat::Md => export::write_markdown,
        SnapshotFormat::Csv => export::write_csv,
    };
    let output = args.output.as_deref().map_or(Output::Stdout, |path| Output::from_arg(path.as_os_str()));
    output::write(&output, Box::new(move |out| render(&doc, out)))?;
    Ok(())
}

/// Run the sources for `duration` and return what they reported. Counters are sampled
/// at least twice in that time, so rates exist. SIGINT or SIGTERM ends the collection
/// early: what was collected so far is kept and written, as `tcpdump -w` keeps its
/// packets on Ctrl-C.
pub async fn collect_for(settings: &Settings, duration: Duration) -> Store {
    let mut stop = crate::signals::StopSignals::install();
    let refresh = (duration / 2).clamp(Duration::from_millis(100), settings.refresh);
    let mut collectors = collect::start(settings, refresh, collect::Purpose::Snapshot);
    let mut store = Store::new(settings.store_limits());
    store.set_findings_config(settings.findings.clone());
    let deadline = Instant::now() + duration;
    let grace = deadline + FIRST_READ_GRACE;
    loop {
        let waiting_for_first_read = store.interface_count() == 0
            && store.source(SourceId::Interfaces).is_none_or(|s| s.status != SourceState::Failed);
        let until = if waiting_for_first_read { grace } else { deadline };
        tokio::select! {
            maybe = collectors.events.recv() => match maybe {
                Some(event) => {
                    store.apply(event);
                    store.evaluate_findings(netlens_collectors::clock::Stamp::now());
                }
                None => break,
            },
            () = tokio::time::sleep_until(until) => break,
            _ = stop.received() => break,
        }
    }
    store
}
