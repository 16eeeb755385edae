//! The families of a fabricated store, and both exposition formats.
#![cfg(feature = "fake")]

use super::*;
use crate::fake;

const BUILD: BuildInfo = BuildInfo { version: "9.9.9" };

fn named<'a>(families: &'a [Family], name: &str) -> &'a Family {
    families.iter().find(|family| family.name == name).unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn interface_counters_are_the_stores_and_a_gone_interface_has_none() {
    let store = fake::store();
    let families = families(&store, &BUILD);
    let received = named(&families, "netlens_interface_receive_bytes");
    assert_eq!(received.kind, Kind::Counter);
    let mut seen = 0;
    for entry in store.interfaces() {
        let Some(stats) = &entry.info.stats else { continue };
        let series = received
            .series_with(&[("interface", &entry.info.name)])
            .unwrap_or_else(|| panic!("{}", entry.info.name));
        assert_eq!(series.value, Value::Count(stats.rx_bytes));
        seen += 1;
    }
    assert!(seen > 0 && received.series.len() == seen);
    assert!(received.series_with(&[("interface", "no-such-interface")]).is_none());
}

#[test]
fn each_path_has_exactly_one_current_status() {
    let store = fake::store();
    let families = families(&store, &BUILD);
    let status = named(&families, "netlens_path_status");
    assert!(!store.paths().is_empty());
    for path in store.paths() {
        let ones: Vec<&Series> = status
            .series
            .iter()
            .filter(|s| s.labels.contains(&("target", path.target.clone())) && s.value == Value::Count(1))
            .collect();
        assert_eq!(ones.len(), 1, "{}", path.target);
        assert!(ones[0].labels.contains(&("status", path.status.as_str().to_owned())));
    }
}

#[test]
fn the_text_format_names_counters_by_their_samples_and_open_metrics_ends_with_eof() {
    let families = families(&fake::store(), &BUILD);
    let text = render(families.clone(), Format::Prometheus);
    assert!(text.contains("# TYPE netlens_interface_receive_bytes_total counter\n"), "{text}");
    assert!(text.contains("# HELP netlens_interface_receive_bytes_total Bytes received"), "{text}");
    assert!(text.contains("netlens_build_info{version=\"9.9.9\"} 1\n"), "{text}");
    assert!(!text.contains("# EOF"), "{text}");
    let open = render(families, Format::OpenMetrics);
    assert!(open.contains("# TYPE netlens_interface_receive_bytes counter\n"), "{open}");
    assert!(open.ends_with("# EOF\n"), "{open}");
    // The same samples in both.
    let samples = |text: &str| {
        text.lines().filter(|line| !line.starts_with('#')).map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(samples(&text), samples(&open));
}

#[test]
fn the_format_follows_the_accept_header() {
    assert_eq!(Format::from_accept(None), Format::Prometheus);
    assert_eq!(Format::from_accept(Some("text/plain")), Format::Prometheus);
    let prometheus =
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1";
    assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
}

#[test]
fn a_status_change_counts_one_transition_and_a_probe_lands_in_its_bucket() {
    use crate::model::{PathStatus, SourceId};
    use crate::{Payload, fake::event};
    let transitions_of = |families: &[Family], target: &str| match named(families, "netlens_path_transitions")
        .series_with(&[("target", target)])
        .map(|s| s.value.clone())
    {
        Some(Value::Count(n)) => n,
        other => panic!("{target}: {other:?}"),
    };
    let mut store = fake::store();
    let before = families(&store, &BUILD);
    let mut paths = store.paths().to_vec();
    let changed = paths[0].target.clone();
    paths[0].status = if paths[0].status == PathStatus::Satisfied {
        PathStatus::Unsatisfied
    } else {
        PathStatus::Satisfied
    };
    let probed = paths.iter().position(|path| path.probe.is_some());
    if let Some(probe) = probed.and_then(|at| paths[at].probe.as_mut()) {
        probe.sent += 1;
        probe.ok = true;
        probe.rtt_ms = Some(7.0);
    }
    store.apply(event(
        fake::NOW + time::Duration::seconds(5),
        SourceId::Paths,
        Payload::Paths(paths.clone()),
    ));
    let families = families(&store, &BUILD);
    for path in &paths {
        let counted = transitions_of(&families, &path.target) - transitions_of(&before, &path.target);
        assert_eq!(counted, u64::from(path.target == changed), "{}", path.target);
    }
    let Some(probed) = probed else { return };
    let rtt = named(&families, "netlens_path_probe_rtt_seconds");
    let series =
        rtt.series_with(&[("target", &paths[probed].target)]).unwrap_or_else(|| panic!("no rtt series"));
    let Value::Histogram { count, buckets, .. } = &series.value else { panic!("{:?}", series.value) };
    assert!(*count >= 1);
    // 7 ms is in the (5 ms, 10 ms] bucket.
    assert!(buckets.iter().any(|&(bound, n)| (bound - 0.01).abs() < 1e-12 && n >= 1), "{buckets:?}");
    let text = render(families, Format::Prometheus);
    assert!(text.contains("# TYPE netlens_path_probe_rtt_seconds histogram"), "{text}");
    assert!(text.contains("netlens_path_probe_rtt_seconds_bucket{"), "{text}");
}
