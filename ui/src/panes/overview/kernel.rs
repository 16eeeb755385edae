//! The Overview's Kernel section: the namespace's protocol counters that explain most
//! trouble, as rates over the last reading (`tcp      seg 350/s · retrans 0/s`), and
//! how full the kernel's tables are (`tables   conntrack 212/262144 · ports 12/28232`).

use netlens_collectors::Store;
use netlens_collectors::store::{CounterTable, ports_in_use};
use ratatui::style::Style;

use super::LABEL;
use crate::theme::Theme;
use crate::widgets::text::Doc;

/// A counter's rate as `name 12/s` (or `name –` before two readings), styled as a
/// problem when `bad` and it grows.
fn rate(
    store: &Store,
    table: CounterTable,
    counter: &str,
    name: &str,
    bad: bool,
    theme: &Theme,
) -> (String, Style) {
    match store.kernel().per_second(table, counter) {
        Some(per_s) => {
            let style = if bad && per_s > 0.0 { theme.warn() } else { theme.text() };
            let value =
                if per_s >= 10.0 || per_s == 0.0 { format!("{per_s:.0}") } else { format!("{per_s:.1}") };
            (format!("{name} {value}/s"), style)
        }
        None => (format!("{name} –"), theme.muted()),
    }
}

/// The Kernel section's lines, once the kernel counters source has read once.
pub(super) fn lines(doc: &mut Doc, store: &Store, theme: &Theme) {
    let Some(latest) = store.kernel().latest() else { return };
    let label = |text: &str| (format!("{text:<LABEL$}"), theme.muted());
    let dot = || (" · ".to_owned(), theme.muted());
    let snmp = CounterTable::Snmp;
    let netstat = CounterTable::Netstat;
    doc.line([
        label("tcp"),
        rate(store, snmp, "TcpRetransSegs", "retrans", true, theme),
        dot(),
        rate(store, netstat, "TcpExtListenOverflows", "overflow", true, theme),
    ]);
    doc.line([
        label("udp"),
        rate(store, snmp, "UdpInDatagrams", "in", false, theme),
        dot(),
        rate(store, snmp, "UdpRcvbufErrors", "rcvbuf err", true, theme),
    ]);
    let mut tables = vec![label("tables")];
    let mut fill = |name: &str, used: u64, max: u64| {
        if tables.len() > 1 {
            tables.push(dot());
        }
        let full = max > 0 && used.saturating_mul(10) >= max.saturating_mul(9);
        tables.push((format!("{name} "), theme.muted()));
        tables.push((used.to_string(), if full { theme.error() } else { theme.text() }));
        if max > 0 {
            tables.push((format!("/{max}"), theme.muted()));
        }
    };
    if let Some(conntrack) = latest.conntrack {
        fill("conntrack", conntrack.count, conntrack.max);
    }
    if let Some(range) = latest.port_range {
        let busiest = ports_in_use(store.connections(), range).first().map_or(0, |port| port.in_use);
        fill("ports", u64::from(busiest), u64::from(range.size()));
    }
    if let Some(files) = latest.files {
        // fs.file-max is often "unlimited" (LONG_MAX): only the count then says anything.
        if files.max >= u64::MAX / 4 {
            fill("files", files.allocated, 0);
        } else {
            fill("files", files.allocated, files.max);
        }
    }
    if tables.len() > 1 {
        doc.line(tables);
    }
    let softnet = store.kernel().softnet_delta();
    if store.kernel().interval().is_some() {
        let dropped: u64 = softnet.iter().map(|cpu| cpu.dropped).sum();
        let squeezed: u64 = softnet.iter().map(|cpu| cpu.time_squeeze).sum();
        let style = |n: u64| if n > 0 { theme.warn() } else { theme.text() };
        doc.line([
            label("softnet"),
            (dropped.to_string(), style(dropped)),
            (" dropped".to_owned(), theme.muted()),
            dot(),
            (squeezed.to_string(), style(squeezed)),
            (" squeezed".to_owned(), theme.muted()),
        ]);
    }
}
