//! The DNS tab's server table: how each nameserver has been doing, configured ones
//! first.

use std::net::IpAddr;

use netlens_collectors::Store;
use netlens_collectors::store::ServerHealth;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::tones::latency_style;
use crate::format::{Millis, StackText};
use crate::theme::Theme;
use crate::widgets::marks::note;
use crate::widgets::pane::pane;
use crate::widgets::table::{Column, Layout, Measure, Row, header};
use crate::widgets::text::Scratch;

/// Servers the table lists at most.
pub(crate) const MAX_SERVERS: usize = 8;

const ADDRESS: usize = 0;
const ROLE: usize = 1;
const QUERIES: usize = 2;
const TIMEOUTS: usize = 3;
const ERRORS: usize = 4;
const P50: usize = 5;
const P95: usize = 6;

/// Who the server is goes last on a narrow box; how it is doing stays.
const SERVER_COLUMNS: [Column; 7] = [
    Column::left("SERVER", 15, 39, 0, 0),
    Column::left("ROLE", 10, 10, 3, 9),
    Column::right("QUERIES", 7, 0),
    Column::right("TIMEOUTS", 8, 2),
    Column::right("ERR%", 5, 1),
    Column::right("P50", 7, 1),
    Column::right("P95", 7, 2),
];

/// One row of the server table: a configured server (asked or not) or one the
/// capture or a trace saw.
pub(crate) struct ServerRow<'s> {
    address: IpAddr,
    role: &'static str,
    health: Option<&'s ServerHealth>,
}

/// Configured servers first, in the order glibc and the stub use them, then every
/// other server seen, by address.
pub(crate) fn server_rows<'s>(store: &'s Store) -> Vec<ServerRow<'s>> {
    let dns = store.dns();
    let health = dns.servers();
    let mut rows: Vec<ServerRow<'_>> = Vec::new();
    let add = |rows: &mut Vec<ServerRow<'s>>, address: IpAddr, role: &'static str| {
        if !rows.iter().any(|row| row.address == address) {
            rows.push(ServerRow { address, role, health: health.get(&address) });
        }
    };
    if let Some(config) = dns.config() {
        for address in &config.nameservers {
            let role = if config.stub && address.is_loopback() { "stub" } else { "nameserver" };
            add(&mut rows, *address, role);
        }
        for address in &config.upstreams {
            add(&mut rows, *address, "upstream");
        }
    }
    for address in health.keys() {
        add(&mut rows, *address, "seen");
    }
    rows
}

/// The colour of an error rate: none is quiet, some needs a look, most is broken.
const fn error_rate_style(theme: &Theme, pct: f64) -> Style {
    if pct >= 50.0 {
        theme.error()
    } else if pct > 0.0 {
        theme.warn()
    } else {
        theme.muted()
    }
}

pub(crate) fn servers(buf: &mut Buffer, area: Rect, store: &Store, theme: &Theme) {
    if area.is_empty() {
        return;
    }
    let rows = server_rows(store);
    let count = rows.len().to_string();
    let title = [("Servers", theme.title()), (" ", theme.muted()), (count.as_str(), theme.muted())];
    let inner = pane(buf, area, theme.border(), &title, &[("passive log and traces", theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let mut measure = Measure::of(&[ADDRESS]);
    for server in rows.iter().take(MAX_SERVERS) {
        measure.cell(ADDRESS, StackText::new(server.address).as_str().len());
    }
    let layout = if rows.is_empty() {
        Layout::new(&SERVER_COLUMNS, inner.x + 1, inner.width.saturating_sub(1))
    } else {
        Layout::fit(&SERVER_COLUMNS, &measure, inner.x + 1, inner.width.saturating_sub(1))
    };
    header(buf, inner.y, &SERVER_COLUMNS, &layout, theme, None);
    let body = Rect { y: inner.y + 1, height: inner.height.saturating_sub(1), ..inner };
    if rows.is_empty() {
        note(buf, body, "no server configured or seen yet", theme.muted());
        return;
    }
    let mut scratch = Scratch::default();
    for (server, y) in rows.iter().take(MAX_SERVERS).zip(body.top()..body.bottom()) {
        super::finding_marks::draw(
            buf,
            body.x.saturating_sub(1),
            y,
            super::finding_marks::address(store, server.address),
            theme,
        );
        let mut row = Row::new(buf, body, y, &layout, &SERVER_COLUMNS, None, &mut scratch);
        let asked = server.health.is_some_and(|health| health.queries > 0);
        row.display(ADDRESS, server.address, if asked { theme.text() } else { theme.muted() });
        row.text(ROLE, server.role, theme.muted());
        let Some(health) = server.health else {
            row.text(QUERIES, "0", theme.muted());
            for column in [TIMEOUTS, ERRORS, P50, P95] {
                row.text(column, "–", theme.muted());
            }
            continue;
        };
        row.display(QUERIES, health.queries, theme.text());
        let timeouts = if health.timeouts > 0 { theme.warn() } else { theme.muted() };
        row.display(TIMEOUTS, health.timeouts, timeouts);
        let rate = health.error_rate_pct();
        row.display(ERRORS, format_args!("{rate:.0}%"), error_rate_style(theme, rate));
        let (p50, p95) = (health.p50_ms(), health.p95_ms());
        row.display(P50, Millis(p50), latency_style(theme, p50));
        row.display(P95, Millis(p95), latency_style(theme, p95));
    }
}

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;

    use super::*;

    #[test]
    fn servers_list_configured_ones_first() {
        let store = fake::store();
        let rows: Vec<(String, &str)> =
            server_rows(&store).iter().map(|row| (row.address.to_string(), row.role)).collect();
        assert_eq!(
            rows,
            [
                ("127.0.0.53".to_owned(), "stub"),
                ("10.9.9.9".to_owned(), "nameserver"),
                ("10.0.0.53".to_owned(), "upstream"),
                ("10.0.1.53".to_owned(), "upstream"),
            ]
        );
    }
}
