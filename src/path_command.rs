//! `netlens path TARGET...`: evaluate targets once, print each verdict with its
//! checks (or the export schema's `paths` objects with `--json`), and exit 0 only
//! when every target is satisfied.

use std::fmt::Write as _;

use anyhow::Context as _;
use netlens_collectors::model::{PathState, PathStatus};

use crate::cli::PathArgs;
use crate::config::Settings;

/// Some target is not satisfied: exit 1 without an error message (the verdicts say why).
#[derive(Debug, thiserror::Error)]
#[error("not every path is satisfied")]
pub struct Unsatisfied;

/// Evaluate `args.targets` and print the verdicts.
pub async fn run(settings: &Settings, args: PathArgs) -> anyhow::Result<()> {
    let mut config = settings.paths_config();
    config.targets.clone_from(&args.targets);
    let paths = netlens_collectors::paths::source::evaluate_once(&config)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("evaluating paths (route lookups need rtnetlink)")?;
    // The default paths are always evaluated (tunnels are judged against them); show
    // only what was asked for, in the order asked.
    let asked: Vec<&PathState> = args
        .targets
        .iter()
        .filter_map(|target| paths.iter().find(|path| path.target == target.text))
        .collect();
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&asked).context("encoding the paths as JSON")?;
        text.push('\n');
        text
    } else {
        asked.iter().map(|path| describe(path)).collect::<Vec<_>>().join("\n")
    };
    crate::stdout::emit(&text)?;
    if asked.iter().all(|path| path.status == PathStatus::Satisfied) {
        Ok(())
    } else {
        Err(Unsatisfied.into())
    }
}

/// The verdict of one path in words: a headline like the Paths tab's line, then
/// every check, the probe and the Happy Eyeballs attempts.
#[must_use]
pub fn describe(path: &PathState) -> String {
    let mut text = String::new();
    let _ = write!(text, "{}  {}", path.target, path.status.as_str());
    if let Some(reason) = path.reason {
        let _ = write!(text, " ({}", reason.as_str());
        if let Some(subject) = &path.reason_subject {
            let _ = write!(text, " {subject}");
        }
        text.push(')');
    }
    if let Some(interface) = &path.interface {
        let _ = write!(text, "  {interface}");
        if let Some(kind) = path.interface_kind {
            let _ = write!(text, " [{}]", kind.as_str());
        }
    }
    if let Some(gateway) = path.gateway {
        let _ = write!(text, "  via {gateway}");
    }
    if let Some(source) = path.source {
        let _ = write!(text, "  src {source}");
    }
    if let Some(tunnel) = path.tunnel {
        let _ = write!(text, "  {} tunnel", tunnel.as_str());
    }
    // Labelled, and every one shown: a missing word is easy to miss.
    let flags: Vec<String> = [(path.ipv4, "ipv4"), (path.ipv6, "ipv6"), (path.dns, "dns")]
        .iter()
        .map(|(on, name)| format!("{name} {}", if *on { "yes" } else { "no" }))
        .collect();
    let _ = write!(text, "  available: {}", flags.join(", "));
    if path.expensive {
        text.push_str("  expensive");
    }
    if path.constrained {
        text.push_str("  constrained");
    }
    if let Some(rtt) = path.probe.as_ref().and_then(|probe| probe.rtt_ms) {
        let _ = write!(text, "  {rtt:.1} ms");
    }
    text.push('\n');
    for check in &path.checks {
        let mark = if check.ok { "ok  " } else { "FAIL" };
        let _ = writeln!(text, "  {mark} {:<14} {}", check.name.as_str(), check.detail);
    }
    if let Some(probe) = &path.probe
        && let Some(loss) = probe.loss_pct
    {
        let _ = write!(text, "  probe {}: {} sent, {loss:.0} % lost", probe.kind, probe.sent);
        if let Some(jitter) = probe.jitter_ms {
            let _ = write!(text, ", jitter {jitter:.1} ms");
        }
        text.push('\n');
    }
    if !path.attempts.is_empty() {
        text.push_str("  happy eyeballs:\n");
        for attempt in &path.attempts {
            let role = if attempt.winner { "winner" } else { "also-ran" };
            let _ = writeln!(
                text,
                "    {:<40} start {:>6.1} ms  took {:>7.1} ms  {:<11} {role}",
                attempt.address.to_string(),
                attempt.started_ms,
                attempt.duration_ms,
                attempt.outcome.as_str(),
            );
        }
    }
    text
}
