//! The committed JSON Schema of the export (`schema/snapshot-v1.schema.json`) is the
//! one generated from the typed document, and it is strict enough to catch a missing
//! or misspelt field.
//!
//! After changing the document types, regenerate the file with
//! `NETLENS_UPDATE_SCHEMA=1 cargo test --test snapshot_schema` and commit it.

mod support;

use netlens_collectors::fake;
use netlens_collectors::snapshot::{Snapshot, schema};
use serde_json::Value;
use support::schema::{SCHEMA_PATH, check_snapshot, is_valid_snapshot};

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&schema::json_schema()).unwrap_or_else(|e| panic!("{e}"));
    text.push('\n');
    text
}

#[test]
fn committed_schema_is_the_generated_one() {
    let generated = generated();
    if std::env::var_os("NETLENS_UPDATE_SCHEMA").is_some() {
        std::fs::write(SCHEMA_PATH, &generated).unwrap_or_else(|e| panic!("writing {SCHEMA_PATH}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(SCHEMA_PATH).unwrap_or_default();
    assert!(
        committed == generated,
        "{SCHEMA_PATH} differs from the schema generated from the snapshot types: if the change is \
         intended (field names are a contract, DESIGN.md §4), regenerate it with \
         `NETLENS_UPDATE_SCHEMA=1 cargo test --test snapshot_schema` and commit it"
    );
}

fn fake_snapshot() -> Value {
    serde_json::to_value(Snapshot::from_store(&fake::store(), fake::NOW)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_fake_snapshot_matches_and_reads_back() {
    check_snapshot(&fake_snapshot());
}

#[test]
fn a_missing_field_is_caught() {
    for (pointer, field) in [
        ("", "taken_at"),
        ("/connections/0", "remote_name"),
        ("/interfaces/0", "first_seen"),
        ("/dns", "queries_logged"),
        ("/paths/0", "since"),
    ] {
        let mut doc = fake_snapshot();
        let object = doc.pointer_mut(pointer).and_then(Value::as_object_mut);
        let object = object.unwrap_or_else(|| panic!("{pointer} is an object"));
        assert!(object.remove(field).is_some(), "{pointer}/{field} exists");
        assert!(!is_valid_snapshot(&doc), "{pointer}/{field} missing went unnoticed");
    }
}

#[test]
fn a_misspelt_field_or_value_is_caught() {
    let mut doc = fake_snapshot();
    let connection = doc.pointer_mut("/connections/0").and_then(Value::as_object_mut);
    let connection = connection.unwrap_or_else(|| panic!("a connection"));
    let remote = connection.remove("remote").unwrap_or_default();
    connection.insert("remote_addr".to_owned(), remote);
    assert!(!is_valid_snapshot(&doc), "remote spelt remote_addr went unnoticed");

    for (pointer, wrong) in [
        ("/connections/0/state", "ESTABLISHED"),
        ("/taken_at", "2026-03-14 09:26:53"),
        ("/interfaces/0/kind", "loop"),
        ("/schema_version", "1"),
    ] {
        let mut doc = fake_snapshot();
        *doc.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = Value::from(wrong);
        assert!(!is_valid_snapshot(&doc), "{pointer} = {wrong:?} went unnoticed");
    }
}

/// A store whose bounded lists overflowed: more passive queries than the export keeps,
/// more traces than the store keeps, and a timeline with folded repeats.
fn overflowing_store() -> netlens_collectors::Store {
    use netlens_collectors::model::{
        CaptureCounters, DnsQuery, DnsQueryBatch, DnsTransport, SourceId, TimelineKind,
    };
    use netlens_collectors::{Event, Mono, Notice, Payload};

    let mut store = fake::store();
    let start = fake::NOW - time::Duration::minutes(5);
    let query = |i: u32| DnsQuery {
        at: start + time::Duration::milliseconds(i64::from(i)),
        pid: Some(4242),
        process: Some("curl".to_owned()),
        attribution: None,
        cgroup: None,
        name: format!("host{i}.lab.test"),
        qtype: "A".to_owned(),
        server: "10.9.0.1:53".parse().unwrap_or_else(|e| panic!("{e}")),
        client: format!("10.9.0.2:{}", 20_000 + i).parse().unwrap_or_else(|e| panic!("{e}")),
        transport: DnsTransport::Udp,
        rcode: Some("NOERROR".to_owned()),
        answers: 1,
        latency_ms: Some(0.5),
    };
    let before = store.dns().logged();
    let batch =
        DnsQueryBatch { queries: (0..3_519).map(query).collect(), counters: CaptureCounters::default() };
    store.apply(Event::stamped(
        fake::NOW,
        Mono::from_nanos(i64::MAX / 2),
        SourceId::DnsCapture,
        Payload::DnsQueries(batch),
    ));
    assert_eq!(store.dns().logged(), before + 3_519);
    let churn = Notice::new(TimelineKind::LinkChanged, "veth9", "veth9 carrier lost");
    for _ in 0..3 {
        store.apply(Event::stamped(
            fake::NOW,
            Mono::from_nanos(i64::MAX / 2),
            SourceId::Interfaces,
            Payload::Notices(vec![churn.clone()]),
        ));
    }
    store
}

#[test]
fn a_cut_list_says_its_total_and_still_matches_the_schema() {
    let store = overflowing_store();
    let doc = serde_json::to_value(Snapshot::from_store(&store, fake::NOW)).unwrap_or_else(|e| panic!("{e}"));
    check_snapshot(&doc);
    let dns = &doc["dns"];
    let kept = dns["queries"].as_array().map_or(0, Vec::len);
    assert_eq!(kept, netlens_collectors::snapshot::EXPORTED_QUERIES);
    assert_eq!(dns["queries_total"].as_u64(), Some(store.dns().logged()));
    assert!(
        store.dns().logged() > kept as u64 + 3_000,
        "the cut is visible: {kept} of {}",
        store.dns().logged()
    );
    assert_eq!(dns["traces_total"].as_u64(), Some(store.dns().traced()));
    assert_eq!(doc["events_total"].as_u64(), Some(store.timeline().appended()));
    assert_eq!(doc["events_folded"].as_u64(), Some(store.timeline().folded()));
    assert!(store.timeline().folded() >= 2, "the repeats were folded");
    assert_eq!(doc["events"].as_array().map_or(0, Vec::len), store.timeline().len());
}
