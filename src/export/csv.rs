//! The connection table as CSV (RFC 4180, header row), streamed to a writer. Numbers
//! are written as the JSON writes them, so a spreadsheet and a JSON reader agree.

use std::io::{self, Write};

use netlens_collectors::snapshot::{ConnectionDoc, Snapshot};

use super::markdown::word;
use super::rfc3339;

/// The columns of the CSV export, one row per connection.
const COLUMNS: [&str; 20] = [
    "protocol",
    "family",
    "state",
    "local",
    "remote",
    "remote_name",
    "interface",
    "pid",
    "process",
    "user",
    "rx_bytes_per_s",
    "tx_bytes_per_s",
    "rtt_ms",
    "min_rtt_ms",
    "total_retrans",
    "bytes_received",
    "bytes_acked",
    "opened_at",
    "closed_at",
    "warnings",
];

/// Render the connections of `doc` as CSV, so a redacted snapshot gives a redacted table.
pub fn write(doc: &Snapshot, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(COLUMNS.join(",").as_bytes())?;
    out.write_all(b"\r\n")?;
    for connection in &doc.connections {
        out.write_all(row(connection).join(",").as_bytes())?;
        out.write_all(b"\r\n")?;
    }
    Ok(())
}

/// One connection's fields, in [`COLUMNS`] order; an absent value is an empty field.
fn row(c: &ConnectionDoc) -> [String; 20] {
    let tcp = c.tcp.as_ref();
    [
        word(&c.protocol),
        word(&c.family),
        word(&c.state),
        c.local.to_string(),
        c.remote.to_string(),
        text(c.remote_name.as_deref()),
        text(c.interface.as_deref()),
        number(c.pid),
        text(c.process.as_deref()),
        text(c.user.as_deref()),
        float(c.rx_bytes_per_s),
        float(c.tx_bytes_per_s),
        float(tcp.map(|tcp| tcp.rtt_ms)),
        float(tcp.and_then(|tcp| tcp.min_rtt_ms)),
        number(tcp.map(|tcp| tcp.total_retrans)),
        number(tcp.and_then(|tcp| tcp.bytes_received)),
        number(tcp.and_then(|tcp| tcp.bytes_acked)),
        c.opened_at.map(rfc3339).unwrap_or_default(),
        c.closed_at.map(rfc3339).unwrap_or_default(),
        field(&c.warnings.join(" ")),
    ]
}

fn text(value: Option<&str>) -> String {
    value.map(field).unwrap_or_default()
}

fn number<T: ToString>(value: Option<T>) -> String {
    value.map(|n| n.to_string()).unwrap_or_default()
}

/// A float as JSON writes it (`1450000.0`); empty when absent or not finite.
fn float(value: Option<f64>) -> String {
    match value {
        Some(value) if value.is_finite() => serde_json::to_string(&value).unwrap_or_default(),
        _ => String::new(),
    }
}

/// A field quoted when it holds a separator, a quote or a line break.
pub(super) fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
