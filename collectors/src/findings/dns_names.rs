//! DNS rules about names: one name turned into many queries by `ndots` and the
//! search list, and `/etc/hosts` overriding a name that is looked up.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::Store;
use crate::model::{Evidence, ResolverConfig, Severity};
use crate::store::RECENT_WINDOW;

use super::recent_traces;
use crate::findings::{Candidate, Rule, RuleConfig, Threshold, Verdict};

/// `dns_search_amplification`: one name turned into many queries by `ndots` and the
/// search list (NXDOMAIN for each search domain before the name as written).
pub const DNS_SEARCH_AMPLIFICATION: Rule = Rule {
    id: "dns_search_amplification",
    family: "dns",
    summary: "ndots and the search list turn one lookup into many queries (NXDOMAIN per search domain)",
    debounce: time::Duration::ZERO,
    hold: time::Duration::seconds(30),
    thresholds: &[Threshold {
        name: "queries",
        default: 6.0,
        doc: "queries one lookup takes before it counts",
    }],
    evaluate: dns_search_amplification,
};

/// One lookup as seen on the wire or traced: who asked, the name, and each query.
#[derive(Debug, Clone)]
struct Lookup {
    asker: String,
    base: String,
    /// Candidate name and rcode (`None`: no answer), in order.
    queries: Vec<(String, Option<String>)>,
}

impl Lookup {
    fn wasted(&self) -> usize {
        self.queries
            .iter()
            .filter(|(name, rcode)| *name != self.base && rcode.as_deref() == Some("NXDOMAIN"))
            .count()
    }

    /// `a.b.corp.test NXDOMAIN, a.b NOERROR` (each name once, with its last answer).
    fn sequence(&self) -> String {
        let mut names: Vec<(&str, &str)> = Vec::new();
        for (name, rcode) in &self.queries {
            let rcode = rcode.as_deref().unwrap_or("timeout");
            match names.iter_mut().find(|(seen, _)| seen == name) {
                Some(entry) => entry.1 = rcode,
                None => names.push((name, rcode)),
            }
        }
        names.iter().map(|(name, rcode)| format!("{name} {rcode}")).collect::<Vec<_>>().join(", ")
    }
}

/// The name as typed and the search domain's place (the list's length for the name
/// itself), for a candidate name.
fn split_candidate(config: &ResolverConfig, name: &str) -> (String, usize) {
    let mut best: Option<(usize, &str)> = None;
    for (index, domain) in config.search.iter().enumerate() {
        let domain = domain.trim_end_matches('.');
        if let Some(base) = name.strip_suffix(domain).and_then(|rest| rest.strip_suffix('.'))
            && !base.is_empty()
            && best.is_none_or(|(_, kept)| base.len() < kept.len())
        {
            best = Some((index, base));
        }
    }
    best.map_or_else(|| (name.to_owned(), config.search.len()), |(index, base)| (base.to_owned(), index))
}

/// Lookups in the passive log of the last minute: queries by one asker for one name,
/// split where the walk over the search list starts again or a pause is longer than
/// the resolver's whole wait.
fn passive_lookups(store: &Store, config: &ResolverConfig) -> Vec<Lookup> {
    let Some(now) = store.updated_at() else { return Vec::new() };
    let gap = time::Duration::seconds(i64::from(config.timeout_s.max(1) * config.attempts.max(1)) + 1);
    let mut open: BTreeMap<(String, String), (Lookup, usize, crate::model::Timestamp)> = BTreeMap::new();
    let mut done = Vec::new();
    for query in store
        .dns()
        .queries()
        .filter(|q| now - q.at <= RECENT_WINDOW && matches!(q.qtype.as_str(), "A" | "AAAA"))
    {
        let name = query.name.trim_end_matches('.').to_ascii_lowercase();
        let (base, place) = split_candidate(config, &name);
        let key = query.pid.map_or_else(|| query.client.ip().to_string(), |pid| pid.to_string());
        let asker = match (&query.process, query.pid) {
            (Some(process), Some(pid)) => format!("{process} (pid {pid})"),
            _ => key.clone(),
        };
        let entry = open.entry((key, base.clone()));
        let slot = entry.or_insert_with(|| (Lookup { asker, base, queries: Vec::new() }, 0, query.at));
        if !slot.0.queries.is_empty() && (place < slot.1 || query.at - slot.2 > gap) {
            let fresh =
                Lookup { asker: slot.0.asker.clone(), base: slot.0.base.clone(), queries: Vec::new() };
            done.push(std::mem::replace(&mut slot.0, fresh));
        }
        slot.0.queries.push((name, query.rcode.clone()));
        (slot.1, slot.2) = (place, query.at);
    }
    done.extend(open.into_values().map(|(lookup, _, _)| lookup));
    done
}

