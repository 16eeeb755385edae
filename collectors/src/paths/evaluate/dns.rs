//! The DNS link of the chain: what a name target's resolution found, and the checks
//! of a name that did not resolve (DESIGN.md §5: a path that stops at DNS has no
//! device, gateway or source of its own; the nameserver's route is only evidence).

use std::net::IpAddr;

use crate::model::{CheckName, PathReason};

use super::super::target::{Target, TargetDestination};
use super::{Chain, Context, Inputs, kernel_checks, route_detail, route_failed};

/// What the name of a name target resolved to, as far as the evaluation cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameCheck {
    /// The target is an address or a default path: no DNS involved.
    NotNeeded,
    /// Not resolved yet (the first answer is on its way).
    Pending,
    /// Resolved; the addresses, IPv6 first.
    Resolved(Vec<IpAddr>),
    /// The name does not exist: NXDOMAIN, or NODATA for every family; the answer in words.
    NotFound(String),
    /// Could not resolve: no server answered, or the answers were failures; why, in words.
    Failed(String),
}

impl NameCheck {
    /// Whether the name has no addresses to look routes up for, so the route lookup
    /// went to the first nameserver instead.
    #[must_use]
    pub const fn unresolved(&self) -> bool {
        matches!(self, Self::Pending | Self::NotFound(_) | Self::Failed(_))
    }

    /// The failing DNS check's reason and words, for a name that did not resolve.
    pub(super) fn failure(&self) -> Option<(PathReason, &str)> {
        match self {
            Self::Pending => Some((PathReason::DnsUnavailable, "not resolved yet")),
            Self::NotFound(why) => Some((PathReason::NameNotFound, why)),
            Self::Failed(why) => Some((PathReason::DnsUnavailable, why)),
            Self::NotNeeded | Self::Resolved(_) => None,
        }
    }
}

/// The checks of a name that did not resolve. When the way to the nameserver fails
/// (its link is down, a blackhole route), that root cause is the reason, each check
/// labelled as being about the nameserver; otherwise the one DNS check fails, citing
/// the nameserver's route as evidence that the failure is the name's, not the network's.
pub(super) fn nameserver_checks(
    chain: &mut Chain,
    inputs: &Inputs<'_>,
    context: &Context<'_>,
    reason: PathReason,
    why: &str,
) {
    let Some(nameserver) = inputs.looked_up else {
        let why = inputs.no_lookup.map_or_else(|| why.to_owned(), |no| format!("{why} ({no})"));
        return chain.fail(CheckName::Dns, reason, None, why);
    };
    let mut way = Chain { checks: Vec::new(), failed: None };
    match inputs.lookup {
        None => {
            let no = inputs.no_lookup.unwrap_or("no route lookup was possible");
            way.fail(CheckName::Route, PathReason::NoRoute, inputs.target.via.clone(), no);
        }
        Some(Err(error)) => route_failed(&mut way, inputs, context, error),
        Some(Ok(answer)) => kernel_checks(&mut way, inputs.looked_up, answer, context, true),
    }
    if way.failed() {
        for check in &mut way.checks {
            if !check.detail.starts_with("to nameserver") {
                check.detail = format!("to nameserver {nameserver}: {}", check.detail);
            }
        }
        chain.checks.append(&mut way.checks);
        chain.failed = way.failed;
        return;
    }
    let evidence = match inputs.lookup {
        Some(Ok(answer)) => {
            format!("; nameserver {nameserver} is reachable ({})", route_detail(answer, None))
        }
        _ => String::new(),
    };
    chain.fail(CheckName::Dns, reason, None, format!("{why}{evidence}"));
}

pub(super) fn resolved_detail(target: &Target, addresses: &[IpAddr]) -> String {
    let name = match &target.destination {
        TargetDestination::Host { destination, .. } => destination.to_string(),
        _ => String::new(),
    };
    match addresses {
        [] => format!("{name} resolved to no address"),
        [one] => format!("{name} → {one}"),
        [first, rest @ ..] => format!("{name} → {first} (+{} more)", rest.len()),
    }
}
