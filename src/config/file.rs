//! The config file as written: read as UTF-8, parsed as TOML, every value kept with
//! its place in the file so a later check can name the line it is on.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, Location};

/// A value and where it was written.
pub type Placed<T> = Option<Spanned<T>>;

/// Every field optional, so a file may set only a few.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub refresh: Placed<String>,
    pub theme: Placed<String>,
    pub export_dir: Placed<PathBuf>,
    pub log_file: Placed<PathBuf>,
    #[serde(default)]
    pub interfaces: InterfacesSection,
    #[serde(default)]
    pub connections: ConnectionsSection,
    #[serde(default)]
    pub paths: PathsSection,
    #[serde(default)]
    pub ui: UiSection,
    #[serde(default)]
    pub record: RecordSection,
    #[serde(default)]
    pub keys: BTreeMap<String, Spanned<Vec<String>>>,
    /// `[findings]`: checked against the rules in `findings.rs`, not by serde, so a
    /// wrong rule id is named with the ids there are.
    #[serde(default)]
    pub findings: BTreeMap<String, Spanned<toml::Value>>,
}

/// `[interfaces]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfacesSection {
    pub netlink: Placed<bool>,
    pub debounce: Placed<String>,
}

/// `[connections]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsSection {
    pub closed_retention: Placed<String>,
    pub reverse_dns: Placed<bool>,
    pub capture: Placed<bool>,
}

/// `[paths]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsSection {
    #[serde(default)]
    pub targets: Vec<Spanned<String>>,
    pub debounce: Placed<String>,
    pub probe_interval: Placed<String>,
    pub probe_timeout: Placed<String>,
    #[serde(default)]
    pub expensive: Vec<String>,
    #[serde(default)]
    pub constrained: Vec<String>,
}

/// `[record]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSection {
    pub flight_recorder: Placed<String>,
}

/// `[ui]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSection {
    pub max_fps: Placed<i64>,
    pub timeline_capacity: Placed<i64>,
    pub history: Placed<i64>,
}

/// The text of a config file and its name, to point at lines in it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    text: String,
}

impl Source {
    /// Read `path` as UTF-8 text.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let bytes =
            std::fs::read(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let text = String::from_utf8(bytes).map_err(|error| {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = valid.split(|&byte| byte == b'\n').count();
            let column = valid.iter().rev().take_while(|&&byte| byte != b'\n').count() + 1;
            let byte = error.as_bytes().get(valid.len()).copied().unwrap_or_default();
            ConfigError::Encoding { path: path.to_owned(), line, column, byte }
        })?;
        Ok(Self::new(path, text))
    }

    /// A source from text already in memory.
    pub fn new(path: &Path, text: String) -> Self {
        Self { path: path.to_owned(), text }
    }

    /// Parse the TOML; an unknown key or a value of the wrong type names its line.
    pub fn parse(&self) -> Result<ConfigFile, ConfigError> {
        toml::from_str(&self.text).map_err(|error| {
            let location = self.locate(error.span().unwrap_or(0..0));
            let message = error.message().trim().replace('\n', " ");
            let hint = if message.starts_with("unknown field") {
                "correct or remove this key; `netlens config template` lists every option".to_owned()
            } else {
                "correct the value; `netlens config template` shows every option with its default".to_owned()
            };
            ConfigError::Syntax { path: self.path.clone(), location, message, hint }
        })
    }

    /// The line a byte range starts on, and that line as written.
    pub fn locate(&self, span: Range<usize>) -> Location {
        let offset = span.start.min(self.text.len());
        let line = self.text.as_bytes()[..offset].split(|&byte| byte == b'\n').count();
        let text = self.text.lines().nth(line - 1).unwrap_or("").trim().to_owned();
        Location { line, text }
    }
}
