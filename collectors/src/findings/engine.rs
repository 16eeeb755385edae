//! The engine: debounce, hold, and the list of open and recently closed findings.

use std::collections::{BTreeMap, VecDeque};

use crate::clock::{Mono, Stamp};
use crate::event::Notice;
use crate::model::{Finding, TimelineKind};

use super::{Candidate, FindingsConfig, Rule, RuleConfig, Verdict};

/// Rules are evaluated at most this often, however many events arrive: a flood of
/// events costs one evaluation per period.
pub const EVALUATE_EVERY: time::Duration = time::Duration::milliseconds(500);

/// Closed findings kept for the export and the details view; older ones are dropped.
pub const CLOSED_KEPT: usize = 200;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Open {
    finding: Finding,
    /// Since when its condition has been clear (a close waits for the hold time).
    clear_since: Option<Mono>,
}

/// Open findings, conditions waiting out their debounce, and closed findings.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Findings {
    config: FindingsConfig,
    open: BTreeMap<String, Open>,
    /// Conditions seen but not yet held for the debounce, by finding id: since when.
    pending: BTreeMap<String, Mono>,
    closed: VecDeque<Finding>,
    last_evaluated: Option<Mono>,
}

impl Findings {
    /// No findings, with `config`.
    #[must_use]
    pub fn new(config: FindingsConfig) -> Self {
        Self { config, ..Self::default() }
    }

    /// The settings in effect.
    #[must_use]
    pub const fn config(&self) -> &FindingsConfig {
        &self.config
    }

    /// Hold `findings` as they were written down (a snapshot opened read-only): the
    /// open ones open, the closed ones closed. Nothing is evaluated to get them.
    pub fn restore(&mut self, findings: Vec<Finding>) {
        for finding in findings {
            if finding.closed_at.is_some() {
                self.closed.push_back(finding);
                if self.closed.len() > CLOSED_KEPT {
                    self.closed.pop_front();
                }
            } else {
                self.open.insert(finding.id.clone(), Open { finding, clear_since: None });
            }
        }
    }

    /// Whether an evaluation is due at `now` (and note that one runs).
    pub fn due(&mut self, now: Mono) -> bool {
        if self.last_evaluated.is_some_and(|then| now - then < EVALUATE_EVERY) {
            return false;
        }
        self.last_evaluated = Some(now);
        true
    }

    /// Open findings, most severe first, then oldest first.
    #[must_use]
    pub fn open(&self) -> Vec<&Finding> {
        let mut open: Vec<&Finding> = self.open.values().map(|open| &open.finding).collect();
        open.sort_by(|a, b| {
            b.severity.cmp(&a.severity).then(a.opened_at.cmp(&b.opened_at)).then(a.id.cmp(&b.id))
        });
        open
    }

    /// Conditions seen but not yet held for their rule's debounce: findings that may
    /// open soon.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The most severe open finding.
    #[must_use]
    pub fn worst(&self) -> Option<&Finding> {
        self.open().into_iter().next()
    }

    /// Closed findings, oldest first.
    #[must_use = "iterators do nothing unless consumed"]
    pub fn closed(&self) -> impl DoubleEndedIterator<Item = &Finding> + ExactSizeIterator {
        self.closed.iter()
    }

    /// Fold one rule's verdict at `now`: candidates held for the debounce open, open
    /// findings clear for the hold time close. Returns the timeline lines of both.
    pub fn update(&mut self, rule: &Rule, config: &RuleConfig, verdict: Verdict, now: Stamp) -> Vec<Notice> {
        let candidates = match verdict {
            Verdict::Found(candidates) if config.enabled => candidates,
            _ => Vec::new(),
        };
        let prefix = format!("{}:", rule.id);
        // A set: every pending and open id of the rule is checked against it.
        let mut seen = std::collections::HashSet::with_capacity(candidates.len());
        let mut notices = Vec::new();
        for candidate in candidates {
            let id = format!("{prefix}{}", candidate.subject);
            seen.insert(id.clone());
            if let Some(open) = self.open.get_mut(&id) {
                refresh(&mut open.finding, candidate);
                open.clear_since = None;
                continue;
            }
            let since = *self.pending.entry(id.clone()).or_insert(now.mono);
            if now.mono - since >= config.debounce {
                self.pending.remove(&id);
                let finding = opened(id.clone(), rule, candidate, now);
                notices.push(Notice::new(
                    TimelineKind::Finding,
                    id.clone(),
                    format!("{} opened: {}", finding.severity.as_str(), finding.title),
                ));
                self.open.insert(id, Open { finding, clear_since: None });
            }
        }
        self.pending.retain(|id, _| !id.starts_with(&prefix) || seen.contains(id));
        let clear: Vec<String> =
            self.open.keys().filter(|id| id.starts_with(&prefix) && !seen.contains(*id)).cloned().collect();
        for id in clear {
            let Some(open) = self.open.get_mut(&id) else { continue };
            let since = *open.clear_since.get_or_insert(now.mono);
            if now.mono - since < config.hold {
                continue;
            }
            let Some(Open { mut finding, .. }) = self.open.remove(&id) else { continue };
            finding.closed_at = Some(now.wall);
            notices.push(Notice::new(TimelineKind::Finding, id, format!("closed: {}", finding.title)));
            if self.closed.len() == CLOSED_KEPT {
                self.closed.pop_front();
            }
            self.closed.push_back(finding);
        }
        notices
    }
}

fn opened(id: String, rule: &Rule, candidate: Candidate, now: Stamp) -> Finding {
    Finding {
        id,
        rule: rule.id.to_owned(),
        severity: candidate.severity,
        title: candidate.title,
        subject: candidate.subject,
        evidence: candidate.evidence,
        cause: candidate.cause,
        fix: candidate.fix,
        opened_at: now.wall,
        closed_at: None,
    }
}

/// An open finding takes the latest evidence (and severity) of its condition.
fn refresh(finding: &mut Finding, candidate: Candidate) {
    finding.severity = candidate.severity;
    finding.title = candidate.title;
    finding.evidence = candidate.evidence;
    finding.cause = candidate.cause;
    finding.fix = candidate.fix;
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
