//! Config problems, phrased to name the file, the line, the key and the value, and
//! the fix.

use std::fmt;
use std::path::PathBuf;

/// Where in the config file a problem is: the line number and the line as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
}

/// `, line 3` when the place is known.
struct At<'a>(Option<&'a Location>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(location) => write!(f, ", line {}", location.line),
            None => Ok(()),
        }
    }
}

/// The offending line, indented under the message, when it is known.
struct Quote<'a>(Option<&'a Location>);

impl fmt::Display for Quote<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(location) if !location.text.is_empty() => write!(f, "\n  {}", location.text),
            _ => Ok(()),
        }
    }
}

/// A config problem.
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
    /// The file is not UTF-8 text.
    #[error(
        "config file {path}, line {line}: the file is not UTF-8 text (byte 0x{byte:02x} at column {column})\n  fix: save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 {path} > config.toml`"
    )]
    Encoding {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based byte column of it.
        column: usize,
        /// The byte.
        byte: u8,
    },
    /// The file is not valid TOML, or has an unknown key or a value of the wrong type.
    #[error("config file {path}{}: {message}{}\n  fix: {hint}", At(Some(location)), Quote(Some(location)))]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where.
        location: Location,
        /// The parser's message.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A key has a value netlens cannot use.
    #[error(transparent)]
    Value(Box<ValueError>),
}

/// A key whose value netlens cannot use (boxed: the other errors are small).
#[derive(Debug, thiserror::Error)]
#[error(
    "config file {path}{}: key `{key}` has value {value}: {problem}{}\n  fix: {hint}",
    At(location.as_ref()),
    Quote(location.as_ref())
)]
pub struct ValueError {
    /// The file.
    pub path: PathBuf,
    /// Where, when the value came from the file.
    pub location: Option<Location>,
    /// Dotted key, e.g. `ui.max_fps` or `paths.targets[2]`.
    pub key: String,
    /// The value as written.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
    /// How to fix it.
    pub hint: String,
}
