//! `netlens config template`: every option at its default, with the range it accepts.
//! The ranges are printed from the same bounds the checks use, so the two cannot differ.

use super::{default_config_path, default_log_path, defaults, ranges};
use crate::duration;

/// A commented config file with every option at its default value.
#[must_use]
pub fn template() -> String {
    format!(
        r#"# netlens configuration. Save as {path}
# (or pass --config PATH). Command-line options override these values.

# How often interface counters and netlens's own usage are sampled ({refresh_range}).
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
# burst of changes costs one re-read ({debounce_range}).
debounce = "{debounce}"

[connections]
# How long a closed connection stays visible, marked closed ({retention_range}).
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
# ip:port or [ipv6]:port (an IPv6 address with a port must be bracketed). A target
# with a port is probed with TCP connects; one without is only looked up (no packets)
# unless probe= asks. --target adds more.
targets = []
# How long a new path status must hold before it counts (and reaches the timeline)
# ({path_debounce_range}).
debounce = "{path_debounce}"
# Time between probes of a target while it answers ({probe_interval_range}). A failing
# target is probed again after that long, then twice as long each time, up to a minute.
probe_interval = "{probe_interval}"
# Longest wait for one probe ({probe_timeout_range}).
probe_timeout = "{probe_timeout}"
# Interfaces to treat as expensive (metered) or constrained (low-data), by name.
# Cellular interfaces are always expensive.
expensive = []
constrained = []

[ui]
# Frame-rate cap while things change ({fps_range}). An idle screen redraws once a second.
max_fps = {fps}
# Timeline entries kept in memory ({timeline_range}).
timeline_capacity = {timeline}
# Rate samples kept per interface for the sparklines ({history_range}).
history = {history}

[record]
# How much of the session the TUI keeps in memory for `E` (an incident bundle: the
# snapshot and the journal of these minutes); "0s" keeps none ({flight_range}).
flight_recorder = "{flight}"

[keys]
# Rebind an action by listing its keys; this replaces the action's default keys.
# Actions: quit, next_tab, prev_tab, tab_1 … tab_7, up, down, top, bottom, page_up,
# page_down, filter, cycle_sort, reverse_sort, group, open, close, toggle_pause,
# export, incident, help, follow, route_lookup, add_target, remove_target, probe_now,
# trace, switch_focus.
# Keys: letters, digits, symbols, enter, esc, tab, shift-tab, up, down, left, right,
# home, end, pgup, pgdn, f1 … f12, with ctrl-/alt-/shift- prefixes.
# quit = ["q", "ctrl-c"]
# export = ["e", "ctrl-s"]

{findings}"#,
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
        flight = duration::format(defaults::FLIGHT_RECORDER),
        flight_range = ranges::FLIGHT_RECORDER.describe(),
        refresh_range = ranges::REFRESH.describe(),
        debounce_range = ranges::DEBOUNCE.describe(),
        retention_range = ranges::CLOSED_RETENTION.describe(),
        path_debounce_range = ranges::PATH_DEBOUNCE.describe(),
        probe_interval_range = ranges::PROBE_INTERVAL.describe(),
        probe_timeout_range = ranges::PROBE_TIMEOUT.describe(),
        fps_range = ranges::MAX_FPS.describe(),
        timeline_range = ranges::TIMELINE_CAPACITY.describe(),
        history_range = ranges::HISTORY.describe(),
        findings = super::findings::template(),
    )
}
