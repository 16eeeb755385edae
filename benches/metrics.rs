//! A scrape of the daemon (issue 15: 1,000 series in at most 5 ms of server time): the
//! store as metric families and their encoding, in the Prometheus text format and in
//! OpenMetrics, on a store of 60 interfaces, 22 path targets with probe histograms, DNS
//! servers, sockets and kernel counters — about 1,000 series (the count is printed).

//! Run with `cargo bench --bench metrics`.

use criterion::{Criterion, criterion_group, criterion_main};
use netlens_collectors::fake;
use netlens_collectors::metrics::{BuildInfo, Format, families, render};

const BUILD: BuildInfo = BuildInfo { version: "0.1.0" };

fn scrape(c: &mut Criterion) {
    let store = fake::large_metrics_store(60, 20);
    let text = render(families(&store, &BUILD), Format::Prometheus);
    let series = text.lines().filter(|line| !line.starts_with('#') && !line.is_empty()).count();
    println!("one scrape: {series} series, {} bytes of text", text.len());
    assert!((900..=1_300).contains(&series), "{series} series: adjust the store to about 1,000");
    c.bench_function("metrics_scrape_text", |b| {
        b.iter(|| render(families(&store, &BUILD), Format::Prometheus));
    });
    c.bench_function("metrics_scrape_openmetrics", |b| {
        b.iter(|| render(families(&store, &BUILD), Format::OpenMetrics));
    });
    c.bench_function("metrics_families_only", |b| b.iter(|| families(&store, &BUILD)));
}

criterion_group!(benches, scrape);
criterion_main!(benches);
