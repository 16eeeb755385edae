//! The flight recorder's memory (issue 14: at most 15 MB for 15 minutes of the
//! synthetic host of `common/synthetic_host.rs`).
//!
//! The TUI's recorder thread gets a copy of every event and writes it with the
//! flight recorder's sink and options (`journal::flight_recorder`: minute segments,
//! each opening with a keyframe, kept in memory). This feeds 25 minutes of the host
//! to such a writer with a 15-minute window and counts, with an instrumented global
//! allocator, the heap the writer holds: every allocation made while an event is
//! copied and written, less every one freed then, summed. Nothing else is counted
//! (the synthetic host's own memory is allocated outside those spans). It prints that
//! figure every minute and its peak (sampled after each event), and how much of it is
//! the segments themselves; then, as a cross-check, the process's resident memory with
//! the recorder against the same minutes made without it.
//!
//! Run with `cargo bench --bench flight_recorder`.

use std::alloc::System;
use std::time::Duration;

use netlens_collectors::Store;
use netlens_collectors::journal::{FLIGHT_RECORDER_BYTES, JournalHeader, Writer, flight_recorder};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

/// The app's allocator tuning, so resident memory is measured as netlens runs.
#[path = "../src/allocator.rs"]
#[allow(dead_code, reason = "the benchmark uses the tuning alone")]
mod allocator;
#[path = "common/synthetic_host.rs"]
mod synthetic_host;

use synthetic_host::{Host, START};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The window the issue sets, the TUI's default.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Long enough for the window to fill and then roll over ten times.
const MINUTES: u32 = 25;

/// Net bytes a region's allocations left held (`stats_alloc` counts a reallocation's
/// growth in `bytes_allocated` and its shrinking in `bytes_deallocated`).
fn net(change: stats_alloc::Stats) -> i64 {
    change.bytes_allocated as i64 - change.bytes_deallocated as i64
}

fn mb(bytes: i64) -> f64 {
    bytes as f64 / 1e6
}

/// A field of `/proc/self/status` in bytes (its values are in kB).
fn status_bytes(field: &str) -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// CPU time of this thread (`schedstat` is exact over many scheduler ticks).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(text.split_whitespace().next().and_then(|field| field.parse().ok()).unwrap_or(0))
}

fn main() {
    allocator::tune();
    // The host alone first, for the same minutes: what the process holds without a
    // recorder (the events it makes, the allocator's free lists), for the RSS cross-check.
    let mut host = Host::new();
    for s in 0..MINUTES * 60 {
        drop(host.second(s));
    }
    let (host_rss, host_peak) = (status_bytes("VmRSS:"), status_bytes("VmHWM:"));
    // Peak RSS starts again from here (proc(5), clear_refs).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let mut host = Host::new();
    let (sink, options) = flight_recorder(WINDOW);
    let (netlens_version, host_name, netns) = ("bench".into(), "bench".into(), None);
    let header = JournalHeader {
        netlens_version,
        host: host_name,
        netns,
        recording_started_at: START,
        segment: 0,
        segment_started_at: START,
    };
    // The writer's heap, counted as described above.
    let mut held: i64 = 0;
    let region = Region::new(GLOBAL);
    let mut writer = Writer::new(sink, header, options, Store::default());
    held += net(region.change());
    let (mut peak, mut peak_at) = (held, 0);
    let mut writer_cpu = Duration::ZERO;
    println!(
        "flight recorder: {} of the synthetic host, a {}-minute window, segments capped at {:.1} MB",
        format_args!("{MINUTES} minutes"),
        WINDOW.as_secs() / 60,
        mb(FLIGHT_RECORDER_BYTES as i64)
    );
    for s in 0..MINUTES * 60 {
        for event in host.second(s) {
            let (region, cpu) = (Region::new(GLOBAL), thread_cpu());
            writer.write(event.clone()).unwrap_or_else(|e| panic!("{e}"));
            held += net(region.change());
            writer_cpu += thread_cpu().saturating_sub(cpu);
            drop(event);
            if held > peak {
                (peak, peak_at) = (held, s);
            }
        }
        if (s + 1) % 60 == 0 {
            let segments = writer.sink().held() as i64;
            println!(
                "  minute {:>2}: holds {:5.2} MB: {:>2} segments {:5.2} MB, its store and buffers {:5.2} MB",
                (s + 1) / 60,
                mb(held),
                writer.sink().segments().count(),
                mb(segments),
                mb(held - segments)
            );
        }
    }
    let (rss_peak, rss_now) = (status_bytes("VmHWM:"), status_bytes("VmRSS:"));
    let cpu = writer_cpu.as_secs_f64();
    println!(
        "flight recorder: peak {:.2} MB at minute {}; writing cost {cpu:.2} s of CPU = {:.3} % of a core",
        mb(peak),
        peak_at / 60 + 1,
        cpu / f64::from(MINUTES * 60) * 100.0
    );
    println!(
        "process RSS: the host alone {:.1} MB (peak {:.1} MB); with the recorder {:.1} MB (peak {:.1} MB): \
         +{:.1} MB (peak +{:.1} MB), allocator slack and zstd's contexts included",
        mb(host_rss),
        mb(host_peak),
        mb(rss_now),
        mb(rss_peak),
        mb(rss_now - host_rss),
        mb(rss_peak - host_peak)
    );
}
