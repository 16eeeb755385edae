//! netlens: a terminal network monitor for Linux.
//!
//! This crate is wiring only: the command line, the config, the terminal, the app
//! loop, export files and logs. Data lives in `netlens-collectors`, pixels in
//! `netlens-ui`.

mod allocator;
mod app;
mod cli;
mod collect;
mod config;
mod daemon;
mod diff_command;
mod doctor_command;
mod duration;
mod export;
mod flight_recorder;
mod headless;
mod journal_at;
mod logging;
mod manual;
mod netns;
mod output;
mod path_command;
mod privilege;
mod record_command;
mod replay_app;
mod signals;
mod stdout;
mod terminal;
mod trace_command;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use netlens_collectors::Notice;
use netlens_collectors::model::TimelineKind;
use netlens_ui::{Keymap, Theme};

use crate::cli::{Cli, Command, ConfigCommand};
use crate::config::Settings;

/// A problem with how netlens was invoked or configured: exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

fn main() -> ExitCode {
    allocator::tune();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.downcast_ref::<stdout::Closed>().is_some() => ExitCode::SUCCESS,
        Err(error) if error.downcast_ref::<path_command::Unsatisfied>().is_some() => ExitCode::FAILURE,
        Err(error) if error.downcast_ref::<trace_command::Unresolved>().is_some() => ExitCode::FAILURE,
        Err(error) if error.downcast_ref::<doctor_command::FindingsOpen>().is_some() => ExitCode::FAILURE,
        Err(error) if error.downcast_ref::<diff_command::Different>().is_some() => ExitCode::FAILURE,
        Err(error) => {
            terminal::restore_if_raw();
            // Not eprintln!: with the terminal gone (a closed window) stderr fails
            // with EIO, and eprintln! would panic on the way out.
            let _ = writeln!(std::io::stderr(), "netlens: {error:#}");
            // A bad invocation and an output that cannot be written are both the user's
            // to fix: exit 2, as with a bad config.
            let users = error.downcast_ref::<UsageError>().is_some()
                || error.downcast_ref::<diff_command::BadSnapshot>().is_some()
                || error.downcast_ref::<output::OutputError>().is_some();
            if users { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

/// The commands that read files or print text and need no config, sources,
/// privileges or runtime; `None` for the others.
fn run_offline(cli: &Cli) -> Option<anyhow::Result<()>> {
    match &cli.command {
        Some(Command::Completions(args)) => Some(manual::completions(args.shell)),
        Some(Command::Man) => Some(manual::man()),
        // Reads two files and needs nothing else.
        Some(Command::Diff(args)) => Some(diff_command::run(args)),
        // A snapshot of a journal reads a file and needs no sources or privileges.
        Some(Command::Snapshot(args)) => args.from.as_ref().map(|journal| {
            if let Some(output) = &args.output {
                output::check(&output::Output::from_arg(output.as_os_str()))
                    .map_err(|error| usage(error.to_string()))?;
            }
            let doc = journal_at::snapshot(journal, args.at.as_deref()).map_err(usage)?;
            headless::emit(doc, args)
        }),
        Some(Command::Config(command)) => Some(match command {
            ConfigCommand::Template => stdout::emit(&config::template()),
            ConfigCommand::Path => match cli.config.clone().or_else(config::default_config_path) {
                Some(path) => stdout::emit(&format!("{}\n", path.display())),
                None => Err(usage("no config path: neither $XDG_CONFIG_HOME nor $HOME is set")),
            },
            ConfigCommand::Check => return None,
        }),
        _ => None,
    }
}

/// `netlens config check`, once the config, its theme and keys were read without error.
fn config_checked(settings: &Settings) -> anyhow::Result<()> {
    let what = match (&settings.config_path, config::default_config_path()) {
        (Some(path), _) => format!("config file {}: good", path.display()),
        (None, Some(path)) => format!("no config file at {}: netlens uses its defaults", path.display()),
        (None, None) => "no config file: netlens uses its defaults".to_owned(),
    };
    stdout::emit(&format!("{what}\n"))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(result) = run_offline(&cli) {
        return result;
    }
    let settings = Settings::resolve(&cli).map_err(|error| usage(error.to_string()))?;
    let theme = load_theme(&settings.theme)?;
    let keymap = Keymap::with_overrides(&settings.keys).map_err(|error| {
        let origin =
            settings.config_path.as_ref().map_or_else(|| "config".to_owned(), |p| p.display().to_string());
        usage(format!("config file {origin}, [keys]: {error}"))
    })?;
    if let Some(Command::Config(ConfigCommand::Check)) = &cli.command {
        return config_checked(&settings);
    }
    if let Some(Command::Snapshot(args)) = &cli.command
        && let Some(output) = &args.output
    {
        output::check(&output::Output::from_arg(output.as_os_str()))
            .map_err(|error| usage(error.to_string()))?;
    }
    if matches!(cli.command, Some(Command::Replay(_) | Command::Open(_))) {
        return read_only(cli.command.as_ref(), &settings, &theme, &keymap);
    }
    // The daemon's port, bound first: in use is the user's to fix (exit 2), and a port
    // below 1024 needs the privileges dropped below.
    let mut daemon_listener = match &cli.command {
        Some(Command::Daemon(args)) => Some(daemon::prepare(args).map_err(usage)?),
        _ => None,
    };
    // The journal's file or directory is made now, so the sandbox can allow exactly it.
    let mut record_target = match &cli.command {
        Some(Command::Record(args)) => Some(record_command::open(args).map_err(usage)?),
        _ => None,
    };
    // Set-up that needs privileges, in this thread, before any other thread exists
    // (capabilities belong to each thread; a thread copies its creator's).
    // The cgroup v2 root is opened before `--netns` remounts /sys over its mount point.
    let wants_attribution = collect::wants_attribution(&settings, cli.command.as_ref());
    let cgroup_root = wants_attribution.then(collect::find_cgroup_root);
    if let Some(name) = &settings.netns {
        netns::enter(name).map_err(|error| usage(error.to_string()))?;
    }
    // Opened (and its directory made) before writes are restricted; its writer
    // thread starts after the drop. The daemon logs to standard error for journald
    // and makes no file: under systemd its home is read-only.
    let daemon = matches!(cli.command, Some(Command::Daemon(_)));
    let log_file = (!daemon).then(|| logging::open(&settings.log_file));
    // BPF attribution: loaded and attached synchronously, while still privileged and
    // in the monitored namespace, before the runtime's threads exist. Nothing is kept
    // for it: measured on Linux 6.18 with kernel.unprivileged_bpf_disabled=2, map
    // reads through an fd opened before the drop work with no capability (as do ring
    // buffer reads through mmap and epoll, and detaching by closing); older kernels
    // checked the sysctl on every bpf() call, and there CAP_BPF would have to stay.
    // The socket watch first (parsing the kernel's BTF takes a while, longest in a
    // debug build), so that once the attribution links are up the sources follow at
    // once: tests take attached links for "netlens is watching". Each walk after the
    // drop creates a link and an iterator from the loaded program, which needs no
    // capability on this kernel.
    let watch_unavailable =
        collect::load_socket_watch(collect::socket_watch_ring(&settings, cli.command.as_ref()));
    let attribution_unavailable = collect::load_attribution(cgroup_root);
    // End of set-up: keep only what the sources still use, set no_new_privs, and
    // restrict writes with Landlock. Every thread started below holds exactly this.
    // The heap the set-up left free (the BTF it parsed) goes back to the kernel.
    allocator::release_free_pages();
    let secured = privilege::secure(cli.command.as_ref(), &settings, privilege::CapabilitySet::empty())?;
    let mut startup_notices = Vec::new();
    if daemon {
        daemon::journald::start();
    }
    let _log_guard = match log_file {
        None => None,
        Some(Ok(file)) => Some(logging::start(file)),
        Some(Err(error)) => {
            startup_notices.push(Notice::new(
                TimelineKind::Notice,
                "log",
                format!("logging disabled: cannot open {}: {error}", settings.log_file.display()),
            ));
            None
        }
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), netns = ?settings.netns, "netlens starting");
    if let Some(why) = attribution_unavailable {
        tracing::info!(%why, "BPF attribution unavailable");
    }
    if let Some(why) = watch_unavailable {
        tracing::info!(%why, "BPF socket watch unavailable");
    }
    tracing::info!(capabilities = %secured.held.summary(), landlock = %secured.sandbox.detail, "privileges after set-up");
    startup_notices.push(Notice::new(TimelineKind::Notice, "privileges", secured.held.summary()));
    startup_notices.push(Notice::new(TimelineKind::Notice, "landlock", secured.sandbox.detail));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    if let (Some(Command::Daemon(args)), Some(prepared)) = (&cli.command, daemon_listener.take()) {
        let result = runtime.block_on(daemon::run(&cli, settings, args, prepared));
        runtime.shutdown_timeout(std::time::Duration::from_millis(200));
        return result;
    }
    let result = match cli.command {
        Some(Command::Snapshot(args)) => runtime.block_on(headless::run(settings, args)),
        Some(Command::Path(args)) => runtime.block_on(path_command::run(&settings, args)),
        Some(Command::Trace(args)) => runtime.block_on(trace_command::run(args)),
        Some(Command::Doctor(args)) => runtime.block_on(doctor_command::run(&settings, &args)),
        Some(Command::Record(args)) => match record_target.take() {
            Some(target) => runtime.block_on(record_command::run(&settings, &args, target)),
            None => Ok(()),
        },
        // The daemon ran above; the rest ran before the runtime.
        Some(
            Command::Daemon(_)
            | Command::Config(_)
            | Command::Diff(_)
            | Command::Replay(_)
            | Command::Open(_)
            | Command::Completions(_)
            | Command::Man,
        ) => Ok(()),
        None => runtime.block_on(app::run(settings, theme, keymap, startup_notices)),
    };
    // Collector tasks may sit in blocking reads; do not wait for them.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    result
}

/// `netlens replay` and `netlens open`: a file read, no source, no privilege kept.
fn read_only(
    command: Option<&Command>,
    settings: &Settings,
    theme: &Theme,
    keymap: &Keymap,
) -> anyhow::Result<()> {
    enum Input {
        Journal(std::path::PathBuf, netlens_collectors::journal::Journal),
        Snapshot(std::path::PathBuf, Box<netlens_collectors::snapshot::Snapshot>),
    }
    let input = match command {
        Some(Command::Replay(args)) => {
            Input::Journal(args.journal.clone(), replay_app::open_journal(&args.journal).map_err(usage)?)
        }
        Some(Command::Open(args)) => Input::Snapshot(
            args.snapshot.clone(),
            Box::new(diff_command::read(&args.snapshot).map_err(|e| usage(e.to_string()))?),
        ),
        _ => return Ok(()),
    };
    privilege::secure(command, settings, privilege::CapabilitySet::empty())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match input {
        Input::Journal(path, journal) => {
            runtime.block_on(replay_app::replay(&path, &journal, settings, theme, keymap))
        }
        Input::Snapshot(path, snapshot) => {
            let at = snapshot.taken_at;
            let store = netlens_collectors::snapshot::to_events::store(&snapshot);
            runtime.block_on(replay_app::open(&path, store, at, settings, theme, keymap))
        }
    }
}

/// A built-in theme by name, or a theme file (which may set only some slots; the
/// rest come from the dark theme). `NO_COLOR` turns colour off either way.
fn load_theme(spec: &str) -> anyhow::Result<Theme> {
    let theme = if let Some(theme) = Theme::builtin(spec) {
        theme
    } else {
        let path = Path::new(spec);
        let is_toml = path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("toml"));
        if !(spec.contains('/') || is_toml || path.exists()) {
            return Err(usage(format!(
                "unknown theme `{spec}`: use one of {} or the path of a theme file",
                Theme::builtin_names().join(", ")
            )));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|error| usage(format!("cannot read theme file {}: {error}", path.display())))?;
        let base = Theme::builtin(config::defaults::THEME).unwrap_or_default();
        Theme::from_toml(&base, &text)
            .map_err(|error| usage(format!("theme file {}: {error}", path.display())))?
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    Ok(if no_color { theme.without_color() } else { theme })
}
