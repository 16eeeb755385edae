//! `netlens doctor`: collect for a while without a terminal, evaluate every finding
//! rule, print the open findings with their evidence, cause and fix (or the export
//! schema's `findings` objects with `--json`), and exit 0 only when none is open.

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use anyhow::Context as _;
use netlens_collectors::findings::RULES;
use netlens_collectors::model::Finding;

use crate::cli::DoctorArgs;
use crate::config::Settings;

/// Some finding is open: exit 1 without an error message (the findings say why).
#[derive(Debug, thiserror::Error)]
#[error("findings are open")]
pub struct FindingsOpen;

/// Collect for `args.duration`, then print the open findings.
pub async fn run(settings: &Settings, args: &DoctorArgs) -> anyhow::Result<()> {
    if std::io::stderr().is_terminal() {
        eprintln!("netlens: collecting for {} …", crate::duration::format(args.duration));
    }
    let store = crate::headless::collect_for(settings, args.duration).await;
    let open: Vec<&Finding> = store.findings().open();
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&open).context("encoding the findings as JSON")?;
        text.push('\n');
        text
    } else if open.is_empty() {
        let enabled = RULES.iter().filter(|rule| settings.findings.for_rule(rule).enabled).count();
        let took = crate::duration::format(args.duration);
        // A condition still inside its debounce is not a finding, but "nothing" would
        // not be the whole truth either.
        match store.findings().pending() {
            0 => format!("No findings: {enabled} rules found nothing in {took}.\n"),
            waiting => format!(
                "No findings yet: {enabled} rules ran for {took}; {waiting} condition(s) had not held for their rule's debounce (collect longer with -d).\n"
            ),
        }
    } else {
        open.iter().map(|finding| describe(finding)).collect::<Vec<_>>().join("\n")
    };
    crate::stdout::emit(&text)?;
    if open.is_empty() { Ok(()) } else { Err(FindingsOpen.into()) }
}

/// A finding as a few lines: severity and title, then what it is about, the facts,
/// the cause and the fix.
fn describe(finding: &Finding) -> String {
    let mut text = format!(
        "{}: {}\n  rule {} on {}\n",
        finding.severity.as_str().to_uppercase(),
        finding.title,
        finding.rule,
        finding.subject
    );
    for evidence in &finding.evidence {
        let _ = writeln!(text, "  · {}: {}", evidence.fact, evidence.value);
    }
    let _ = writeln!(text, "  cause: {}\n  fix:   {}", finding.cause, finding.fix);
    text
}
