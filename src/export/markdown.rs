//! The Markdown report: the snapshot as tables a person reads, streamed to a writer.
//! Numbers use the TUI's formats (`netlens_ui::format`), so a value reads the same on
//! screen and in the report.

use std::fmt::Display;
use std::io::{self, Write};

use netlens_collectors::model::{DnsTrace, PathState, Route, TunnelMode};
use netlens_collectors::snapshot::{ConnectionDoc, DnsSection, Snapshot};
use netlens_ui::format::{Count, Millis, Percent, Rate};
use serde::Serialize;

use super::rfc3339;

/// Connections shown in the Markdown report at most (busiest first).
const MARKDOWN_CONNECTIONS: usize = 100;

/// Render `doc` as a Markdown report.
pub fn write(doc: &Snapshot, out: &mut dyn Write) -> io::Result<()> {
    host(out, doc)?;
    findings(out, doc)?;
    sources(out, doc)?;
    interfaces(out, doc)?;
    capture(out, doc)?;
    paths(out, &doc.paths)?;
    dns(out, &doc.dns)?;
    routing(out, doc)?;
    super::markdown_kernel::write(out, doc.kernel.as_ref())?;
    connections(out, &doc.connections)?;
    out.write_all(b"\n## Events (oldest first)\n\n")?;
    let held = doc.events.len() as u64;
    if doc.events_total > held {
        writeln!(out, "The newest {} of {} lines.", Count(held), Count(doc.events_total))?;
    }
    if doc.events_folded > 0 {
        writeln!(
            out,
            "{} repeated events folded into the lines that count them (×N).",
            Count(doc.events_folded)
        )?;
    }
    out.write_all(b"\n| at | source | kind | subject | detail |\n|---|---|---|---|---|\n")?;
    for event in &doc.events {
        let count = match (event.count, event.last_at) {
            (1, _) => String::new(),
            (count, Some(last)) => format!(" (×{count}, the last at {})", rfc3339(last)),
            (count, None) => format!(" (×{count})"),
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {}{count} |",
            rfc3339(event.at),
            word(&event.source),
            word(&event.kind),
            cell(&event.subject),
            cell(&event.detail)
        )?;
    }
    Ok(())
}

/// Text for a table cell: pipes escaped.
pub(super) fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// An optional value, a dash when absent.
pub(super) fn or_dash<T: Display>(value: Option<T>) -> String {
    value.map_or_else(|| "–".to_owned(), |value| value.to_string())
}

/// An optional text cell, a dash when absent.
pub(super) fn text_or_dash(text: Option<&str>) -> String {
    text.map_or_else(|| "–".to_owned(), cell)
}

/// Items separated by spaces.
pub(super) fn list<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|item| item.to_string()).collect::<Vec<_>>().join(" ")
}

/// An enum's schema name (`established`, `ipv4`, `unicast`), as the JSON writes it.
pub(super) fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn host(out: &mut dyn Write, doc: &Snapshot) -> io::Result<()> {
    let host = &doc.host;
    writeln!(out, "# netlens snapshot of {}\n", cell(&host.hostname))?;
    writeln!(
        out,
        "Taken {} by netlens {} (schema {}). Kernel {}, network namespace {}.\n",
        rfc3339(doc.taken_at),
        cell(&doc.netlens_version),
        doc.schema_version,
        cell(&host.kernel),
        host.netns.as_deref().unwrap_or("of netlens itself"),
    )?;
    let privileges = &host.privileges;
    let capabilities = if privileges.capabilities.is_empty() {
        "none".to_owned()
    } else {
        privileges.capabilities.join(", ")
    };
    writeln!(
        out,
        "Privileges after set-up: root {}, capabilities {}, no_new_privs {}, landlock {}.\n",
        privileges.root,
        cell(&capabilities),
        privileges.no_new_privs,
        privileges.landlock.as_str()
    )?;
    Ok(())
}

