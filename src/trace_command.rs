//! `netlens trace NAME`: resolve a name the way glibc does, print every query and the
//! system's own answer (or one `traces` object of the export schema with `--json`),
//! and exit 0 when the name resolves, 1 when it does not.

use std::fmt::Write as _;

use anyhow::Context as _;
use netlens_collectors::dns::files::{self, ResolverFiles};
use netlens_collectors::dns::source::trace_with_system;
use netlens_collectors::dns::trace::Tracer;
use netlens_collectors::model::{DnsTrace, ResolverConfig, TraceOrigin};

use crate::cli::TraceArgs;

/// The name did not resolve: exit 1 without an error message (the trace says why).
#[derive(Debug, thiserror::Error)]
#[error("the name did not resolve")]
pub struct Unresolved;

/// Trace `args.name` with the resolver files of this mount namespace (under
/// `--netns`, those of `/etc/netns/NAME/` where they exist).
pub async fn run(args: TraceArgs) -> anyhow::Result<()> {
    let loaded =
        tokio::task::spawn_blocking(|| files::with_route_warnings(files::load(&ResolverFiles::default())))
            .await
            .context("reading the resolver files")?;
    let tracer = Tracer::new(loaded.report.config.clone());
    let trace = trace_with_system(&tracer, &loaded.hosts, &args.name, TraceOrigin::User, true)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&trace).context("encoding the trace as JSON")?;
        text.push('\n');
        text
    } else {
        describe(&trace, &loaded.report.config, &loaded.report.warnings)
    };
    crate::stdout::emit(&text)?;
    let resolved =
        !trace.result.is_empty() || trace.system.as_ref().is_some_and(|system| !system.addresses.is_empty());
    if resolved { Ok(()) } else { Err(Unresolved.into()) }
}

/// The trace in words: the verdict, the configuration it followed, each candidate
/// with its queries, then the system's answer and the differences.
#[must_use]
pub fn describe(trace: &DnsTrace, config: &ResolverConfig, warnings: &[String]) -> String {
    let mut text = String::new();
    let verdict = if trace.result.is_empty() {
        trace.error.clone().unwrap_or_else(|| "no address".to_owned())
    } else {
        list(&trace.result)
    };
    let _ = write!(text, "{} → {verdict}", trace.name);
    if let Some(candidate) = &trace.answered_by {
        let _ = write!(text, "  (answered by {candidate})");
    }
    let _ = writeln!(text, "  {:.1} ms", trace.total_ms);
    let search = if config.search.is_empty() { "(none)".to_owned() } else { config.search.join(" ") };
    let servers = if config.nameservers.is_empty() {
        "127.0.0.1 (none configured)".to_owned()
    } else {
        list(&config.nameservers)
    };
    let _ = writeln!(
        text,
        "servers {servers} · search {search} · ndots {} · timeout {} s · attempts {}",
        config.ndots, config.timeout_s, config.attempts
    );
    if config.stub && !config.upstreams.is_empty() {
        let _ = writeln!(text, "stub resolver; its upstreams: {}", list(&config.upstreams));
    }
    for warning in warnings {
        let _ = writeln!(text, "warning: {warning}");
    }
    let mut current: Option<&str> = None;
    for step in &trace.steps {
        if current != Some(step.candidate.as_str()) {
            let _ = writeln!(text, "  {}", step.candidate);
            current = Some(&step.candidate);
        }
        let outcome = match (&step.rcode, &step.error) {
            (_, Some(error)) => error.clone(),
            (Some(rcode), None) if step.truncated => format!("{rcode} TC → retry over TCP"),
            (Some(rcode), None) if step.nodata => format!("{rcode} NODATA"),
            (Some(rcode), None) => rcode.clone(),
            (None, None) => "no answer".to_owned(),
        };
        let _ = write!(
            text,
            "    {:<22} {:<5} {:<3}  {outcome}",
            step.server.to_string(),
            step.qtype,
            step.transport.as_str()
        );
        if step.attempt > 1 {
            let _ = write!(text, " (try {})", step.attempt);
        }
        if step.cname_chain.len() > 1 {
            let _ = write!(text, "  {}", step.cname_chain.join(" → "));
        }
        let data: Vec<String> = step
            .answers
            .iter()
            .filter(|answer| answer.rtype == step.qtype)
            .map(|answer| format!("{} (ttl {})", answer.data, answer.ttl))
            .collect();
        if !data.is_empty() {
            let _ = write!(text, "  {}", data.join(", "));
        }
        if step.ignored > 0 {
            let _ = write!(text, "  [{} mismatched replies ignored]", step.ignored);
        }
        let _ = writeln!(text, "  {:.1} ms", step.latency_ms);
    }
    if let Some(system) = &trace.system {
        let answer = match &system.error {
            Some(error) => error.clone(),
            None => list(&system.addresses),
        };
        let _ = writeln!(text, "system (getaddrinfo): {answer}  {:.1} ms", system.latency_ms);
    }
    for difference in &trace.differences {
        let _ = writeln!(text, "differs: {difference}");
    }
    text
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
