//! Configuration: the TOML file, the command line and the defaults, resolved in one
//! place ([`Settings::resolve`]) with the precedence CLI > file > defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netlens_collectors::paths::target::Target;
use serde::Deserialize;

use crate::cli::Cli;
use crate::duration;

/// The config file as written; every field optional so a file may set only a few.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    refresh: Option<String>,
    theme: Option<String>,
    export_dir: Option<PathBuf>,
    log_file: Option<PathBuf>,
    #[serde(default)]
    interfaces: InterfacesSection,
    #[serde(default)]
    connections: ConnectionsSection,
    #[serde(default)]
    paths: PathsSection,
    #[serde(default)]
    ui: UiSection,
    #[serde(default)]
    keys: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InterfacesSection {
    netlink: Option<bool>,
    debounce: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionsSection {
    closed_retention: Option<String>,
    reverse_dns: Option<bool>,
    capture: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathsSection {
    #[serde(default)]
    targets: Vec<String>,
    debounce: Option<String>,
    probe_interval: Option<String>,
    probe_timeout: Option<String>,
    #[serde(default)]
    expensive: Vec<String>,
    #[serde(default)]
    constrained: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UiSection {
    max_fps: Option<u32>,
    timeline_capacity: Option<usize>,
    history: Option<usize>,
}

/// A config problem, phrased to name the file, the key and the value, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error(
        "cannot read config file {path}: {source}\n  fix: check the path and its permissions, or pass another with --config"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has an unknown key or a value of the wrong type.
    #[error("config file {path}, line {line}: {message}\n  {line_text}\n  fix: {hint}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// The parser's message.
        message: String,
        /// The offending line as written.
        line_text: String,
        /// How to fix it.
        hint: String,
    },
    /// A key has a value netlens cannot use.
    #[error("config file {path}: key `{key}` has value {value}: {problem}\n  fix: {hint}")]
    Value {
        /// The file.
        path: PathBuf,
        /// Dotted key, e.g. `ui.max_fps`.
        key: String,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        problem: String,
        /// How to fix it.
        hint: String,
    },
}

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
    /// A path status must hold this long before it is committed.
    pub const PATH_DEBOUNCE: Duration = Duration::from_secs(1);
    /// Time between probes of a target.
    pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);
    /// Longest wait for one probe.
    pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
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
        let (path, text) = match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                (Some(path.clone()), Some(text))
            }
            None => match default_config_path() {
                Some(path) if path.exists() => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                    (Some(path), Some(text))
                }
                _ => (None, None),
            },
        };
        let file = match (&path, &text) {
            (Some(path), Some(text)) => parse_file(path, text)?,
            _ => ConfigFile::default(),
        };
        Self::merge(cli, path, file)
    }

    fn merge(cli: &Cli, path: Option<PathBuf>, file: ConfigFile) -> Result<Self, ConfigError> {
        let origin = path.clone().unwrap_or_else(|| PathBuf::from("<defaults>"));
        let file_duration =
            |key: &str, value: Option<&String>, default: Duration| -> Result<Duration, ConfigError> {
                value.map_or(Ok(default), |text| {
                    duration::parse(text).map_err(|problem| ConfigError::Value {
                        path: origin.clone(),
                        key: key.to_owned(),
                        value: format!("\"{text}\""),
                        problem,
                        hint: format!("write e.g. {key} = \"1s\" or \"250ms\""),
                    })
                })
            };
        let refresh = match cli.refresh {
            Some(refresh) => refresh,
            None => file_duration("refresh", file.refresh.as_ref(), defaults::REFRESH)?,
        };
        check_range(&origin, "refresh", refresh, Duration::from_millis(100), Duration::from_secs(60))?;
        let debounce =
            file_duration("interfaces.debounce", file.interfaces.debounce.as_ref(), defaults::DEBOUNCE)?;
        check_range(&origin, "interfaces.debounce", debounce, Duration::ZERO, Duration::from_secs(5))?;
        let closed_retention = file_duration(
            "connections.closed_retention",
            file.connections.closed_retention.as_ref(),
            defaults::CLOSED_RETENTION,
        )?;
        check_range(
            &origin,
            "connections.closed_retention",
            closed_retention,
            Duration::ZERO,
            Duration::from_secs(3600),
        )?;
        let paths = paths_settings(&origin, &file.paths, cli)?;
        let max_fps = file.ui.max_fps.unwrap_or(defaults::MAX_FPS);
        if !(1..=120).contains(&max_fps) {
            return Err(value_error(
                &origin,
                "ui.max_fps",
                max_fps,
                "must be between 1 and 120",
                "ui.max_fps = 30",
            ));
        }
        let timeline_capacity = file.ui.timeline_capacity.unwrap_or(defaults::TIMELINE_CAPACITY);
        if !(100..=1_000_000).contains(&timeline_capacity) {
            return Err(value_error(
                &origin,
                "ui.timeline_capacity",
                timeline_capacity,
                "must be between 100 and 1000000",
                "ui.timeline_capacity = 10000",
            ));
        }
        let history = file.ui.history.unwrap_or(defaults::HISTORY);
        if !(2..=100_000).contains(&history) {
            return Err(value_error(
                &origin,
                "ui.history",
                history,
                "must be between 2 and 100000",
                "ui.history = 120",
            ));
        }
        let file_netlink = file.interfaces.netlink.unwrap_or(true);
        let (netlink, netlink_off_reason) = if cli.no_netlink {
            (false, Some("--no-netlink".to_owned()))
        } else if !file_netlink {
            (false, Some(format!("interfaces.netlink = false in {}", origin.display())))
        } else if !cfg!(target_os = "linux") {
            (false, Some("netlink exists only on Linux".to_owned()))
        } else {
            (true, None)
        };
        Ok(Self {
            config_path: path,
            refresh,
            debounce,
            netlink,
            netlink_off_reason,
            theme: cli.theme.clone().or(file.theme).unwrap_or_else(|| defaults::THEME.to_owned()),
            export_dir: cli.export_dir.clone().or(file.export_dir).unwrap_or_else(|| PathBuf::from(".")),
            log_file: cli.log.clone().or(file.log_file).unwrap_or_else(default_log_path),
            max_fps,
            timeline_capacity,
            history,
            closed_retention,
            reverse_dns: !cli.no_reverse_dns && file.connections.reverse_dns.unwrap_or(true),
            capture: file.connections.capture.unwrap_or(true),
            keys: file.keys,
            netns: cli.netns.clone(),
            demo: cli.demo,
            targets: paths.targets,
            path_debounce: paths.debounce,
            probe_interval: paths.probe_interval,
            probe_timeout: paths.probe_timeout,
            expensive: file.paths.expensive,
            constrained: file.paths.constrained,
        })
    }
}

