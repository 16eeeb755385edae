//! Evaluating every rule on a store with 10,000 sockets and 200 interfaces (issue 13:
//! at most 1 ms), with counters that make the socket rules walk the whole table
//! (accept-queue overflows and UDP receive errors rising); and one reading of the
//! kernel counter files.

//! Run with `cargo bench --bench findings`.

use criterion::{Criterion, criterion_group, criterion_main};
use netlens_collectors::clock::{Mono, Stamp};
use netlens_collectors::model::{Conntrack, FileTable, KernelCounters, PortRange, SourceId};
use netlens_collectors::{Payload, fake};

fn reading(n: i64) -> KernelCounters {
    let mut counters = KernelCounters { netns: 1, ..KernelCounters::default() };
    counters.netstat.insert("TcpExtListenOverflows".to_owned(), 10 * n);
    counters.snmp.insert("UdpRcvbufErrors".to_owned(), 100 * n);
    counters.snmp.insert("Udp6RcvbufErrors".to_owned(), 0);
    counters.conntrack = Some(Conntrack { count: 1000, max: 262_144 });
    counters.files = Some(FileTable { allocated: 9_000, max: 1_000_000 });
    counters.port_range = Some(PortRange { low: 32768, high: 60999 });
    counters
}

fn evaluate(c: &mut Criterion) {
    let mut store = fake::large_connection_store(10_000);
    for n in 1..=2 {
        let at = fake::NOW + time::Duration::seconds(n);
        store.apply(fake::event(at, SourceId::Kernel, Payload::Kernel(Box::new(reading(n)))));
    }
    assert_eq!(store.connections().len(), 10_000);
    let mut second = 0_i64;
    c.bench_function("findings_evaluate_10k_sockets_200_interfaces", |b| {
        b.iter(|| {
            // A second apart: every call evaluates (the engine runs at most every 500 ms).
            second += 1;
            let step = time::Duration::seconds(second);
            store.evaluate_findings(Stamp { wall: fake::NOW + step, mono: Mono::ZERO + step });
        });
    });
}

/// One reading of every counter file (issue 13: the source at the default refresh of
/// 1 s costs at most 0.05 % of a core, so a reading at most 500 µs).
fn read_counters(c: &mut Criterion) {
    let files = netlens_collectors::kernel::CounterFiles::default();
    c.bench_function("kernel_counters_read", |b| b.iter(|| netlens_collectors::kernel::read(&files)));
}

criterion_group!(benches, evaluate, read_counters);
criterion_main!(benches);
