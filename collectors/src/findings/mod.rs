//! Findings: named problems with their evidence (DESIGN.md §10). Rules are pure
//! functions of the store, one file per family; the engine opens a finding after its
//! condition held for the rule's debounce and closes it after it stayed clear for the
//! rule's hold time.

mod config;
mod engine;
mod rule;
mod sockets;

pub use config::{FindingsConfig, RuleConfig, RuleOverride};
pub use engine::{CLOSED_KEPT, EVALUATE_EVERY, Findings};
pub use rule::{Candidate, Rule, Threshold, Verdict};

/// Every rule netlens knows, in the order they are documented.
pub static RULES: &[Rule] =
    &[sockets::LISTEN_OVERFLOW, sockets::UDP_RECEIVE_DROPS, sockets::CONNTRACK_FULL, sockets::FD_EXHAUSTION];

/// The rule with id `id`.
#[must_use]
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.id == id)
}

#[cfg(test)]
mod testing;
