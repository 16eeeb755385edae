//! The Overview's line on DNS: how the resolver and its servers are doing, in a
//! sentence coloured by the worst of it, which it names first (a server timing out).

use std::net::IpAddr;

use netlens_collectors::Store;
use netlens_collectors::model::{SourceId, SourceState};
use netlens_collectors::store::DnsState;
use ratatui::style::Style;

use super::tones::latency_style;
use crate::format::{Count, Millis};
use crate::theme::Theme;

/// A server that loses at least this share of its queries (timeouts and errors) is
/// failing; any loss at all is worth a warning.
pub(crate) const FAILING_PCT: f64 = 50.0;

/// A server in trouble now: the store's judgement of the last minute
/// ([`DnsState`]), so a server that has recovered stops being named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerTrouble {
    /// The server.
    pub server: IpAddr,
    /// Its queries timed out or answered with an error code in the window.
    pub lost: u64,
    /// Its exchanges in the window.
    pub queries: u64,
    /// Whether they timed out (else: error answers).
    pub timing_out: bool,
}

impl ServerTrouble {
    /// Whether it loses at least [`FAILING_PCT`] of its queries: an error, not a warning.
    pub fn failing(&self) -> bool {
        self.lost as f64 * 100.0 >= FAILING_PCT * self.queries as f64
    }

    /// `3 of 4 timed out in the last minute`.
    pub fn describe(&self) -> String {
        let verb = if self.timing_out { "timed out" } else { "failed" };
        format!("{} of {} {verb} in the last minute", Count(self.lost), Count(self.queries))
    }
}

/// The server doing worst in the last minute, if one is timing out or failing.
pub(crate) fn worst_server(store: &Store) -> Option<ServerTrouble> {
    match store.dns_state() {
        DnsState::TimingOut { server, timeouts, queries } => {
            Some(ServerTrouble { server, lost: timeouts, queries, timing_out: true })
        }
        DnsState::Failing { server, errors, queries } => {
            Some(ServerTrouble { server, lost: errors, queries, timing_out: false })
        }
        DnsState::Quiet | DnsState::Answering => None,
    }
}

/// How DNS is doing, for the Overview's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Health {
    Ok,
    Warn,
    Error,
}

/// The median latency of the answered exchanges in the log.
fn median_latency(store: &Store) -> Option<f64> {
    let mut latencies: Vec<f64> = store.dns().queries().filter_map(|query| query.latency_ms).collect();
    if latencies.is_empty() {
        return None;
    }
    // Nearest rank, as the per-server percentiles.
    let middle = (latencies.len() - 1) / 2;
    let (_, median, _) = latencies.select_nth_unstable_by(middle, f64::total_cmp);
    Some(*median)
}

