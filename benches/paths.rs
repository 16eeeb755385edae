//! Issue-4 budget: re-evaluating 100 targets after a route change in at most 10 ms.
//!
//! - `judge_100`: the pure evaluation chain for 100 targets over a fake network.
//! - `round_100_kernel`: a whole one-shot round against this machine's kernel
//!   (namespace of the bench): open the sockets, dump links, addresses, routes, rules
//!   and neighbours, 100 route lookups plus the defaults, and judge them all. Sends no
//!   packet (no target is probed). An upper bound of a live re-evaluation, which
//!   reuses its sockets.

#![expect(clippy::unwrap_used, reason = "a benchmark: fail loudly")]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use netlens_collectors::model::RouteType;
use netlens_collectors::paths::evaluate::{Context, Inputs, NameCheck, evaluate};
use netlens_collectors::paths::lookup::RouteAnswer;
use netlens_collectors::paths::source::{PathsConfig, evaluate_once};
use netlens_collectors::paths::target::Target;

fn targets() -> Vec<Target> {
    (0..100_u32).map(|i| format!("10.{}.{}.1", i / 250, i % 250).parse().unwrap()).collect()
}

fn judge_100(c: &mut Criterion) {
    let network = netlens_collectors::fake::network();
    let eth0 = network.interfaces.iter().find(|link| link.name == "eth0").unwrap();
    let answer: Result<RouteAnswer, _> = Ok(RouteAnswer {
        route_type: RouteType::Unicast,
        table: 254,
        interface_index: Some(eth0.index),
        interface: Some(eth0.name.clone()),
        source: eth0.addresses.first().map(|a| a.address),
        gateway: Some(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1))),
        metric: Some(100),
        protocol: "dhcp".to_owned(),
        mark: None,
        matched_prefix: Some((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
    });
    let targets = targets();
    let context = Context {
        network: &network,
        default_v4: Some(eth0.index),
        default_v6: None,
        expensive: &[],
        constrained: &[],
    };
    c.bench_function("paths/judge_100", |b| {
        b.iter(|| {
            for target in &targets {
                let inputs = Inputs {
                    target,
                    looked_up: target.destination.lookup_address(),
                    lookup: Some(&answer),
                    no_lookup: None,
                    previous_interface: None,
                    name: &NameCheck::NotNeeded,
                    probe: None,
                    probe_failures: 0,
                };
                black_box(evaluate(&inputs, &context));
            }
        });
    });
}

fn round_100_kernel(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let config = PathsConfig { targets: targets(), ..PathsConfig::default() };
    c.bench_function("paths/round_100_kernel", |b| {
        b.iter(|| black_box(runtime.block_on(evaluate_once(&config)).unwrap()));
    });
}

criterion_group!(benches, judge_100, round_100_kernel);
criterion_main!(benches);
