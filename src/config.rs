//! Configuration: the TOML file, the command line and the defaults, resolved in one
//! place ([`Settings::resolve`]) with the precedence CLI > file > defaults.

mod check;
mod error;
mod file;
mod findings;
mod template;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use netlens_collectors::paths::target::Target;

use self::check::Checker;
pub use self::error::ConfigError;
use self::file::{ConfigFile, Source};
pub use self::template::template;
use crate::cli::Cli;

/// Everything the program needs, resolved from CLI, file and defaults.
#[derive(Debug, Clone, PartialEq)]
#[expect(clippy::struct_excessive_bools, reason = "each is an independent on/off setting of the config file")]
pub struct Settings {
    /// The config file that was read, if any.
    pub config_path: Option<PathBuf>,
    /// Counter and usage sampling period.
    pub refresh: Duration,
    /// Delay between a netlink notification and the re-read it triggers.
    pub debounce: Duration,
    /// Whether to use rtnetlink (false: the portable fallback).
    pub netlink: bool,
    /// Why netlink is off, when it is (shown as the source detail).
    pub netlink_off_reason: Option<String>,
    /// Theme name or path.
    pub theme: String,
    /// Where the TUI writes snapshots.
    pub export_dir: PathBuf,
    /// Log file.
    pub log_file: PathBuf,
    /// Frame-rate cap.
    pub max_fps: u32,
    /// Timeline entries kept.
    pub timeline_capacity: usize,
    /// Rate samples kept per interface.
    pub history: usize,
    /// How long closed connections stay visible.
    pub closed_retention: Duration,
    /// How much of the session the TUI's flight recorder keeps (zero: none).
    pub flight_recorder: Duration,
    /// `[findings]`: rules turned off, per-rule debounce, hold and thresholds.
    pub findings: netlens_collectors::findings::FindingsConfig,
    /// Whether names of remote addresses on screen are looked up (reverse DNS).
    pub reverse_dns: bool,
    /// Whether UDP byte counts come from packet capture (needs `CAP_NET_RAW`).
    pub capture: bool,
    /// Key binding overrides: action name → keys.
    pub keys: BTreeMap<String, Vec<String>>,
    /// Network namespace to monitor.
    pub netns: Option<String>,
    /// Play the scripted demo instead of collecting.
    pub demo: bool,
    /// User path targets: the config's, then `--target`'s (duplicates dropped).
    pub targets: Vec<Target>,
    /// How long a new path status must hold before it is committed.
    pub path_debounce: Duration,
    /// Time between probes of a target that answers.
    pub probe_interval: Duration,
    /// How long one probe may take.
    pub probe_timeout: Duration,
    /// Interfaces marked expensive (metered).
    pub expensive: Vec<String>,
    /// Interfaces marked constrained.
    pub constrained: Vec<String>,
}

/// Defaults, in one place.
pub mod defaults {
    use std::time::Duration;

    /// Sampling period.
    pub const REFRESH: Duration = Duration::from_secs(1);
    /// Netlink re-read delay.
    pub const DEBOUNCE: Duration = Duration::from_millis(150);
    /// Theme.
    pub const THEME: &str = "dark";
    /// Frame-rate cap.
    pub const MAX_FPS: u32 = 30;
    /// Timeline capacity.
    pub const TIMELINE_CAPACITY: usize = 10_000;
    /// Rate samples per interface (two minutes at the default refresh).
    pub const HISTORY: usize = 120;
    /// Closed connections stay visible this long.
    pub const CLOSED_RETENTION: Duration = Duration::from_secs(10);
    /// The flight recorder keeps this much of the session.
    pub const FLIGHT_RECORDER: Duration = Duration::from_secs(15 * 60);
    /// A path status must hold this long before it is committed.
    pub const PATH_DEBOUNCE: Duration = Duration::from_secs(1);
    /// Time between probes of a target.
    pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);
    /// Longest wait for one probe.
    pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
}

/// The values each setting accepts, in one place: the checks, the command line and
/// the template all read these.
pub mod ranges {
    use std::time::Duration;

    use crate::duration;

    /// The smallest and largest accepted value, both included.
    #[derive(Debug, Clone, Copy)]
    pub struct Bounds<T> {
        /// Smallest accepted.
        pub min: T,
        /// Largest accepted.
        pub max: T,
    }

    impl<T: PartialOrd + Copy> Bounds<T> {
        /// Whether `value` is accepted.
        pub fn contains(&self, value: T) -> bool {
            self.min <= value && value <= self.max
        }
    }

