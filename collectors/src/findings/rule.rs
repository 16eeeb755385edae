//! What a rule is and what it answers.

use crate::Store;
use crate::model::{Evidence, Severity};

use super::RuleConfig;

/// A tunable number of a rule, with its default and what it means (the config
/// template is written from these).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// The key under `[findings.RULE]`.
    pub name: &'static str,
    /// Its default value.
    pub default: f64,
    /// What it means, with its unit.
    pub doc: &'static str,
}

/// A problem a rule sees now, before the engine debounces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// What it is about; with the rule's id, the finding's identity.
    pub subject: String,
    /// How bad it is.
    pub severity: Severity,
    /// One line naming the problem.
    pub title: String,
    /// The facts it stands on.
    pub evidence: Vec<Evidence>,
    /// Why it happens.
    pub cause: String,
    /// What to run or change.
    pub fix: String,
}

/// A rule's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its inputs are missing (conntrack not loaded, no reading yet): not a finding,
    /// and an open one of the rule closes as if clear.
    NotApplicable,
    /// The problems it sees now; empty when all is well.
    Found(Vec<Candidate>),
}

/// A rule: a pure function of the store, with its defaults.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable `snake_case` id (`listen_overflow`).
    pub id: &'static str,
    /// The family it belongs to (`sockets`, `dns`, `paths`, …).
    pub family: &'static str,
    /// What it finds, in one sentence (for `--help` and the template).
    pub summary: &'static str,
    /// How long the condition must hold before the finding opens, by default.
    pub debounce: time::Duration,
    /// How long it must stay clear before the finding closes, by default.
    pub hold: time::Duration,
    /// Its tunable numbers.
    pub thresholds: &'static [Threshold],
    /// The rule itself.
    pub evaluate: fn(&Store, &RuleConfig) -> Verdict,
}
