//! The command line.

#![expect(clippy::doc_markdown, reason = "doc comments here are --help text, where backticks would show")]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use netlens_collectors::paths::target::Target;

use crate::duration;

/// netlens: why the network on this host misbehaves, live.
///
/// Run without a command for the TUI. Keys: Tab/1-7 switch tabs, arrows move, / filters,
/// Enter opens details, e exports a snapshot, p pauses, ? lists every key, q quits.
#[derive(Debug, Parser)]
#[command(name = "netlens", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists).
    #[arg(short, long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Colour theme: dark, light, high-contrast, or a theme file path.
    #[arg(short, long, global = true, value_name = "NAME|PATH")]
    pub theme: Option<String>,

    /// Monitor the network namespace /run/netns/NAME (needs root).
    #[arg(short, long, global = true, value_name = "NAME")]
    pub netns: Option<String>,

    /// Use the portable if-addrs + sysinfo fallback instead of rtnetlink.
    #[arg(long, global = true)]
    pub no_netlink: bool,

    /// Sampling period for counters, e.g. 1s or 500ms.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_refresh)]
    pub refresh: Option<Duration>,

    /// Directory for snapshots exported with `e`.
    #[arg(long, global = true, value_name = "DIR")]
    pub export_dir: Option<PathBuf>,

    /// Log file (default: $XDG_STATE_HOME/netlens/netlens.log).
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Do not look up names of remote addresses (no reverse-DNS traffic).
    #[arg(long, global = true)]
    pub no_reverse_dns: bool,

    /// Play a scripted demo session instead of reading this host (touches no network).
    #[arg(long, global = true)]
    pub demo: bool,

    /// Watch this destination's path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]
    #[arg(long = "target", global = true, value_name = "TARGET", value_parser = parse_target)]
    pub targets: Vec<Target>,

    /// What to do (default: the TUI).
    #[command(subcommand)]
    pub command: Option<Command>,
}

const AFTER_HELP: &str = "\
Exit status: 0 success, 1 runtime failure, 2 bad usage, config or input.
Environment: NO_COLOR disables colour; NETLENS_LOG sets the log filter (e.g. debug).";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect for a moment and write a snapshot of everything (JSON or Markdown).
    Snapshot(SnapshotArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Evaluate path targets once, print each verdict with its checks, and exit 0 when
    /// every target is satisfied, 1 otherwise
    Path(PathArgs),
    /// Resolve a name step by step the way glibc does (search list, each server, A and
    /// AAAA), print every query and the system's own answer, and exit 0 when the name
    /// resolves, 1 when it does not, 2 when it is not a valid name
    Trace(TraceArgs),
    /// Collect for a while, evaluate every finding rule, print the open findings with
    /// their evidence, cause and fix, and exit 0 when none is open, 1 when some are
    Doctor(DoctorArgs),
    /// Say what changed between two snapshots, or two times of a journal
    /// (JOURNAL@TIME): interfaces, addresses, routes, rules, neighbours, paths, DNS
    /// configuration, listeners, connections per process; exit 0 when equal, 1 when
    /// different, 2 when a file is not a snapshot or a journal
    Diff(DiffArgs),
    /// Record the event stream to a journal (headless, the TUI's collectors) until
    /// SIGINT, SIGTERM or --duration; replay it with `netlens replay`
    Record(RecordArgs),
    /// Replay a journal in the TUI, read-only, with a time cursor (space plays, ← →
    /// step, [ ] move a minute, J jumps, n N find the next change)
    Replay(ReplayArgs),
    /// Show a snapshot (`netlens snapshot` JSON, a redacted one from another host
    /// included) in the TUI, read-only
    Open(OpenArgs),
    /// Run the collectors with no terminal and serve Prometheus metrics (GET /metrics,
    /// text or OpenMetrics) and health (GET /healthz) until SIGINT or SIGTERM
    Daemon(DaemonArgs),
    /// Print the completion script for a shell: `netlens completions bash >
    /// /etc/bash_completion.d/netlens`, or `source <(netlens completions bash)`
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `netlens man | man -l -`
    Man,
}

/// `netlens daemon`.
#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// Address for /metrics and /healthz (loopback unless you name another; bound in
    /// the caller's namespace, also with --netns)
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9464")]
    pub metrics_addr: std::net::SocketAddr,

    /// Also keep a rotating journal of the event stream in this directory (segments of
    /// 10 minutes or an eighth of --record-max-size; the oldest deleted past it)
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,

    /// The journal directory's bound, e.g. 500M or 2G
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1G", requires = "record")]
    pub record_max_size: u64,
}

/// `netlens completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `netlens replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// A journal file or directory written by `netlens record`
    #[arg(value_name = "JOURNAL")]
    pub journal: std::path::PathBuf,
}

/// `netlens open`.
#[derive(Debug, clap::Args)]
pub struct OpenArgs {
    /// A snapshot written by `netlens snapshot` (JSON)
    #[arg(value_name = "FILE")]
    pub snapshot: std::path::PathBuf,
}

/// `netlens record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Where the journal goes: a FILE (created new, never overwritten), or a DIR (a
    /// name ending in `/` or an existing directory) of segment files rotated by size
    /// and age
    #[arg(short, long, value_name = "FILE|DIR")]
    pub output: std::path::PathBuf,

    /// Stop after DURATION (default: record until SIGINT or SIGTERM)
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// A FILE stops recording when it reaches SIZE; a DIR deletes its oldest segments
    /// to stay under SIZE (default for a DIR: 1G). Units K, M, G (powers of 1024)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,
}