/// Open findings first, each with its evidence, cause and fix; then the closed ones.
fn findings(out: &mut dyn Write, doc: &Snapshot) -> io::Result<()> {
    let open = doc.findings.iter().filter(|f| f.closed_at.is_none()).count();
    writeln!(out, "## Findings\n")?;
    if doc.findings.is_empty() {
        return writeln!(out, "None: no rule found a problem.\n");
    }
    writeln!(out, "{open} open, {} recently closed.\n", doc.findings.len() - open)?;
    for finding in &doc.findings {
        let state = finding.closed_at.map_or_else(
            || format!("open since {}", rfc3339(finding.opened_at)),
            |closed| format!("{} – {}, closed", rfc3339(finding.opened_at), rfc3339(closed)),
        );
        writeln!(out, "### {}: {}\n", finding.severity.as_str(), cell(&finding.title))?;
        writeln!(out, "`{}` on {}, {state}.\n", finding.rule, cell(&finding.subject))?;
        out.write_all(b"| fact | value |\n|---|---|\n")?;
        for evidence in &finding.evidence {
            writeln!(out, "| {} | {} |", cell(&evidence.fact), cell(&evidence.value))?;
        }
        writeln!(out, "\nCause: {}\n\nFix: `{}`\n", cell(&finding.cause), finding.fix.replace('`', "'"))?;
    }
    Ok(())
}

fn sources(out: &mut dyn Write, doc: &Snapshot) -> io::Result<()> {
    out.write_all(b"## Sources\n\n| source | status | detail |\n|---|---|---|\n")?;
    for source in &doc.sources {
        writeln!(out, "| {} | {} | {} |", word(&source.name), word(&source.status), cell(&source.detail))?;
    }
    Ok(())
}

fn interfaces(out: &mut dyn Write, doc: &Snapshot) -> io::Result<()> {
    out.write_all(b"\n## Interfaces\n\n| # | name | kind | state | carrier | MTU | MAC | rx/s | tx/s | addresses |\n|---|---|---|---|---|---|---|---|---|---|\n")?;
    for entry in &doc.interfaces {
        let interface = &entry.interface;
        let addresses: Vec<String> = interface
            .addresses
            .iter()
            .map(|a| {
                let flags = list(a.flags.names());
                let flags = if flags.is_empty() { String::new() } else { format!(" ({flags})") };
                format!("{}/{}{flags}", a.address, a.prefix_len)
            })
            .collect();
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            interface.index,
            cell(&interface.name),
            word(&interface.kind),
            word(&interface.oper_state),
            yes_no(interface.carrier),
            interface.mtu,
            text_or_dash(interface.mac.as_deref()),
            Rate(entry.rates.map(|r| r.rx_bytes_per_s)),
            Rate(entry.rates.map(|r| r.tx_bytes_per_s)),
            addresses.join("<br>"),
        )?;
    }
    Ok(())
}

/// The packet capture's kernel counters, when a capture ran.
fn capture(out: &mut dyn Write, doc: &Snapshot) -> io::Result<()> {
    let Some(capture) = &doc.capture else { return Ok(()) };
    writeln!(
        out,
        "\n## Capture\n\n{} packets passed the capture filter; the kernel dropped {} (ring full).\n",
        Count(capture.packets),
        Count(capture.dropped)
    )?;
    out.write_all(b"| interface | packets | dropped |\n|---|---|---|\n")?;
    for interface in &capture.interfaces {
        writeln!(
            out,
            "| {} | {} | {} |",
            cell(&interface.name),
            Count(interface.packets),
            Count(interface.dropped)
        )?;
    }
    Ok(())
}

