//! Which policy rule sent a route lookup to its table. The kernel answers a lookup
//! with the table but not the rule, so this walks the rule list in priority order the
//! way the kernel does and names the first rule that matches the query and looks up
//! that table. Selectors it cannot judge (uid ranges, ports, `not`) are skipped, so
//! the answer is an inference and is labelled as one where it is shown.

use std::net::IpAddr;

use crate::model::{AddressFamily, Rule};

/// The query as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleQuery<'a> {
    /// Destination address.
    pub destination: IpAddr,
    /// Source address, when fixed.
    pub source: Option<IpAddr>,
    /// Firewall mark (0 when none).
    pub mark: u32,
    /// Output interface the lookup is bound to.
    pub oif: Option<&'a str>,
}

/// The first rule, in priority order, that matches `query` and looks up `table`.
#[must_use]
pub fn matching_rule<'r>(rules: &'r [Rule], query: &RuleQuery<'_>, table: u32) -> Option<&'r Rule> {
    let family = AddressFamily::of(&query.destination);
    let mut candidates: Vec<&Rule> = rules.iter().filter(|rule| rule.family == family).collect();
    candidates.sort_by_key(|rule| rule.priority);
    candidates.into_iter().find(|rule| rule.action == "lookup" && rule.table == table && matches(rule, query))
}

/// `PRIORITY: SELECTOR lookup TABLE`, as `ip rule` prints it.
#[must_use]
pub fn describe(rule: &Rule) -> String {
    format!("{}: {} lookup {}", rule.priority, rule.selector, crate::model::Route::table_name(rule.table))
}

fn matches(rule: &Rule, query: &RuleQuery<'_>) -> bool {
    let mut words = rule.selector.split_whitespace();
    while let Some(word) = words.next() {
        let ok = match word {
            "from" => words.next().is_some_and(|value| {
                value == "all" || query.source.is_some_and(|source| in_prefix(source, value))
            }),
            "to" => words.next().is_some_and(|value| value == "all" || in_prefix(query.destination, value)),
            "fwmark" => words.next().is_some_and(|value| mark_matches(query.mark, value)),
            "oif" => words.next().is_some_and(|value| query.oif == Some(value)),
            // Locally generated traffic has the loopback device as its input.
            "iif" => words.next().is_some_and(|value| value == "lo"),
            // `not`, uid ranges, ports, protocols, tos: cannot judge, so no claim.
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn in_prefix(address: IpAddr, prefix: &str) -> bool {
    let (network, len) = prefix.split_once('/').unwrap_or((prefix, ""));
    let Ok(network) = network.parse::<IpAddr>() else { return false };
    let len: u32 = len.parse().unwrap_or(match network {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    });
    match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - len.min(32)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - len.min(128)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn mark_matches(mark: u32, value: &str) -> bool {
    let (wanted_text, mask_text) = value.split_once('/').unwrap_or((value, "0xffffffff"));
    match (parse_number(wanted_text), parse_number(mask_text)) {
        (Some(wanted), Some(bits)) => mark & bits == wanted & bits,
        _ => false,
    }
}

fn parse_number(text: &str) -> Option<u32> {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use super::*;

    fn rule(priority: u32, selector: &str, table: u32) -> Rule {
        Rule {
            family: AddressFamily::Ipv4,
            priority,
            table,
            selector: selector.to_owned(),
            action: "lookup".to_owned(),
        }
    }

    #[test]
    fn the_first_matching_rule_for_the_table_wins() {
        let rules = vec![
            rule(32766, "from all", 254),
            rule(0, "from all", 255),
            rule(100, "from all fwmark 0x7", 100),
            rule(90, "from 10.9.0.0/16", 100),
            rule(32767, "from all", 253),
        ];
        let query = RuleQuery { destination: "1.1.1.1".parse().unwrap(), source: None, mark: 7, oif: None };
        assert_eq!(matching_rule(&rules, &query, 100).unwrap().priority, 100);
        assert_eq!(
            describe(matching_rule(&rules, &query, 100).unwrap()),
            "100: from all fwmark 0x7 lookup 100"
        );
        assert_eq!(matching_rule(&rules, &query, 254).unwrap().priority, 32766);
        let unmarked = RuleQuery { mark: 0, ..query };
        assert!(matching_rule(&rules, &unmarked, 100).is_none());
        let from = RuleQuery { source: Some("10.9.3.4".parse().unwrap()), mark: 0, ..query };
        assert_eq!(matching_rule(&rules, &from, 100).unwrap().priority, 90);
    }

    #[test]
    fn masks_and_prefixes() {
        assert!(mark_matches(0x17, "0x7/0xf"));
        assert!(!mark_matches(0x18, "0x7/0xf"));
        assert!(in_prefix("10.1.2.3".parse().unwrap(), "10.0.0.0/8"));
        assert!(!in_prefix("11.1.2.3".parse().unwrap(), "10.0.0.0/8"));
        assert!(in_prefix("2001:db8::1".parse().unwrap(), "2001:db8::/32"));
        assert!(in_prefix("1.2.3.4".parse().unwrap(), "0.0.0.0/0"));
    }
}