/// The Overview's DNS line: `● 127.0.0.53 +1 (stub → 2 upstreams) · 1 warning · 2
/// timeouts · 40 queries · p50 5.10ms · NAT64 64:ff9b::/96`, coloured by health; or
/// why there is nothing to say yet.
pub(crate) fn summary(store: &Store, theme: &Theme) -> Vec<(String, Style)> {
    let dns = store.dns();
    let mut spans = Vec::new();
    let Some(config) = dns.config() else {
        let text = match store.source(SourceId::Dns) {
            Some(status) if status.status != SourceState::Ok => {
                format!("dns source {}: {}", status.status.as_str(), status.detail)
            }
            _ => "waiting for the first resolver read…".to_owned(),
        };
        spans.push((text, theme.muted()));
        return spans;
    };
    let counters = dns.counters();
    let capture = store.source(SourceId::DnsCapture).filter(|status| status.status != SourceState::Ok);
    // The worst server decides as much as the capture's own count: timeouts seen by
    // traces and probes reach the server health, not the capture counters.
    let worst = worst_server(store);
    let failing = worst.as_ref().is_some_and(ServerTrouble::failing);
    let health = if config.nameservers.is_empty() || failing {
        Health::Error
    } else if !dns.warnings().is_empty() || counters.timeouts > 0 || capture.is_some() || worst.is_some() {
        Health::Warn
    } else {
        Health::Ok
    };
    let style = match health {
        Health::Ok => theme.ok(),
        Health::Warn => theme.warn(),
        Health::Error => theme.error(),
    };
    spans.push(("● ".to_owned(), style));
    match config.nameservers.as_slice() {
        [] => spans.push(("no nameservers: glibc asks 127.0.0.1".to_owned(), theme.error())),
        [first, rest @ ..] => {
            spans.push((first.to_string(), theme.accent()));
            if !rest.is_empty() {
                spans.push((format!(" +{}", rest.len()), theme.muted()));
            }
        }
    }
    if config.stub {
        let upstreams = match config.upstreams.len() {
            0 => "upstreams unknown".to_owned(),
            1 => "1 upstream".to_owned(),
            n => format!("{n} upstreams"),
        };
        spans.push((format!(" (stub → {upstreams})"), theme.muted()));
    }
    let separator = || (" · ".to_owned(), theme.muted());
    // A capture in trouble makes the counts that follow partial: say so before them,
    // briefly (the reason before its first colon; the DNS tab has the whole of it).
    if let Some(status) = capture {
        let reason = status.detail.split(':').next().unwrap_or_default().trim();
        spans.push(separator());
        spans.push((format!("capture {}: {reason}", status.status.as_str()), theme.warn()));
    }
    // What needs a look before the counts, so a narrow screen cuts the counts.
    match dns.warnings().len() {
        0 => {}
        n => {
            spans.push(separator());
            spans.push((format!("{n} warning{}", if n == 1 { "" } else { "s" }), theme.warn()));
        }
    }
    if let Some(trouble) = worst {
        spans.push(separator());
        let style = if failing { theme.error() } else { theme.warn() };
        spans.push((format!("{} {}", trouble.server, trouble.describe()), style));
    } else if counters.timeouts > 0 {
        let s = if counters.timeouts == 1 { "" } else { "s" };
        spans.push(separator());
        spans.push((format!("{} timeout{s}", Count(counters.timeouts)), theme.warn()));
    }
    if dns.logged() > 0 {
        spans.push(separator());
        spans.push((format!("{} queries", Count(dns.logged())), theme.text()));
        if let Some(median) = median_latency(store) {
            spans.push(separator());
            spans.push((format!("p50 {}", Millis(Some(median))), latency_style(theme, Some(median))));
        }
    }
    if let Some(prefix) = dns.dns64().and_then(|report| report.prefix.as_deref()) {
        spans.push(separator());
        spans.push((format!("NAT64 {prefix}"), theme.info()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;

    use super::*;

    fn texts(spans: &[(String, Style)]) -> String {
        spans.iter().map(|(text, _)| text.as_str()).collect()
    }

    #[test]
    fn the_overview_line_says_how_dns_is_doing() {
        use netlens_collectors::Payload;
        use netlens_collectors::model::SourceStatus;

        let theme = Theme::default();
        let store = fake::store();
        let line = texts(&summary(&store, &theme));
        // 10.0.0.53 timed out on 3 of its 7 queries in the last minute: a warning (not
        // yet half lost), named before the counts.
        assert_eq!(
            line,
            "● 127.0.0.53 +1 (stub → 2 upstreams) · 1 warning · 10.0.0.53 3 of 7 timed out in the last minute · \
             40 queries · p50 5.10ms · NAT64 64:ff9b::/96"
        );
        assert_eq!(summary(&store, &theme)[0].1, theme.warn());
        // A minute later with nothing new, the trouble is history: the line no longer names it.
        let mut later = store.clone();
        let quiet = netlens_collectors::model::SystemFacts::default();
        later.apply(fake::event(
            fake::NOW + time::Duration::minutes(2),
            SourceId::System,
            Payload::System(quiet),
        ));
        assert!(
            !texts(&summary(&later, &theme)).contains("timed out"),
            "{}",
            texts(&summary(&later, &theme))
        );

        let empty = Store::default();
        assert_eq!(texts(&summary(&empty, &theme)), "waiting for the first resolver read…");

        let mut degraded = store.clone();
        let detail = "passive DNS capture needs CAP_NET_RAW: run as root or `setcap cap_net_raw+ep`";
        let status =
            SourceStatus { name: SourceId::DnsCapture, status: SourceState::Degraded, detail: detail.into() };
        degraded.apply(fake::event(fake::NOW, SourceId::DnsCapture, Payload::Status(status)));
        let line = texts(&summary(&degraded, &theme));
        let expected = "● 127.0.0.53 +1 (stub → 2 upstreams) · capture degraded: passive DNS capture needs \
                        CAP_NET_RAW · 1 warning";
        assert!(line.starts_with(expected), "{line}");
    }
}