fn paths(out: &mut dyn Write, paths: &[PathState]) -> io::Result<()> {
    out.write_all(b"\n## Paths\n\n| target | status | reason | interface | via | source | tunnel | v4 | v6 | dns | probe | since |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")?;
    for path in paths {
        let reason = match (&path.reason, &path.reason_subject) {
            (Some(reason), Some(subject)) => format!("{} {subject}", word(reason)),
            (Some(reason), None) => word(reason),
            _ => "–".to_owned(),
        };
        let probe = match &path.probe {
            None => "–".to_owned(),
            Some(probe) if probe.ok => {
                format!("{} {}, {} lost", probe.kind, Millis(probe.rtt_ms), Percent(probe.loss_pct))
            }
            Some(probe) => format!("{} failed: {}", probe.kind, text_or_dash(probe.error.as_deref())),
        };
        writeln!(
            out,
            "| {} | {} | {reason} | {} | {} | {} | {} | {} | {} | {} | {probe} | {} |",
            cell(&path.target),
            word(&path.status),
            text_or_dash(path.interface.as_deref()),
            or_dash(path.gateway),
            or_dash(path.source),
            or_dash(path.tunnel.map(TunnelMode::as_str)),
            path.ipv4,
            path.ipv6,
            path.dns,
            rfc3339(path.since),
        )?;
    }
    for path in paths {
        let failed: Vec<String> = path
            .checks
            .iter()
            .filter(|check| !check.ok)
            .map(|check| format!("{}: {}", word(&check.name), cell(&check.detail)))
            .collect();
        if !failed.is_empty() {
            writeln!(out, "\n{} failed check: {}", cell(&path.target), failed.join("; "))?;
        }
        if !path.attempts.is_empty() {
            writeln!(out, "\nHappy Eyeballs for {}:\n", cell(&path.target))?;
            for attempt in &path.attempts {
                let role = if attempt.winner { "winner" } else { "also-ran" };
                writeln!(
                    out,
                    "- {} started at {}, {} after {} ({role})",
                    attempt.address,
                    Millis(Some(attempt.started_ms)),
                    attempt.outcome.as_str(),
                    Millis(Some(attempt.duration_ms)),
                )?;
            }
        }
    }
    Ok(())
}

fn routing(out: &mut dyn Write, doc: &Snapshot) -> io::Result<()> {
    out.write_all(b"\n## Routes\n\n| table | type | destination | gateway | interface | source | metric | protocol | scope |\n|---|---|---|---|---|---|---|---|---|\n")?;
    for route in &doc.routes {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            Route::table_name(route.table),
            word(&route.route_type),
            route.destination_text(),
            or_dash(route.gateway),
            text_or_dash(route.interface.as_deref()),
            or_dash(route.source),
            or_dash(route.metric),
            cell(&route.protocol),
            word(&route.scope),
        )?;
    }
    out.write_all(
        b"\n## Policy rules\n\n| family | priority | rule | action | table |\n|---|---|---|---|---|\n",
    )?;
    for rule in &doc.rules {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            word(&rule.family),
            rule.priority,
            cell(&rule.selector),
            cell(&rule.action),
            rule.table
        )?;
    }
    out.write_all(b"\n## Neighbours\n\n| interface | address | MAC | state |\n|---|---|---|---|\n")?;
    for neighbor in &doc.neighbors {
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&neighbor.interface),
            neighbor.address,
            text_or_dash(neighbor.mac.as_deref()),
            word(&neighbor.state)
        )?;
    }
    Ok(())
}

fn connections(out: &mut dyn Write, connections: &[ConnectionDoc]) -> io::Result<()> {
    let open = connections.iter().filter(|c| c.closed_at.is_none()).count();
    writeln!(out, "\n## Connections\n\n{open} open, {} recently closed.\n", connections.len() - open)?;
    let volume = |c: &ConnectionDoc| c.rx_bytes_per_s.unwrap_or(0.0) + c.tx_bytes_per_s.unwrap_or(0.0);
    let mut busiest: Vec<&ConnectionDoc> = connections.iter().collect();
    busiest.sort_by(|a, b| volume(b).total_cmp(&volume(a)));
    if busiest.len() > MARKDOWN_CONNECTIONS {
        writeln!(
            out,
            "The {MARKDOWN_CONNECTIONS} busiest of {} are listed; the JSON and CSV exports have all of them.\n",
            Count(connections.len() as u64)
        )?;
        busiest.truncate(MARKDOWN_CONNECTIONS);
    }
    out.write_all(b"| proto | state | local | remote | process | rx/s | tx/s | RTT | retrans | warnings |\n|---|---|---|---|---|---|---|---|---|---|\n")?;
    for c in busiest {
        let remote = match &c.remote_name {
            Some(name) => format!("{} ({})", c.remote, cell(name)),
            None => c.remote.to_string(),
        };
        let process = match (&c.process, c.pid) {
            (Some(name), Some(pid)) => format!("{} ({pid})", cell(name)),
            (None, Some(pid)) => pid.to_string(),
            _ => "?".to_owned(),
        };
        let closed = if c.closed_at.is_none() { "" } else { " (closed)" };
        writeln!(
            out,
            "| {} | {}{closed} | {} | {remote} | {process} | {} | {} | {} | {} | {} |",
            word(&c.protocol),
            word(&c.state),
            c.local,
            Rate(c.rx_bytes_per_s),
            Rate(c.tx_bytes_per_s),
            Millis(c.tcp.map(|tcp| tcp.rtt_ms)),
            or_dash(c.tcp.map(|tcp| tcp.total_retrans)),
            list(&c.warnings),
        )?;
    }
    Ok(())
}

