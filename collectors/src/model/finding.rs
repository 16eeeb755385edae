//! A finding: a named problem, with the kernel facts that show it, its cause and a fix.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Timestamp;

/// How bad a finding is. Ordered: `Critical` is the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing fails because of it yet.
    Info,
    /// Something degrades or will fail soon.
    Warning,
    /// Something fails now.
    Critical,
}

impl Severity {
    /// The schema name, as serialised.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// One fact a finding stands on, as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// What the fact is (`TcpExtListenOverflows, last 1.0 s`, `route get 2001:db8::1`).
    pub fact: String,
    /// Its value (`+37`, `unreachable`).
    pub value: String,
}

impl Evidence {
    /// A fact and its value.
    pub fn new(fact: impl Into<String>, value: impl Into<String>) -> Self {
        Self { fact: fact.into(), value: value.into() }
    }
}

/// A problem found, open (`closed_at` null) or closed after its condition stayed
/// clear for the rule's hold time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Stable for the problem while it lasts: `rule:subject`.
    pub id: String,
    /// The rule's id (`listen_overflow`).
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// One line naming the problem.
    pub title: String,
    /// What it is about: an interface, a target, a nameserver, a socket, a destination.
    pub subject: String,
    /// The facts it stands on, with their values.
    pub evidence: Vec<Evidence>,
    /// Why this happens, in a sentence or two.
    pub cause: String,
    /// What to run or change: a command or a line of config.
    pub fix: String,
    /// When it opened (after the rule's debounce).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::snapshot::schema::timestamp")]
    pub opened_at: Timestamp,
    /// When it closed (after the rule's hold); `null` while open.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schemars(schema_with = "crate::snapshot::schema::optional_timestamp")]
    pub closed_at: Option<Timestamp>,
}
