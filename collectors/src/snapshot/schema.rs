//! The JSON Schema of the snapshot document, generated from its types.
//!
//! The schema describes what netlens *writes* (serialise contract): every field is
//! required, `null` where the type is optional, except the two the writer leaves out
//! when they hold nothing (`events[].count` when 1, `attempts[].error` when absent).

use schemars::{Schema, SchemaGenerator, generate::SchemaSettings, json_schema};

use super::Snapshot;
use super::serde_helpers::PROBE_KINDS;

/// The JSON Schema (draft 2020-12) of [`Snapshot`], as committed in
/// `schema/snapshot-v1.schema.json`.
#[must_use]
pub fn json_schema() -> Schema {
    SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<Snapshot>()
}

/// An RFC 3339 UTC time, as `time::serde::rfc3339` writes it.
pub(crate) fn timestamp(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time", "pattern": "Z$" })
}

/// An optional RFC 3339 UTC time.
pub(crate) fn optional_timestamp(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["string", "null"], "format": "date-time", "pattern": "Z$" })
}

/// The schema version this layout is: exactly 1.
pub(crate) fn schema_version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "const": super::SCHEMA_VERSION })
}

/// A probe kind: one of the names the probes use.
pub(crate) fn probe_kind(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": PROBE_KINDS })
}
