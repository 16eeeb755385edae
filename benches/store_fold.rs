//! Store fold throughput (issue 2 budget: at least 1,000,000 interface events/s), and
//! the fold of one refresh of 10,000 established connections into a store that holds
//! them already (issue 12: the whole process at most 10 ms of CPU per refresh).

//! Run with `cargo bench --bench store_fold`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use netlens_collectors::model::{InterfaceStats, SourceId, TimelineKind};
use netlens_collectors::{Event, Notice, Payload, fake};

const BATCH: u64 = 10_000;

fn counter_events(interfaces: u32) -> Vec<Event> {
    (0..BATCH)
        .map(|n| {
            let index = (n as u32 % interfaces) + 1;
            let stats = InterfaceStats {
                rx_bytes: n * 1500,
                tx_bytes: n * 700,
                rx_packets: n,
                tx_packets: n,
                ..InterfaceStats::default()
            };
            fake::event(
                fake::NOW + time::Duration::milliseconds(n as i64 * 250),
                SourceId::Interfaces,
                Payload::Counters(vec![(index, stats)]),
            )
        })
        .collect()
}

fn notice_events() -> Vec<Event> {
    (0..BATCH)
        .map(|n| {
            fake::event(
                fake::NOW + time::Duration::milliseconds(n as i64),
                SourceId::Interfaces,
                Payload::Notices(vec![Notice::new(
                    TimelineKind::AddressAdded,
                    format!("veth{}", n % 200),
                    format!("10.0.{}.{}/24 added to veth{}", n / 256 % 256, n % 256, n % 200),
                )]),
            )
        })
        .collect()
}

fn fold(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_fold");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("counter_event_200_interfaces", |b| {
        b.iter_batched(
            || (fake::large_store(200, 1000), counter_events(200)),
            |(mut store, events)| {
                for event in events {
                    store.apply(event);
                }
                store
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("timeline_notice_event", |b| {
        b.iter_batched(
            || (fake::large_store(200, 10_000), notice_events()),
            |(mut store, events)| {
                for event in events {
                    store.apply(event);
                }
                store
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();

    let mut reread = c.benchmark_group("store_reread");
    reread.throughput(Throughput::Elements(200));
    reread.bench_function("network_table_200_interfaces", |b| {
        let table = fake::large_store(200, 0);
        let interfaces: Vec<_> = table.interfaces().map(|entry| entry.info.clone()).collect();
        b.iter_batched(
            || {
                let event = fake::event(
                    fake::NOW + time::Duration::seconds(1),
                    SourceId::Interfaces,
                    Payload::Network(netlens_collectors::model::NetworkTable {
                        interfaces: interfaces.clone(),
                        ..fake::network()
                    }),
                );
                (table.clone(), event)
            },
            |(mut store, event)| {
                store.apply(event);
                store
            },
            BatchSize::LargeInput,
        );
    });
    reread.finish();

    let mut sockets = c.benchmark_group("store_connections");
    sockets.throughput(Throughput::Elements(10_000));
    // A full dump, and a table as the socket watch delivers it at steady state (a
    // thirtieth read, after a table that found the rest quiet).
    let tables = [
        ("dump_10k_established", None, fake::large_socket_table(10_000, 3)),
        (
            "watched_10k_established",
            Some(fake::watched_socket_table(10_000, 3)),
            fake::watched_socket_table(10_000, 4),
        ),
    ];
    for (name, before, table) in tables {
        sockets.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let event = fake::event(
                        fake::NOW + time::Duration::seconds(2),
                        SourceId::Connections,
                        Payload::Sockets(table.clone()),
                    );
                    // A store of its own, as the app's is: a clone would share every
                    // entry with the original, and the fold would copy each it changes.
                    let mut store = fake::large_connection_store(10_000);
                    if let Some(before) = &before {
                        store.apply(fake::event(
                            fake::NOW,
                            SourceId::Connections,
                            Payload::Sockets(before.clone()),
                        ));
                    }
                    (store, event)
                },
                |(mut store, event)| {
                    store.apply(event);
                    store
                },
                BatchSize::LargeInput,
            );
        });
    }
    sockets.finish();
}

criterion_group!(benches, fold);
criterion_main!(benches);
