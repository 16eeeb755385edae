//! `netlens diff A B`: what changed between two snapshots (`netlens snapshot` JSON),
//! as text, JSON (`{ changes: [...] }`) or Markdown; exit 0 when equal, 1 when
//! different, 2 when a file cannot be read or is not a snapshot.

use std::fmt::Write as _;
use std::path::Path;

use netlens_collectors::snapshot::diff::{Change, ChangeKind, diff};
use netlens_collectors::snapshot::{SCHEMA_VERSION, Snapshot};

use crate::cli::{DiffArgs, DiffFormat};

/// The snapshots differ: exit 1 without an error message (the changes say how).
#[derive(Debug, thiserror::Error)]
#[error("the snapshots differ")]
pub struct Different;

/// A file that cannot be diffed, with why and what was expected: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadSnapshot(String);

/// Read a snapshot file, or the state of a journal at a time (`JOURNAL@TIME`; a
/// journal without `@TIME` is read at its end), naming the file in every error.
pub fn read(path: &Path) -> Result<Snapshot, BadSnapshot> {
    let text = path.to_string_lossy();
    if !path.exists()
        && let Some((journal, at)) = text.rsplit_once('@')
        && Path::new(journal).exists()
    {
        return crate::journal_at::snapshot(Path::new(journal), Some(at)).map_err(BadSnapshot);
    }
    if is_journal(path) {
        return crate::journal_at::snapshot(path, None).map_err(BadSnapshot);
    }
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|error| BadSnapshot(format!("{shown}: cannot read it: {error}")))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|error| {
        BadSnapshot(format!(
            "{shown} is not a netlens snapshot: expected the JSON `netlens snapshot` writes ({error})"
        ))
    })?;
    match value.get("schema_version").and_then(serde_json::Value::as_u64) {
        None => {
            return Err(BadSnapshot(format!(
                "{shown} is not a netlens snapshot: it has no schema_version (expected the JSON `netlens snapshot` writes)"
            )));
        }
        Some(version) if version > u64::from(SCHEMA_VERSION) => {
            return Err(BadSnapshot(format!(
                "{shown} has schema_version {version}; this netlens reads version {SCHEMA_VERSION}: update netlens"
            )));
        }
        Some(_) => {}
    }
    serde_json::from_value(value)
        .map_err(|error| BadSnapshot(format!("{shown} is not a valid netlens snapshot: {error}")))
}

/// Whether `path` is a journal directory or starts like a journal file.
fn is_journal(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let mut start = [0u8; 4];
    std::fs::File::open(path).and_then(|mut file| std::io::Read::read_exact(&mut file, &mut start)).is_ok()
        && start == *b"\x89NLJ"
}

/// Compare the two snapshots and print the changes.
pub fn run(args: &DiffArgs) -> anyhow::Result<()> {
    let (before, after) = (read(&args.before)?, read(&args.after)?);
    let changes = diff(&before, &after);
    let text = match args.format {
        DiffFormat::Json => {
            let mut text = serde_json::to_string_pretty(&serde_json::json!({ "changes": changes }))?;
            text.push('\n');
            text
        }
        DiffFormat::Md => markdown(&changes),
        DiffFormat::Text => text(&changes),
    };
    crate::stdout::emit(&text)?;
    if changes.is_empty() { Ok(()) } else { Err(Different.into()) }
}

/// `+ addresses  eth0 192.168.1.77/24  global · permanent`, `- …`, `~ … was → now`.
fn text(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "No changes.\n".to_owned();
    }
    let mut text = String::new();
    for change in changes {
        let detail = match change.change {
            ChangeKind::Added => change.after.clone().unwrap_or_default(),
            ChangeKind::Removed => change.before.clone().unwrap_or_default(),
            ChangeKind::Changed => format!(
                "{} → {}",
                change.before.as_deref().unwrap_or_default(),
                change.after.as_deref().unwrap_or_default()
            ),
        };
        let mark = match change.change {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        };
        let _ = writeln!(text, "{mark} {:<11} {}  {detail}", change.section, change.subject);
    }
    text
}

fn markdown(changes: &[Change]) -> String {
    let mut text = String::from("## Changes\n\n");
    if changes.is_empty() {
        text.push_str("None: the snapshots are equal in every section compared.\n");
        return text;
    }
    text.push_str("| section | subject | change | before | after |\n|---|---|---|---|---|\n");
    let cell = |value: Option<&str>| value.map_or_else(|| "–".to_owned(), |v| v.replace('|', "\\|"));
    for change in changes {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} |",
            change.section,
            cell(Some(&change.subject)),
            change.change.as_str(),
            cell(change.before.as_deref()),
            cell(change.after.as_deref())
        );
    }
    text
}