    impl Bounds<Duration> {
        /// `"100ms" … "60s"`, as the template writes it.
        pub fn describe(&self) -> String {
            format!("\"{}\" … \"{}\"", duration::format(self.min), duration::format(self.max))
        }
    }

    impl Bounds<i64> {
        /// `1 … 120`.
        pub fn describe(&self) -> String {
            format!("{} … {}", self.min, self.max)
        }
    }

    const fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    /// `refresh` and `--refresh`.
    pub const REFRESH: Bounds<Duration> = Bounds { min: ms(100), max: ms(60_000) };
    /// `interfaces.debounce`.
    pub const DEBOUNCE: Bounds<Duration> = Bounds { min: ms(0), max: ms(5_000) };
    /// `connections.closed_retention`.
    pub const CLOSED_RETENTION: Bounds<Duration> = Bounds { min: ms(0), max: ms(3_600_000) };
    /// `record.flight_recorder`.
    pub const FLIGHT_RECORDER: Bounds<Duration> = Bounds { min: ms(0), max: ms(86_400_000) };
    /// `paths.debounce`.
    pub const PATH_DEBOUNCE: Bounds<Duration> = Bounds { min: ms(0), max: ms(60_000) };
    /// `paths.probe_interval`.
    pub const PROBE_INTERVAL: Bounds<Duration> = Bounds { min: ms(500), max: ms(3_600_000) };
    /// `paths.probe_timeout`.
    pub const PROBE_TIMEOUT: Bounds<Duration> = Bounds { min: ms(100), max: ms(30_000) };
    /// `ui.max_fps`.
    pub const MAX_FPS: Bounds<i64> = Bounds { min: 1, max: 120 };
    /// `ui.timeline_capacity`.
    pub const TIMELINE_CAPACITY: Bounds<i64> = Bounds { min: 100, max: 1_000_000 };
    /// `ui.history`.
    pub const HISTORY: Bounds<i64> = Bounds { min: 2, max: 100_000 };
}

/// `$XDG_CONFIG_HOME/netlens/config.toml`, or `~/.config/netlens/config.toml`.
#[must_use]
pub fn default_config_path() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config").map(|dir| dir.join("netlens").join("config.toml"))
}

/// `$XDG_STATE_HOME/netlens/netlens.log`, or `~/.local/state/netlens/netlens.log`.
#[must_use]
pub fn default_log_path() -> PathBuf {
    xdg_dir("XDG_STATE_HOME", ".local/state")
        .unwrap_or_else(std::env::temp_dir)
        .join("netlens")
        .join("netlens.log")
}

fn xdg_dir(variable: &str, fallback_under_home: &str) -> Option<PathBuf> {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(fallback_under_home)))
}

impl Settings {
    /// What the paths source needs from these settings.
    #[must_use]
    pub fn paths_config(&self) -> netlens_collectors::paths::source::PathsConfig {
        netlens_collectors::paths::source::PathsConfig {
            targets: self.targets.clone(),
            debounce: self.path_debounce,
            probe_interval: self.probe_interval,
            probe_timeout: self.probe_timeout,
            expensive: self.expensive.clone(),
            constrained: self.constrained.clone(),
            ..netlens_collectors::paths::source::PathsConfig::default()
        }
    }

    /// The store's capacities and windows these settings ask for.
    #[must_use]
    pub fn store_limits(&self) -> netlens_collectors::StoreLimits {
        let retention =
            time::Duration::try_from(self.closed_retention).unwrap_or(time::Duration::seconds(10));
        netlens_collectors::StoreLimits {
            timeline_capacity: self.timeline_capacity,
            history_capacity: self.history,
            connections: netlens_collectors::ConnectionLimits {
                closed_retention: retention,
                ..netlens_collectors::ConnectionLimits::default()
            },
            ..netlens_collectors::StoreLimits::default()
        }
    }

    /// Resolve settings: the file named by `--config` (which must exist) or the
    /// default path (read only if it exists), then command-line overrides.
    pub fn resolve(cli: &Cli) -> Result<Self, ConfigError> {
        let source = match &cli.config {
            Some(path) => Some(Source::read(path)?),
            None => match default_config_path() {
                Some(path) if path.exists() => Some(Source::read(&path)?),
                _ => None,
            },
        };
        let file = source.as_ref().map(Source::parse).transpose()?.unwrap_or_default();
        Self::merge(cli, source.as_ref(), file)
    }

