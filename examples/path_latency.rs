//! Measures the issue-4 budget "route-change notification to an updated path status on
//! screen: within the debounce plus 50 ms". Needs root: it creates a network namespace
//! with a veth pair and a default route, runs the paths source inside it, deletes and
//! restores the default route N times and times, from the moment `ip route` starts,
//! until the store holds the committed new status of `default-ipv4`.
//! What remains on top is one frame: at most the frame-rate cap's interval plus the
//! render time (`cargo bench --bench render`).
//!
//! Run: `cargo run --release --example path_latency -- [ROUNDS]`

#![expect(clippy::expect_used, reason = "a measurement tool: fail loudly")]

#[path = "../tests/common/netns.rs"]
#[expect(dead_code, reason = "shared with the tests; this tool uses part of it")]
mod netns;

use std::time::{Duration, Instant};

use netlens_collectors::model::PathStatus;
use netlens_collectors::paths::source::{PathsConfig, paths};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank]
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20);
    let debounce = Duration::from_secs(1);
    let netns = netns::Netns::create().expect("needs root: cannot create a network namespace");
    netns.batch(
        "link set lo up\nlink add lat0 type veth peer name lat1\nlink set lat0 up\nlink set lat1 up\n\
         addr add 10.1.0.2/24 dev lat0\nroute add default via 10.1.0.1 dev lat0\n",
    );
    let config = PathsConfig { debounce, ..PathsConfig::default() };
    let source = netns::SourceInNetns::start(&netns, 1024, move || paths(config).1);
    let status = |want: PathStatus| {
        move |store: &netlens_collectors::Store| {
            store.path("default-ipv4").is_some_and(|path| path.status == want && path.pending.is_none())
        }
    };
    source.wait_for("satisfied", Duration::from_secs(5), status(PathStatus::Satisfied));

    let mut over_ms = Vec::new();
    for round in 0..rounds {
        let remove = round % 2 == 0;
        let want = if remove { PathStatus::Unsatisfied } else { PathStatus::Satisfied };
        let start = Instant::now();
        if remove {
            netns.must(&["route", "del", "default"]);
        } else {
            netns.must(&["route", "add", "default", "via", "10.1.0.1", "dev", "lat0"]);
        }
        let done = status(want);
        let done = &done;
        while !source.with_store(done) {
            assert!(start.elapsed() < debounce + Duration::from_secs(3), "round {round}: no change seen");
            std::thread::sleep(Duration::from_micros(200));
        }
        over_ms.push((start.elapsed().as_secs_f64() - debounce.as_secs_f64()) * 1000.0);
    }
    over_ms.sort_by(f64::total_cmp);
    println!(
        "route change → committed status, beyond the {} ms debounce: median {:.1} ms, p95 {:.1} ms, max {:.1} ms ({rounds} rounds)",
        debounce.as_millis(),
        percentile(&over_ms, 0.5),
        percentile(&over_ms, 0.95),
        over_ms[over_ms.len() - 1]
    );
    source.stop();
}