/// `netlens diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier snapshot: JSON written by `netlens snapshot`, or a journal's state at
    /// a time, JOURNAL@TIME (`rec.nlj@+90s`, `rec/@2026-12-03T03:12:07Z`; a journal
    /// alone is its end)
    #[arg(value_name = "A")]
    pub before: std::path::PathBuf,

    /// The later snapshot
    #[arg(value_name = "B")]
    pub after: std::path::PathBuf,

    /// Output format
    #[arg(short, long, value_enum, default_value = "text")]
    pub format: DiffFormat,
}

/// How `netlens diff` prints the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// One line per change: `+` added, `-` removed, `~` changed
    Text,
    /// `{ changes: [ { section, subject, change, before, after } ] }`
    Json,
    /// A Markdown table
    Md,
}

/// `netlens doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// How long to collect: rules on counters need two readings, and a finding opens
    /// only after its debounce
    #[arg(short, long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Print a JSON list of the open findings (the export schema's `findings` objects)
    #[arg(long)]
    pub json: bool,
}

/// `netlens trace`.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// The name to resolve, e.g. `db` (the search list applies) or `example.org.`
    #[arg(value_name = "NAME", value_parser = parse_name)]
    pub name: String,

    /// Print one `traces` object of the export schema as JSON
    #[arg(long)]
    pub json: bool,
}

/// A name `res_search` would accept.
fn parse_name(text: &str) -> Result<String, String> {
    netlens_collectors::dns::candidates::candidates(text, &[], 1)
        .map(|_| text.trim().to_owned())
        .map_err(|error| error.to_string())
}

/// `netlens path`.
#[derive(Debug, clap::Args)]
pub struct PathArgs {
    /// Targets: DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none], or default-ipv4 / default-ipv6
    #[arg(required = true, value_name = "TARGET", value_parser = parse_target)]
    pub targets: Vec<Target>,

    /// Print a JSON list of paths objects (the export schema's `paths`)
    #[arg(long)]
    pub json: bool,
}

/// `netlens snapshot` options.
#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = SnapshotFormat::Json)]
    pub format: SnapshotFormat,

    /// How long to collect before writing (rates need at least two samples). SIGINT or
    /// SIGTERM ends the collection early and writes what was collected.
    #[arg(short, long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Write to FILE instead of standard output (`-` is standard output). A new file is
    /// created with mode 0600, as a snapshot may hold private facts; an existing regular
    /// file is replaced atomically and keeps its mode; a symlink is written through; a
    /// device, FIFO or socket is written in place. Directories and block devices are
    /// refused.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace MAC addresses, non-loopback IP addresses and the hostname with stable
    /// pseudonyms, so the snapshot can be shared.
    #[arg(long)]
    pub redact: bool,

    /// Write the state recorded in a journal (`netlens record`) instead of collecting:
    /// a journal file or directory
    #[arg(long, value_name = "JOURNAL")]
    pub from: Option<PathBuf>,

    /// With --from: the moment to take, as an RFC 3339 time, +DURATION from the start,
    /// -DURATION from the end, `start` or `end` (default: the end)
    #[arg(long, value_name = "TIME", requires = "from")]
    pub at: Option<String>,
}

/// Snapshot formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SnapshotFormat {
    /// The export schema, version 1.
    Json,
    /// A readable Markdown report of the same data.
    Md,
    /// The connection table, one row per socket (RFC 4180).
    Csv,
}

/// `netlens config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented config file with every option at its default.
    Template,
    /// Print the config file path netlens reads.
    Path,
    /// Check the config file, its theme and keys as netlens would read them: exit 0
    /// when they are good, 2 naming the file, line and key that is not.
    Check,
}

fn parse_target(text: &str) -> Result<Target, String> {
    text.parse().map_err(|error: netlens_collectors::paths::target::TargetError| error.to_string())
}

/// A size: bytes, or a number with K, M or G (powers of 1024; `KB`, `MiB` and the like
/// mean the same).
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a size: use e.g. 500M or 2G"))?;
    let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        other => return Err(format!("`{other}` in `{text}` is not a size unit: use K, M or G")),
    };
    #[expect(clippy::cast_precision_loss, reason = "sizes are far below 2^52 bytes")]
    let bytes = value * scale as f64;
    if !(4096.0..9.0e18).contains(&bytes) {
        return Err(format!("`{text}` is too small: a journal needs at least 4K"));
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked to be in range above"
    )]
    Ok(bytes as u64)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let value = duration::parse(text)?;
    if value < Duration::from_millis(100) {
        return Err(format!("`{text}` is too short: use at least 100ms"));
    }
    Ok(value)
}

fn parse_refresh(text: &str) -> Result<Duration, String> {
    let value = duration::parse(text)?;
    let bounds = crate::config::ranges::REFRESH;
    if !bounds.contains(value) {
        return Err(format!(
            "`{text}` is out of range: use {} to {}",
            duration::format(bounds.min),
            duration::format(bounds.max)
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn snapshot_options() {
        let cli = Cli::try_parse_from([
            "netlens", "--netns", "lab", "snapshot", "-f", "md", "-d", "2s", "--redact",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let Some(Command::Snapshot(args)) = cli.command else { panic!("not a snapshot") };
        assert_eq!(args.format, SnapshotFormat::Md);
        assert_eq!(args.duration, Duration::from_secs(2));
        assert!(args.redact);
        assert_eq!(cli.netns.as_deref(), Some("lab"));
    }

    #[test]
    fn bad_duration_is_a_usage_error() {
        let error = Cli::try_parse_from(["netlens", "snapshot", "-d", "soon"]).err();
        assert!(error.is_some_and(|e| e.to_string().contains("`soon`")));
    }
}
