//! What the kernel counters source costs: run it alone, as the app runs it (its own
//! task, readings on the blocking pool, events drained), for a fixed window, and print
//! the process's CPU time from `getrusage` as a share of one core.
//!
//! `cargo run --release -p netlens-collectors --example kernel_source_cpu -- [SECONDS] [REFRESH_MS]`
//! (defaults: 60 s at the app's default refresh of 1000 ms).

use std::time::{Duration, Instant};

use netlens_collectors::kernel::KernelSource;
use netlens_collectors::source::spawn_supervised;
use nix::sys::resource::{UsageWho, getrusage};

/// User plus system CPU time this process has used (every thread, exited ones too).
fn cpu_time() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_SELF).unwrap_or_else(|error| panic!("getrusage: {error}"));
    let time = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().unsigned_abs()) + Duration::from_micros(t.tv_usec().unsigned_abs())
    };
    time(usage.user_time()) + time(usage.system_time())
}

fn main() {
    let mut args = std::env::args().skip(1).map(|arg| arg.parse::<u64>());
    let seconds = args.next().and_then(Result::ok).unwrap_or(60);
    let refresh = Duration::from_millis(args.next().and_then(Result::ok).unwrap_or(1000));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("tokio runtime: {error}"));
    let readings = runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let task = spawn_supervised(KernelSource::new(refresh), tx);
        // Let the runtime and the first reading settle before the window opens.
        rx.recv().await;
        let (started, cpu_before) = (Instant::now(), cpu_time());
        let mut readings = 0_u32;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        while let Ok(Some(_)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            readings += 1;
        }
        let (wall, cpu) = (started.elapsed(), cpu_time().saturating_sub(cpu_before));
        task.abort();
        println!(
            "kernel counters source: {readings} events in {:.1} s at a {} ms refresh; CPU {:.1} ms = {:.4} % of one core ({:.0} µs per reading)",
            wall.as_secs_f64(),
            refresh.as_millis(),
            cpu.as_secs_f64() * 1e3,
            cpu.as_secs_f64() / wall.as_secs_f64() * 100.0,
            cpu.as_secs_f64() * 1e6 / f64::from(readings.max(1)),
        );
        readings
    });
    if readings == 0 {
        std::process::exit(1);
    }
}
