//! Checks against the committed export schema (`schema/snapshot-v1.schema.json`,
//! generated from the typed document): every document the tests make must validate,
//! deserialise into its type and re-serialise to the same JSON.

use std::sync::OnceLock;

use netlens_collectors::model::{DnsTrace, PathState};
use netlens_collectors::snapshot::Snapshot;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Where the committed schema lives.
pub const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/snapshot-v1.schema.json");

/// The committed schema, parsed once.
pub fn committed() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text =
            std::fs::read_to_string(SCHEMA_PATH).unwrap_or_else(|e| panic!("reading {SCHEMA_PATH}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{SCHEMA_PATH} is not JSON: {e}"))
    })
}

/// The committed schema narrowed to one of its definitions (`PathState`, `DnsTrace`).
fn definition(name: &str) -> Value {
    let root = committed();
    assert!(root["$defs"][name].is_object(), "{SCHEMA_PATH} has no $defs/{name}");
    serde_json::json!({
        "$schema": root["$schema"],
        "$ref": format!("#/$defs/{name}"),
        "$defs": root["$defs"],
    })
}

/// Panic with every violation of `schema` in `value`.
fn validate(schema: &Value, value: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{SCHEMA_PATH}: {e}"));
    let errors: Vec<String> =
        validator.iter_errors(value).map(|error| format!("{} at {}", error, error.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not match {SCHEMA_PATH}:\n{}\nin {value}", errors.join("\n"));
}

/// Read `value` into `T` and write it back: the JSON must come back unchanged.
fn round_trip<T: Serialize + DeserializeOwned>(value: &Value, what: &str) {
    let typed: T =
        serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{what} does not load: {e}"));
    let again = serde_json::to_value(&typed).unwrap_or_else(|e| panic!("{what} does not serialise: {e}"));
    assert!(again == *value, "{what} changes when read back and written again:\n{again}\nwas\n{value}");
}

/// Whether `value` matches the committed schema (no panic), for tests of the schema itself.
pub fn is_valid_snapshot(value: &Value) -> bool {
    jsonschema::validator_for(committed()).is_ok_and(|validator| validator.is_valid(value))
}

/// A snapshot document: valid, and the same after a trip through [`Snapshot`].
pub fn check_snapshot(doc: &Value) {
    validate(committed(), doc, "the snapshot");
    round_trip::<Snapshot>(doc, "the snapshot");
}

/// A DNS trace (`netlens trace --json`, `dns.traces[]`).
pub fn check_trace(trace: &Value, path: &str) {
    validate(&definition("DnsTrace"), trace, path);
    round_trip::<DnsTrace>(trace, path);
}

/// A path state (`netlens path --json`, `paths[]`).
pub fn check_path(value: &Value, path: &str) {
    validate(&definition("PathState"), value, path);
    round_trip::<PathState>(value, path);
}

/// A finding (`netlens doctor --json`, `findings[]`).
pub fn check_finding(value: &Value, path: &str) {
    validate(&definition("Finding"), value, path);
    round_trip::<netlens_collectors::model::Finding>(value, path);
}
