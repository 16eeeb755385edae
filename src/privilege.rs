//! Least privilege after set-up: once the namespace is entered and the BPF programs
//! are loaded, netlens keeps only the capabilities its running sources still use (the
//! README's privileges table), sets `no_new_privs`, and lets Landlock refuse every
//! write outside the export directory, the log file and the state directory. The
//! owner search, which reads other processes' `/proc/PID/fd` (Landlock forbids it),
//! runs in threads started outside the domain (`netlens_collectors::unconfined`).
//!
//! Capabilities, `no_new_privs` and a Landlock domain all belong to each thread, and a
//! new thread copies its creator's. So [`secure`] runs in the main thread before any
//! other thread exists — before logging starts (tracing-appender writes from a thread
//! of its own) and before the tokio runtime — and every thread started afterwards,
//! the runtime's workers and the capture threads included, holds exactly what it
//! left. [`capabilities::drop_to`] checks `/proc/self/task` and refuses otherwise.

mod capabilities;
mod sandbox;

pub use capabilities::{Held, Needs};
pub use rustix::thread::CapabilitySet;
pub use sandbox::{Outcome, Writes, restrict_writes};

use anyhow::Context as _;

use crate::cli::Command;
use crate::config::Settings;

/// What [`secure`] did.
#[derive(Debug, Clone)]
pub struct Secured {
    /// The capability drop.
    pub held: Held,
    /// The Landlock restriction.
    pub sandbox: Outcome,
}

/// What the process does after set-up, for `command` (`None`: the TUI).
#[must_use]
pub fn needs(command: Option<&Command>, settings: &Settings) -> Needs {
    if settings.demo {
        // Scripted sources only: nothing touches the network or /proc.
        return Needs::default();
    }
    match command {
        // The TUI: targets (with any probe, mark or interface) can be added while it
        // runs, so what they may need is kept whatever the configuration says.
        None => Needs {
            capture: settings.capture,
            icmp_probes: true,
            marks: true,
            bound_probes: true,
            process_owners: true,
            destroy_events: true,
        },
        Some(Command::Snapshot(_) | Command::Doctor(_) | Command::Record(_) | Command::Daemon(_)) => Needs {
            capture: settings.capture,
            process_owners: true,
            destroy_events: true,
            ..targets(&settings.targets)
        },
        Some(Command::Path(args)) => targets(&args.targets),
        Some(
            Command::Trace(_)
            | Command::Config(_)
            | Command::Diff(_)
            | Command::Replay(_)
            | Command::Open(_)
            | Command::Completions(_)
            | Command::Man,
        ) => Needs::default(),
    }
}

/// What probing `targets` needs.
fn targets(targets: &[netlens_collectors::paths::target::Target]) -> Needs {
    use netlens_collectors::paths::target::ProbeKind;
    Needs {
        icmp_probes: targets.iter().any(|target| target.probe == ProbeKind::Icmp),
        marks: targets.iter().any(|target| target.mark.is_some()),
        bound_probes: targets.iter().any(|target| target.via.is_some()),
        ..Needs::default()
    }
}

/// Where `command` may write after set-up: the log file and the state directory
/// always, the export directory for the TUI, the `-o` file for a snapshot, and the
/// terminal device (crossterm reopens `/dev/tty` when standard input is not one).
#[must_use]
pub fn writes(command: Option<&Command>, settings: &Settings) -> Writes {
    let mut writes = Writes::default();
    // The daemon logs to standard error (journald) and keeps no state of its own.
    if !matches!(command, Some(Command::Daemon(_))) {
        if let Some(state) = crate::config::default_log_path().parent() {
            writes.dir(state);
        }
        writes.file(&settings.log_file);
    }
    match command {
        None | Some(Command::Replay(_) | Command::Open(_)) => {
            writes.dir(&settings.export_dir);
            writes.file("/dev/tty");
        }
        Some(Command::Snapshot(args)) => {
            if let Some(path) = args.output.as_deref().filter(|path| path.as_os_str() != "-") {
                writes.output(path);
            }
        }
        Some(Command::Daemon(args)) => {
            if let Some(dir) = &args.record {
                writes.dir(dir);
            }
        }
        // `record_command::open` made the file or directory before this runs.
        Some(Command::Record(args)) if args.output.as_os_str() != "-" => {
            if args.output.is_dir() {
                writes.dir(&args.output);
            } else {
                writes.file(&args.output);
            }
        }
        Some(
            Command::Path(_)
            | Command::Trace(_)
            | Command::Config(_)
            | Command::Doctor(_)
            | Command::Diff(_)
            | Command::Record(_)
            | Command::Completions(_)
            | Command::Man,
        ) => {}
    }
    writes.file("/dev/null");
    writes
}