/// The `[paths]` settings, checked, with `--target` appended.
struct PathSettings {
    targets: Vec<Target>,
    debounce: Duration,
    probe_interval: Duration,
    probe_timeout: Duration,
}

fn paths_settings(origin: &Path, section: &PathsSection, cli: &Cli) -> Result<PathSettings, ConfigError> {
    let file_duration =
        |key: &str, value: Option<&String>, default: Duration| -> Result<Duration, ConfigError> {
            value.map_or(Ok(default), |text| {
                duration::parse(text).map_err(|problem| ConfigError::Value {
                    path: origin.to_owned(),
                    key: key.to_owned(),
                    value: format!("\"{text}\""),
                    problem,
                    hint: format!("write e.g. {key} = \"1s\" or \"250ms\""),
                })
            })
        };
    let file = section;
    let path_debounce = file_duration("paths.debounce", file.debounce.as_ref(), defaults::PATH_DEBOUNCE)?;
    check_range(origin, "paths.debounce", path_debounce, Duration::ZERO, Duration::from_secs(60))?;
    let probe_interval =
        file_duration("paths.probe_interval", file.probe_interval.as_ref(), defaults::PROBE_INTERVAL)?;
    check_range(
        origin,
        "paths.probe_interval",
        probe_interval,
        Duration::from_millis(500),
        Duration::from_secs(3600),
    )?;
    let probe_timeout =
        file_duration("paths.probe_timeout", file.probe_timeout.as_ref(), defaults::PROBE_TIMEOUT)?;
    check_range(
        origin,
        "paths.probe_timeout",
        probe_timeout,
        Duration::from_millis(100),
        Duration::from_secs(30),
    )?;
    let mut targets: Vec<Target> = Vec::new();
    for (index, text) in file.targets.iter().enumerate() {
        let target: Target =
            text.parse().map_err(|error: netlens_collectors::paths::target::TargetError| {
                ConfigError::Value {
                    path: origin.to_owned(),
                    key: format!("paths.targets[{index}]"),
                    value: format!("\"{text}\""),
                    problem: error.to_string(),
                    hint: "write targets as DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none], \
                           e.g. \"example.org:443\" or \"10.0.0.1,probe=icmp\""
                        .to_owned(),
                }
            })?;
        targets.push(target);
    }
    for target in &cli.targets {
        targets.push(target.clone());
    }
    let mut seen = std::collections::BTreeSet::new();
    targets.retain(|target| seen.insert(target.text.clone()));
    Ok(PathSettings { targets, debounce: path_debounce, probe_interval, probe_timeout })
}

fn check_range(
    origin: &Path,
    key: &str,
    value: Duration,
    min: Duration,
    max: Duration,
) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::Value {
            path: origin.to_owned(),
            key: key.to_owned(),
            value: format!("\"{}\"", duration::format(value)),
            problem: format!("must be between {} and {}", duration::format(min), duration::format(max)),
            hint: format!("set {key} within that range"),
        });
    }
    Ok(())
}

