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