/// Drop what `command` no longer needs (keeping `extra` too, for set-up code that
/// says what it needs at run time), set `no_new_privs`, restrict writes, and record
/// the Landlock state for the snapshot's `host.privileges`. Must run while this is
/// the process's only thread.
pub fn secure(
    command: Option<&Command>,
    settings: &Settings,
    extra: CapabilitySet,
) -> anyhow::Result<Secured> {
    let needs = needs(command, settings);
    let held = capabilities::drop_to(needs, extra)?;
    if needs.process_owners {
        // Landlock forbids every ptrace-mode access to a process outside the domain,
        // and reading /proc/PID/fd is one (checked on Linux 6.18: with the ruleset on,
        // no socket of another process had an owner, with root and CAP_SYS_PTRACE).
        // The owner search runs in threads the spawner starts, which it starts before
        // the restriction, so they stay outside the domain (`unconfined`).
        netlens_collectors::unconfined::install().context("starting the unconfined spawner thread")?;
    }
    let sandbox = restrict_writes(&writes(command, settings));
    netlens_collectors::system::set_landlock(sandbox.state);
    Ok(Secured { held, sandbox })
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::Cli;

    /// The needs of `netlens ARGS…` with an empty config file (not the user's).
    fn needs_of(args: &[&str]) -> Needs {
        let config = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        let config_path = config.path().display().to_string();
        let mut full = vec!["netlens", "--config", config_path.as_str()];
        full.extend_from_slice(args);
        let cli = Cli::try_parse_from(full).unwrap_or_else(|e| panic!("{e}"));
        let settings = Settings::resolve(&cli).unwrap_or_else(|e| panic!("{e}"));
        needs(cli.command.as_ref(), &settings)
    }

    /// Each command keeps what it uses: the TUI everything a target added later may
    /// need, `snapshot` its configured targets' needs, `path` only its targets', and
    /// `trace` and the demo nothing.
    #[test]
    fn needs_follow_the_command() {
        let everything = Needs {
            capture: true,
            icmp_probes: true,
            marks: true,
            bound_probes: true,
            process_owners: true,
            destroy_events: true,
        };
        assert_eq!(needs_of(&[]), everything);
        assert_eq!(needs_of(&["--demo"]), Needs::default());
        assert_eq!(needs_of(&["trace", "example.org"]), Needs::default());
        assert_eq!(
            needs_of(&["path", "10.0.0.1,mark=3", "10.0.0.2,via=lo,probe=icmp"]),
            Needs { icmp_probes: true, marks: true, bound_probes: true, ..Needs::default() }
        );
        assert_eq!(needs_of(&["path", "10.0.0.1:80"]), Needs::default());
        assert_eq!(
            needs_of(&["--target", "10.0.0.1,probe=icmp", "snapshot"]),
            Needs {
                capture: true,
                icmp_probes: true,
                process_owners: true,
                destroy_events: true,
                ..Needs::default()
            }
        );
    }

    /// Writes stay allowed in the state directory and the log file always, the export
    /// directory for the TUI, and where `-o` leads for a snapshot.
    #[test]
    fn writes_follow_the_command() {
        let cli =
            Cli::try_parse_from(["netlens", "--export-dir", "/srv/exports", "--log", "/var/log/nl.log"])
                .unwrap_or_else(|e| panic!("{e}"));
        let settings = Settings::resolve(&cli).unwrap_or_else(|e| panic!("{e}"));
        let tui = writes(None, &settings);
        assert!(tui.dirs.contains(&std::path::PathBuf::from("/srv/exports")), "{tui:?}");
        assert!(tui.files.contains(&std::path::PathBuf::from("/var/log/nl.log")), "{tui:?}");
        assert!(tui.files.contains(&std::path::PathBuf::from("/dev/tty")), "{tui:?}");
        let trace = Cli::try_parse_from(["netlens", "trace", "x"]).unwrap_or_else(|e| panic!("{e}"));
        let only_log = writes(trace.command.as_ref(), &settings);
        assert!(!only_log.dirs.contains(&std::path::PathBuf::from("/srv/exports")), "{only_log:?}");
    }
}
