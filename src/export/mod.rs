//! Snapshot export (DESIGN.md §4, schema version 1): the typed document
//! (`netlens_collectors::snapshot`) redacted, rendered to JSON, Markdown or CSV and
//! streamed to its destination.

mod csv;
mod markdown;
mod markdown_kernel;
mod naming;
mod redact;

use std::io::{self, Write};

use netlens_collectors::model::Timestamp;
pub use netlens_collectors::snapshot::Snapshot;

pub use naming::{bundle_name, file_name};
pub use redact::redact;

/// The document as pretty JSON with a final newline, streamed: no intermediate
/// value or string holds the whole text.
pub fn write_json(doc: &Snapshot, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    out.write_all(b"\n")
}

/// The document as a Markdown report.
pub fn write_markdown(doc: &Snapshot, out: &mut dyn Write) -> io::Result<()> {
    markdown::write(doc, out)
}

/// The document's connection table as CSV.
pub fn write_csv(doc: &Snapshot, out: &mut dyn Write) -> io::Result<()> {
    csv::write(doc, out)
}

/// A time as the JSON writes it (RFC 3339 UTC).
pub fn rfc3339(at: Timestamp) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests;