    fn merge(cli: &Cli, source: Option<&Source>, file: ConfigFile) -> Result<Self, ConfigError> {
        let check = Checker::new(source);
        let refresh = match cli.refresh {
            Some(refresh) => refresh,
            None => check.duration("refresh", file.refresh.as_ref(), defaults::REFRESH, ranges::REFRESH)?,
        };
        let debounce = check.duration(
            "interfaces.debounce",
            file.interfaces.debounce.as_ref(),
            defaults::DEBOUNCE,
            ranges::DEBOUNCE,
        )?;
        let closed_retention = check.duration(
            "connections.closed_retention",
            file.connections.closed_retention.as_ref(),
            defaults::CLOSED_RETENTION,
            ranges::CLOSED_RETENTION,
        )?;
        let (path_debounce, probe_interval, probe_timeout) = path_timing(&check, &file.paths)?;
        let max_fps =
            check.count("ui.max_fps", file.ui.max_fps.as_ref(), defaults::MAX_FPS.into(), ranges::MAX_FPS)?;
        let timeline_capacity = check.count(
            "ui.timeline_capacity",
            file.ui.timeline_capacity.as_ref(),
            defaults::TIMELINE_CAPACITY as i64,
            ranges::TIMELINE_CAPACITY,
        )?;
        let history =
            check.count("ui.history", file.ui.history.as_ref(), defaults::HISTORY as i64, ranges::HISTORY)?;
        let mut targets = check.targets(&file.paths.targets)?;
        targets.extend(cli.targets.iter().cloned());
        let mut seen = std::collections::BTreeSet::new();
        targets.retain(|target| seen.insert(target.text.clone()));
        let keys = check.keys(&file.keys)?;
        let origin = check.origin();
        let file_netlink = file.interfaces.netlink.as_ref().is_none_or(|value| *value.get_ref());
        let (netlink, netlink_off_reason) = if cli.no_netlink {
            (false, Some("--no-netlink".to_owned()))
        } else if !file_netlink {
            (false, Some(format!("interfaces.netlink = false in {}", origin.display())))
        } else if !cfg!(target_os = "linux") {
            (false, Some("netlink exists only on Linux".to_owned()))
        } else {
            (true, None)
        };
        let flag = |value: Option<&toml::Spanned<bool>>| value.is_none_or(|value| *value.get_ref());
        Ok(Self {
            config_path: source.map(|source| source.path.clone()),
            refresh,
            debounce,
            netlink,
            netlink_off_reason,
            theme: cli
                .theme
                .clone()
                .or_else(|| file.theme.map(toml::Spanned::into_inner))
                .unwrap_or_else(|| defaults::THEME.to_owned()),
            export_dir: cli
                .export_dir
                .clone()
                .or_else(|| file.export_dir.map(toml::Spanned::into_inner))
                .unwrap_or_else(|| PathBuf::from(".")),
            log_file: cli
                .log
                .clone()
                .or_else(|| file.log_file.map(toml::Spanned::into_inner))
                .unwrap_or_else(default_log_path),
            max_fps: max_fps as u32,
            timeline_capacity: timeline_capacity as usize,
            history: history as usize,
            closed_retention,
            flight_recorder: check.duration(
                "record.flight_recorder",
                file.record.flight_recorder.as_ref(),
                defaults::FLIGHT_RECORDER,
                ranges::FLIGHT_RECORDER,
            )?,
            findings: findings::findings(&check, &file.findings)?,
            reverse_dns: !cli.no_reverse_dns && flag(file.connections.reverse_dns.as_ref()),
            capture: flag(file.connections.capture.as_ref()),
            keys,
            netns: cli.netns.clone(),
            demo: cli.demo,
            targets,
            path_debounce,
            probe_interval,
            probe_timeout,
            expensive: file.paths.expensive,
            constrained: file.paths.constrained,
        })
    }
}

/// `[paths]`: the debounce, the probe interval and the probe timeout.
fn path_timing(
    check: &Checker<'_>,
    paths: &file::PathsSection,
) -> Result<(Duration, Duration, Duration), ConfigError> {
    Ok((
        check.duration(
            "paths.debounce",
            paths.debounce.as_ref(),
            defaults::PATH_DEBOUNCE,
            ranges::PATH_DEBOUNCE,
        )?,
        check.duration(
            "paths.probe_interval",
            paths.probe_interval.as_ref(),
            defaults::PROBE_INTERVAL,
            ranges::PROBE_INTERVAL,
        )?,
        check.duration(
            "paths.probe_timeout",
            paths.probe_timeout.as_ref(),
            defaults::PROBE_TIMEOUT,
            ranges::PROBE_TIMEOUT,
        )?,
    ))
}

#[cfg(test)]
mod tests;