fn dns(out: &mut dyn Write, dns: &DnsSection) -> io::Result<()> {
    out.write_all(b"\n## DNS\n\n")?;
    match &dns.config {
        None => out.write_all(b"The resolver configuration was not read.\n")?,
        Some(config) => {
            writeln!(
                out,
                "- nameservers: {}\n- search: {}\n- ndots {}, timeout {} s, attempts {}, options: {}\n- hosts (nsswitch): {}\n- files: {}",
                list(&config.nameservers),
                list(&config.search),
                config.ndots,
                config.timeout_s,
                config.attempts,
                list(&config.options),
                list(&config.hosts_order),
                list(&config.sources),
            )?;
            if config.stub {
                writeln!(out, "- stub resolver; upstreams: {}", list(&config.upstreams))?;
            }
        }
    }
    if let Some(prefix) = dns.dns64.as_ref().and_then(|report| report.prefix.as_deref()) {
        writeln!(out, "- NAT64: DNS64 synthesises AAAA in {prefix}")?;
    }
    for warning in &dns.warnings {
        writeln!(out, "- **warning:** {}", cell(warning))?;
    }
    out.write_all(
        b"\n### Servers\n\n| server | queries | timeouts | errors | p50 | p95 |\n|---|---|---|---|---|---|\n",
    )?;
    for server in &dns.servers {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            server.server,
            server.queries,
            server.timeouts,
            server.errors,
            Millis(server.p50_ms),
            Millis(server.p95_ms)
        )?;
    }
    out.write_all(b"\n### Traces\n")?;
    let traces = dns.traces.len() as u64;
    if dns.traces_total > traces {
        writeln!(out, "\nThe newest {} of {} traces.", Count(traces), Count(dns.traces_total))?;
    }
    for trace in &dns.traces {
        dns_trace(out, trace)?;
    }
    out.write_all(b"\n### Recent queries (passive capture)\n\n")?;
    let queries = dns.queries.len() as u64;
    let total = dns.queries_total.max(dns.queries_logged);
    if total > queries {
        writeln!(out, "The newest {} of {} queries seen, by send time.\n", Count(queries), Count(total))?;
    }
    out.write_all(
        b"| at | process | name | qtype | server | rcode | latency |\n|---|---|---|---|---|---|---|\n",
    )?;
    for query in &dns.queries {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            rfc3339(query.at),
            text_or_dash(query.process.as_deref()),
            cell(&query.name),
            cell(&query.qtype),
            query.server,
            query.rcode.as_deref().unwrap_or("timeout"),
            Millis(query.latency_ms)
        )?;
    }
    Ok(())
}

fn dns_trace(out: &mut dyn Write, trace: &DnsTrace) -> io::Result<()> {
    writeln!(
        out,
        "\n**{}** ({}) → {} {}\n\n| candidate | server | qtype | transport | rcode | answers | latency | error |\n|---|---|---|---|---|---|---|---|",
        cell(&trace.name),
        word(&trace.origin),
        list(&trace.result),
        trace.error.as_deref().unwrap_or_default()
    )?;
    for step in &trace.steps {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&step.candidate),
            step.server,
            cell(&step.qtype),
            step.transport.as_str(),
            text_or_dash(step.rcode.as_deref()),
            list(step.answers.iter().map(|answer| cell(&answer.data))),
            Millis(Some(step.latency_ms)),
            text_or_dash(step.error.as_deref())
        )?;
    }
    if let Some(system) = &trace.system {
        writeln!(
            out,
            "\nsystem (getaddrinfo): {} {}",
            list(&system.addresses),
            system.error.as_deref().unwrap_or_default()
        )?;
    }
    for difference in &trace.differences {
        writeln!(out, "- differs: {}", cell(difference))?;
    }
    Ok(())
}