fn value_error(
    origin: &Path,
    key: &str,
    value: impl std::fmt::Display,
    problem: &str,
    example: &str,
) -> ConfigError {
    ConfigError::Value {
        path: origin.to_owned(),
        key: key.to_owned(),
        value: value.to_string(),
        problem: problem.to_owned(),
        hint: format!("write e.g. {example}"),
    }
}

fn parse_file(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        let line = text[..offset.min(text.len())].matches('\n').count() + 1;
        let line_text = text.lines().nth(line - 1).unwrap_or("").trim().to_owned();
        let message = error.message().trim().replace('\n', " ");
        let hint = if message.starts_with("unknown field") {
            "correct or remove this key; `netlens config template` lists every option".to_owned()
        } else {
            "correct the value; `netlens config template` shows every option with its default".to_owned()
        };
        ConfigError::Syntax { path: path.to_owned(), line, message, line_text, hint }
    })
}

/// A commented config file with every option at its default value.
#[must_use]
pub fn template() -> String {
    format!(
        r#"# netlens configuration. Save as {path}
# (or pass --config PATH). Command-line options override these values.

# How often interface counters and netlens's own usage are sampled ("250ms" … "60s").
refresh = "{refresh}"

# Colour theme: dark, light, high-contrast, or the path of a theme file. A theme file
# may set only some colours; the rest come from the dark theme. NO_COLOR disables colour.
theme = "{theme}"

# Directory where `e` in the TUI writes netlens-snapshot-<time>.json.
export_dir = "."

# Log file (logs never go to the terminal while the TUI runs).
log_file = "{log}"

[interfaces]
# Use rtnetlink for live interface, address, route, rule and neighbour changes.
# false: poll the portable if-addrs + sysinfo fallback instead (no routes, rules, neighbours).
netlink = true
# How long to wait after a netlink notification before re-reading the state, so a
# burst of changes costs one re-read ("0ms" … "5s").
debounce = "{debounce}"

[connections]
# How long a closed connection stays visible, marked closed ("0s" … "3600s").
closed_retention = "{retention}"
# Look up the names of remote addresses shown on screen (reverse DNS, at most 10
# lookups a second, each address once). false: addresses only, no DNS traffic.
reverse_dns = true
# Count UDP bytes per flow by packet capture on every up interface (needs
# CAP_NET_RAW; without it UDP rates show n/a).
capture = true

[paths]
# Destinations to watch besides the default paths (default-ipv4, default-ipv6), written
# DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none] with DEST a host, host:port, ip,
# ip:port or [ipv6]:port. A target with a port is probed with TCP connects; one without
# is only looked up (no packets) unless probe= asks. --target adds more.
targets = []
# How long a new path status must hold before it counts (and reaches the timeline).
debounce = "{path_debounce}"
# Time between probes of a target while it answers; one that fails is retried after
# this long, then twice as long each time, up to a minute.
probe_interval = "{probe_interval}"
# Longest wait for one probe ("100ms" … "30s").
probe_timeout = "{probe_timeout}"
# Interfaces to treat as expensive (metered) or constrained (low-data), by name.
# Cellular interfaces are always expensive.
expensive = []
constrained = []

[ui]
# Frame-rate cap while things change (1 … 120). An idle screen redraws once a second.
max_fps = {fps}
# Timeline entries kept in memory (100 … 1000000).
timeline_capacity = {timeline}
# Rate samples kept per interface for the sparklines (2 … 100000).
history = {history}

[keys]
# Rebind an action by listing its keys; this replaces the action's default keys.
# Actions: quit, next_tab, prev_tab, tab_1 … tab_7, up, down, top, bottom, page_up,
# page_down, filter, cycle_sort, reverse_sort, group, open, close, toggle_pause,
# export, help, follow, route_lookup, add_target, remove_target, probe_now, trace,
# switch_focus.
# Keys: letters, digits, symbols, enter, esc, tab, shift-tab, up, down, left, right,
# home, end, pgup, pgdn, f1 … f12, with ctrl-/alt-/shift- prefixes.
# quit = ["q", "ctrl-c"]
# export = ["e", "ctrl-s"]
"#,
        path = default_config_path()
            .map_or_else(|| "~/.config/netlens/config.toml".to_owned(), |p| p.display().to_string()),
        refresh = duration::format(defaults::REFRESH),
        theme = defaults::THEME,
        log = default_log_path().display(),
        debounce = duration::format(defaults::DEBOUNCE),
        path_debounce = duration::format(defaults::PATH_DEBOUNCE),
        probe_interval = duration::format(defaults::PROBE_INTERVAL),
        probe_timeout = duration::format(defaults::PROBE_TIMEOUT),
        fps = defaults::MAX_FPS,
        timeline = defaults::TIMELINE_CAPACITY,
        history = defaults::HISTORY,
        retention = duration::format(defaults::CLOSED_RETENTION),
    )
}

#[cfg(test)]
mod tests;
