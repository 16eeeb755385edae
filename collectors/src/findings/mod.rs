//! Findings: named problems with their evidence (DESIGN.md §10). Rules are pure
//! functions of the store, one file per family; the engine opens a finding after its
//! condition held for the rule's debounce and closes it after it stayed clear for the
//! rule's hold time.

mod config;
mod dns;
mod engine;
mod interfaces;
mod mtu;
mod paths;
mod rule;
mod sockets;
mod tcp;
mod tunnels;

pub use config::{FindingsConfig, RuleConfig, RuleOverride};
pub use engine::{CLOSED_KEPT, EVALUATE_EVERY, Findings};
pub use rule::{Candidate, Rule, Threshold, Verdict};

/// Every rule netlens knows, in the order they are documented.
pub static RULES: &[Rule] = &[
    // paths rules
    // mtu rules
    // interfaces rules
    // dns rules
    // tunnels rules
    sockets::LISTEN_OVERFLOW,
    sockets::UDP_RECEIVE_DROPS,
    // tcp rules
    sockets::CONNTRACK_FULL,
    sockets::FD_EXHAUSTION,
];

/// The rule with id `id`.
#[must_use]
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.id == id)
}

#[cfg(test)]
mod testing;
