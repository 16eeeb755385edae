//! Findings: named problems with their evidence (DESIGN.md §10). Rules are pure
//! functions of the store, one file per family; the engine opens a finding after its
//! condition held for the rule's debounce and closes it after it stayed clear for the
//! rule's hold time.

mod config;
mod dns;
mod engine;
mod facts;
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
    paths::PATH_FAILING,
    paths::IPV6_BROKEN,
    paths::DEFAULT_ROUTE_MISSING,
    paths::GATEWAY_UNREACHABLE,
    paths::RP_FILTER_ASYMMETRIC,
    paths::MULTICAST_SEND_NO_ROUTE,
    mtu::MTU_MISMATCH,
    mtu::PMTU_BLACKHOLE,
    interfaces::ADDRESS_DAD_FAILED,
    interfaces::ADDRESS_TENTATIVE_STUCK,
    interfaces::INTERFACE_FLAPPING,
    interfaces::INTERFACE_ERRORS,
    interfaces::SOFTNET_DROPS,
    dns::DNS_NO_NAMESERVER,
    dns::DNS_SERVER_TIMEOUT,
    dns::DNS_SERVER_UNREACHABLE,
    dns::DNS_SEARCH_AMPLIFICATION,
    dns::DNS_OUTSIDE_TUNNEL,
    dns::DNS_HOSTS_OVERRIDE,
    tunnels::TUNNEL_DOWN,
    tunnels::TUNNEL_SWALLOWS_LAN,
    tunnels::ROUTE_MOVED_CONNECTIONS,
    sockets::LISTEN_OVERFLOW,
    sockets::UDP_RECEIVE_DROPS,
    tcp::TCP_RETRANSMISSION_STORM,
    tcp::TCP_ZERO_WINDOW,
    tcp::SYN_UNANSWERED,
    tcp::TIME_WAIT_PILEUP,
    tcp::EPHEMERAL_PORTS_EXHAUSTED,
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
