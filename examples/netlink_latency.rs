//! Measures how long a netlink notification takes to reach the store (issue 2
//! budget: within 300 ms, debounce included). Needs root: it creates a network
//! namespace with a veth pair, runs the interfaces source inside it, flips the link
//! N times and times, from the moment `ip link set` starts,
//!   - the timeline notice (sent at once), and
//!   - the re-read state showing the new link state (after the debounce).
//!
//! Run: `cargo run --release --example netlink_latency -- [ROUNDS]`

#![expect(clippy::expect_used, reason = "a measurement tool: fail loudly")]

#[path = "../tests/common/netns.rs"]
#[expect(dead_code, reason = "shared with the tests; this tool uses part of it")]
mod netns;

use std::time::{Duration, Instant};

use netlens_collectors::interfaces::{InterfacesConfig, InterfacesSource};
use netlens_collectors::model::TimelineKind;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank]
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(50);
    let netns = netns::Netns::create().expect("needs root: cannot create a network namespace");
    netns.must(&["link", "add", "lat0", "type", "veth", "peer", "name", "lat1"]);
    let source =
        netns::SourceInNetns::start(&netns, 1024, || InterfacesSource::new(InterfacesConfig::default()));
    source.wait_for("first read", Duration::from_secs(5), |store| store.interface_by_name("lat0").is_some());

    let (mut notice_ms, mut state_ms) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let up = round % 2 == 0;
        let before = source.with_store(|store| store.timeline().total());
        // The clock starts before `ip` runs, so its own start-up (about a millisecond)
        // counts against netlens: an upper bound.
        let start = Instant::now();
        netns.must(&["link", "set", "lat0", if up { "up" } else { "down" }]);
        let mut noticed = None;
        loop {
            let (total, state) = source.with_store(|store| {
                let state = store.interface_by_name("lat0").map(|entry| entry.info.is_up());
                let total = store.timeline().total();
                let linked =
                    store.timeline().from_newest(0).is_some_and(|e| e.kind == TimelineKind::LinkChanged);
                (if linked { total } else { before }, state)
            });
            if noticed.is_none() && total > before {
                noticed = Some(start.elapsed());
            }
            if let (Some(noticed), Some(true)) = (noticed, state.map(|s| s == up)) {
                notice_ms.push(noticed.as_secs_f64() * 1000.0);
                state_ms.push(start.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "round {round}: no change seen");
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    source.stop();
    for (what, samples) in
        [("notice on the timeline", &mut notice_ms), ("re-read state in the store", &mut state_ms)]
    {
        samples.sort_by(f64::total_cmp);
        println!(
            "{what}: median {:.1} ms, p95 {:.1} ms, max {:.1} ms over {rounds} link flips",
            percentile(samples, 0.5),
            percentile(samples, 0.95),
            percentile(samples, 1.0)
        );
    }
}
