//! SIGHUP: read the config again and apply what can change while running — path
//! targets (added and removed in the paths and DNS sources, so a removed target's
//! series disappear with its next paths table) and the findings' thresholds — without
//! losing any state. A config that does not load leaves the one in use, and the log
//! says why, naming the file and key.

use netlens_collectors::dns::source::DnsControl;
use netlens_collectors::paths::source::PathsControl;

use crate::cli::Cli;
use crate::collect::{self, Collectors};
use crate::config::Settings;

/// What a reload changed.
pub struct Applied {
    /// The settings now in use.
    pub settings: Settings,
    /// Targets added and removed, by their text.
    pub added: Vec<String>,
    /// Targets removed.
    pub removed: Vec<String>,
    /// Changes a source's queue was too full to take (try SIGHUP again).
    pub undelivered: Vec<String>,
}

/// Read the config again for `cli`; apply its targets to the running sources.
pub fn reload(cli: &Cli, current: &Settings, collectors: &Collectors) -> Result<Applied, String> {
    let settings = Settings::resolve(cli).map_err(|error| error.to_string())?;
    let (mut added, mut removed, mut undelivered) = (Vec::new(), Vec::new(), Vec::new());
    let mut deliver = |sent: bool, what: String| {
        if !sent {
            undelivered.push(what);
        }
    };
    for old in &current.targets {
        if !settings.targets.iter().any(|new| new.text == old.text) {
            if let Some(paths) = &collectors.paths {
                deliver(paths.send(PathsControl::Remove(old.text.clone())), format!("remove {}", old.text));
            }
            if let (Some(dns), Some(name)) = (&collectors.dns, collect::target_name(old)) {
                deliver(dns.send(DnsControl::RemoveTarget(name)), format!("forget the name of {}", old.text));
            }
            removed.push(old.text.clone());
        }
    }
    for new in &settings.targets {
        if !current.targets.iter().any(|old| old.text == new.text) {
            if let Some(paths) = &collectors.paths {
                deliver(paths.send(PathsControl::Add(new.clone())), format!("add {}", new.text));
            }
            if let (Some(dns), Some(name)) = (&collectors.dns, collect::target_name(new)) {
                deliver(dns.send(DnsControl::AddTarget(name)), format!("resolve {}", new.text));
            }
            added.push(new.text.clone());
        }
    }
    Ok(Applied { settings, added, removed, undelivered })
}
