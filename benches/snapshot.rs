//! The snapshot export: building the typed document from a store of 10,000
//! established connections and writing its pretty JSON (what `netlens snapshot -o`
//! does after collecting), and the part of the TUI's export that runs on the event
//! loop at 100,000 connections (the rest runs on a blocking thread).

use std::hint::black_box;
use std::io::{BufWriter, Write as _};

use criterion::{Criterion, criterion_group, criterion_main};
use netlens_collectors::fake;
use netlens_collectors::snapshot::{Snapshot, SnapshotCapture};

fn write_json(doc: &Snapshot) -> usize {
    let mut out = BufWriter::new(std::io::sink());
    serde_json::to_writer_pretty(&mut out, doc).unwrap_or_default();
    out.write_all(b"\n").unwrap_or_default();
    doc.connections.len()
}

fn snapshot(c: &mut Criterion) {
    let store = fake::large_connection_store(10_000);
    let mut group = c.benchmark_group("snapshot_10k_sockets");
    group.sample_size(20);
    group.bench_function("build", |b| b.iter(|| black_box(Snapshot::from_store(&store, fake::NOW))));
    let doc = Snapshot::from_store(&store, fake::NOW);
    group.bench_function("write_json", |b| b.iter(|| black_box(write_json(&doc))));
    group.bench_function("build_and_write_json", |b| {
        b.iter(|| black_box(write_json(&Snapshot::from_store(&store, fake::NOW))));
    });
    group.finish();

    let store = fake::large_connection_store(100_000);
    let mut group = c.benchmark_group("tui_export_100k_sockets");
    group.sample_size(10);
    // The capture is dropped on the export thread, not on the loop: leave its drop out.
    group.bench_function("on_the_loop_capture", |b| {
        b.iter_with_large_drop(|| SnapshotCapture::take(&store, fake::NOW));
    });
    group.bench_function("off_the_loop_build", |b| {
        b.iter_batched(
            || SnapshotCapture::take(&store, fake::NOW),
            |capture| black_box(capture.into_snapshot()),
            criterion::BatchSize::LargeInput,
        );
    });
    group.bench_function("whole_document_for_comparison", |b| {
        b.iter_with_large_drop(|| Snapshot::from_store(&store, fake::NOW));
    });
    group.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
