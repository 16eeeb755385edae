//! Checks of the config file's values, each failure naming the file, the line, the
//! key and the value as written.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use netlens_collectors::paths::target::{Target, TargetError};
use toml::Spanned;

use super::error::{ConfigError, Location, ValueError};
use super::file::Source;
use super::ranges::Bounds;
use crate::duration;

/// The forms a target may take, for the fix of a bad one.
const TARGET_FORMS: &str = "write DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none] with DEST \
     a host, host:port, an IP address, ip:port or [ipv6]:port, e.g. \"example.org:443\", \
     \"10.0.0.1,probe=icmp\" or \"[2001:db8::1]:443\"";

/// Checks values against their bounds, pointing into `source` when they came from it.
pub struct Checker<'a> {
    source: Option<&'a Source>,
}

impl<'a> Checker<'a> {
    /// A checker for values from `source` (none: defaults and the command line only).
    pub fn new(source: Option<&'a Source>) -> Self {
        Self { source }
    }

    /// The file the values came from, for messages.
    pub fn origin(&self) -> PathBuf {
        self.source.map_or_else(|| PathBuf::from("<defaults>"), |source| source.path.clone())
    }

    fn location<T>(&self, value: &Spanned<T>) -> Option<Location> {
        self.source.map(|source| source.locate(value.span()))
    }

    /// An error about `key`, pointing at `value`'s line.
    pub fn error<T>(
        &self,
        key: &str,
        value: &Spanned<T>,
        shown: String,
        problem: String,
        hint: String,
    ) -> ConfigError {
        ConfigError::Value(Box::new(ValueError {
            path: self.origin(),
            location: self.location(value),
            key: key.to_owned(),
            value: shown,
            problem,
            hint,
        }))
    }

    /// A duration with a unit within `bounds`, or `default` when the key is absent.
    pub fn duration(
        &self,
        key: &str,
        value: Option<&Spanned<String>>,
        default: Duration,
        bounds: Bounds<Duration>,
    ) -> Result<Duration, ConfigError> {
        let Some(value) = value else { return Ok(default) };
        let text = value.get_ref();
        let shown = format!("\"{text}\"");
        let parsed = duration::parse(text).map_err(|problem| {
            self.error(key, value, shown.clone(), problem, format!("write e.g. {key} = \"1s\" or \"250ms\""))
        })?;
        if !bounds.contains(parsed) {
            return Err(self.error(
                key,
                value,
                shown,
                format!(
                    "must be between {} and {}",
                    duration::format(bounds.min),
                    duration::format(bounds.max)
                ),
                format!("set {key} within that range"),
            ));
        }
        Ok(parsed)
    }

    /// A whole number within `bounds`, or `default` when the key is absent.
    pub fn count(
        &self,
        key: &str,
        value: Option<&Spanned<i64>>,
        default: i64,
        bounds: Bounds<i64>,
    ) -> Result<i64, ConfigError> {
        let Some(value) = value else { return Ok(default) };
        let number = *value.get_ref();
        if !bounds.contains(number) {
            return Err(self.error(
                key,
                value,
                number.to_string(),
                format!("must be between {} and {}", bounds.min, bounds.max),
                format!("write e.g. {key} = {default}"),
            ));
        }
        Ok(number)
    }

    /// `paths.targets`, each parsed; a bad one names its index and line.
    pub fn targets(&self, texts: &[Spanned<String>]) -> Result<Vec<Target>, ConfigError> {
        texts
            .iter()
            .enumerate()
            .map(|(index, text)| {
                text.get_ref().parse().map_err(|error: TargetError| {
                    self.error(
                        &format!("paths.targets[{index}]"),
                        text,
                        format!("\"{}\"", text.get_ref()),
                        error.to_string(),
                        TARGET_FORMS.to_owned(),
                    )
                })
            })
            .collect()
    }

    /// `[keys]`: each action's keys are checked on their own so an error names the
    /// line; a conflict between two overridden actions is found later, as a whole.
    pub fn keys(
        &self,
        keys: &BTreeMap<String, Spanned<Vec<String>>>,
    ) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
        let mut plain = BTreeMap::new();
        for (action, chords) in keys {
            let one = BTreeMap::from([(action.clone(), chords.get_ref().clone())]);
            if let Err(error) = netlens_ui::Keymap::with_overrides(&one) {
                let quoted: Vec<String> =
                    chords.get_ref().iter().map(|chord| format!("\"{chord}\"")).collect();
                return Err(self.error(
                    &format!("keys.{action}"),
                    chords,
                    format!("[{}]", quoted.join(", ")),
                    error.to_string(),
                    "`netlens config template` lists the actions and the key names".to_owned(),
                ));
            }
            plain.insert(action.clone(), chords.get_ref().clone());
        }
        Ok(plain)
    }
}