fn dns_search_amplification(store: &Store, rule: &RuleConfig) -> Verdict {
    let Some(config) = store.dns().config() else { return Verdict::NotApplicable };
    let traced = recent_traces(store).filter(|trace| !trace.name.ends_with('.')).map(|trace| Lookup {
        asker: "netlens trace".to_owned(),
        base: trace.name.to_ascii_lowercase(),
        queries: trace.steps.iter().map(|s| (s.candidate.to_ascii_lowercase(), s.rcode.clone())).collect(),
    });
    let mut amplified: Vec<Lookup> = passive_lookups(store, config)
        .into_iter()
        .chain(traced)
        .filter(|lookup| {
            let dots = lookup.base.matches('.').count();
            dots >= 1
                && dots < usize::from(config.ndots)
                && lookup.wasted() >= 1
                && f64::from(u32::try_from(lookup.queries.len()).unwrap_or(u32::MAX))
                    >= rule.threshold("queries")
        })
        .collect();
    if amplified.is_empty() {
        return Verdict::Found(Vec::new());
    }
    amplified.sort_by(|a, b| b.queries.len().cmp(&a.queries.len()).then(a.base.cmp(&b.base)));
    let worst = &amplified[0];
    let mut evidence = vec![Evidence::new(
        "resolv.conf",
        format!("search {}; options ndots:{}", config.search.join(" "), config.ndots),
    )];
    let mut shown: Vec<&str> = Vec::new();
    for lookup in &amplified {
        if shown.len() == 3 || shown.contains(&lookup.base.as_str()) {
            continue;
        }
        shown.push(&lookup.base);
        evidence.push(Evidence::new(
            format!("lookup of {} by {}", lookup.base, lookup.asker),
            format!("{} queries: {}", lookup.queries.len(), lookup.sequence()),
        ));
    }
    evidence.push(Evidence::new(
        format!("amplified lookups, last {} s", RECENT_WINDOW.whole_seconds()),
        amplified.len().to_string(),
    ));
    Verdict::Found(vec![Candidate {
        subject: "search list".to_owned(),
        severity: Severity::Warning,
        title: format!(
            "{} takes {} queries: ndots:{} sends it through the search list first",
            worst.base,
            worst.queries.len(),
            config.ndots
        ),
        evidence,
        cause: format!(
            "names with fewer than {} dots are tried with every search domain before as written; each miss is an NXDOMAIN round trip for A and AAAA",
            config.ndots
        ),
        fix: format!(
            "options ndots:1 in /etc/resolv.conf, or write the name with a final dot ({}.)",
            worst.base
        ),
    }])
}

/// `dns_hosts_override`: `/etc/hosts` answers for a name that is looked up, and DNS
/// would say something else.
pub const DNS_HOSTS_OVERRIDE: Rule = Rule {
    id: "dns_hosts_override",
    family: "dns",
    summary: "/etc/hosts overrides a looked-up name with an answer DNS does not give",
    debounce: time::Duration::ZERO,
    hold: time::Duration::seconds(10),
    thresholds: &[],
    evaluate: dns_hosts_override,
};

fn dns_hosts_override(store: &Store, _: &RuleConfig) -> Verdict {
    let dns = store.dns();
    if dns.config().is_none() && dns.traced() == 0 {
        return Verdict::NotApplicable;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for trace in dns.traces().rev() {
        let name = trace.name.trim_end_matches('.').to_ascii_lowercase();
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let Some(difference) = trace.differences.iter().find(|d| d.contains("comes from the hosts file"))
        else {
            continue;
        };
        let list =
            |addresses: &[IpAddr]| addresses.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let hosts = trace.system.as_ref().map(|answer| list(&answer.addresses)).unwrap_or_default();
        let traced = if trace.result.is_empty() {
            trace.error.clone().unwrap_or_else(|| "no address".to_owned())
        } else {
            list(&trace.result)
        };
        let order = dns.config().map(|c| c.hosts_order.join(" ")).unwrap_or_default();
        found.push(Candidate {
            subject: format!("hosts {name}"),
            severity: Severity::Info,
            title: format!("/etc/hosts overrides {name}: programs get {hosts}, DNS says {traced}"),
            evidence: vec![
                Evidence::new("system answer (getaddrinfo)", hosts.clone()),
                Evidence::new("DNS answer (trace)", traced),
                Evidence::new("nsswitch.conf hosts", order),
                Evidence::new("difference", difference.clone()),
            ],
            cause: format!("nsswitch.conf consults files before dns, so the /etc/hosts line for {name} wins and DNS is never asked"),
            fix: format!("edit /etc/hosts: remove or correct the line `{hosts} {name}`"),
        });
    }
    Verdict::Found(found)
}
