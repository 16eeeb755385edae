//! How the paths source resolves a name target and which nameservers it judges:
//! the process's one resolver configuration ([`ResolverView`]), resolved the way
//! glibc would with it — `/etc/hosts` when nsswitch asks `files` first, then the DNS
//! module's own `res_search` trace ([`Tracer`]) — or, when the user names a server,
//! hickory asking only that server.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::dns::shared::{ResolverSnapshot, ResolverView};
use crate::dns::trace::Tracer;
use crate::model::TraceOrigin;

use super::super::evaluate::NameCheck;
use super::super::resolve::{self, HickoryLookup, NameLookup};
use super::target_state::NameOutcome;

/// Where names are resolved.
#[derive(Clone)]
pub(crate) enum Names {
    /// One server the user named (`--nameserver`, tests): hickory asks it alone.
    Fixed { server: SocketAddr, lookup: Result<Arc<dyn NameLookup>, String> },
    /// The shared configuration.
    Shared { view: ResolverView, port: u16 },
}

impl std::fmt::Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed { server, .. } => f.debug_struct("Fixed").field("server", server).finish(),
            Self::Shared { port, .. } => f.debug_struct("Shared").field("port", port).finish(),
        }
    }
}

/// The nameservers glibc would use per `snapshot`, without repeats.
pub(crate) fn nameservers_of(snapshot: &ResolverSnapshot) -> Vec<IpAddr> {
    let mut servers = snapshot.loaded.report.config.nameservers.clone();
    let mut seen = Vec::with_capacity(servers.len());
    servers.retain(|server| {
        let new = !seen.contains(server);
        seen.push(*server);
        new
    });
    servers
}

impl Names {
    /// The nameservers names are asked of now.
    pub(crate) fn nameservers(&self) -> Vec<IpAddr> {
        match self {
            Self::Fixed { server, .. } => vec![server.ip()],
            Self::Shared { view, .. } => nameservers_of(&view.current()),
        }
    }

    /// The servers whose reachability says whether DNS is available: behind a local
    /// stub (127.0.0.53), its upstreams, since the stub itself is always reachable
    /// and answers nothing while they are not.
    pub(crate) fn availability_servers(&self) -> Vec<IpAddr> {
        match self {
            Self::Fixed { server, .. } => vec![server.ip()],
            Self::Shared { view, .. } => {
                let snapshot = view.current();
                let config = &snapshot.loaded.report.config;
                if config.stub && !config.upstreams.is_empty() {
                    config.upstreams.clone()
                } else {
                    nameservers_of(&snapshot)
                }
            }
        }
    }

    /// A task resolving `name` with the configuration as it is now.
    pub(crate) fn resolve(
        &self,
        name: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = NameOutcome> + Send>> {
        match self {
            Self::Fixed { lookup: Err(why), .. } => {
                let why = why.clone();
                Box::pin(async move { NameOutcome { check: NameCheck::Failed(why), answered_by: None } })
            }
            Self::Fixed { lookup: Ok(lookup), server } => {
                let (lookup, server) = (Arc::clone(lookup), *server);
                Box::pin(async move {
                    let answer =
                        resolve::resolve_dual(lookup.as_ref(), &name, resolve::RESOLUTION_DELAY).await;
                    let check = name_check(&name, answer);
                    let answered_by = matches!(check, NameCheck::Resolved(_)).then(|| server.to_string());
                    NameOutcome { check, answered_by }
                })
            }
            Self::Shared { view, port } => {
                let snapshot = view.current();
                let port = *port;
                Box::pin(async move { resolve_configured(&snapshot, port, &name).await })
            }
        }
    }
}

/// Resolve `name` as glibc would with `snapshot`: the hosts file where nsswitch
/// puts `files` before `dns`, then the DNS search.
async fn resolve_configured(snapshot: &ResolverSnapshot, port: u16, name: &str) -> NameOutcome {
    let config = &snapshot.loaded.report.config;
    let bare = name.trim_end_matches('.').to_ascii_lowercase();
    let files_first = config.hosts_order.iter().position(|source| source == "files")
        < config.hosts_order.iter().position(|source| source == "dns").or(Some(usize::MAX));
    if files_first {
        let mut addresses: Vec<IpAddr> = snapshot
            .loaded
            .hosts
            .iter()
            .filter(|entry| entry.names.contains(&bare))
            .map(|entry| entry.address)
            .collect();
        if !addresses.is_empty() {
            addresses.sort_by_key(IpAddr::is_ipv4);
            addresses.dedup();
            return NameOutcome {
                check: NameCheck::Resolved(addresses),
                answered_by: Some("/etc/hosts".to_owned()),
            };
        }
    }
    let tracer = Tracer { config: config.clone(), port };
    match tracer.trace(name, TraceOrigin::Target).await {
        Ok(trace) if !trace.result.is_empty() => {
            let server = trace
                .steps
                .iter()
                .rev()
                .find(|step| step.rcode.as_deref() == Some("NOERROR") && !step.answers.is_empty())
                .map(|step| step.server.ip().to_string());
            let mut addresses = trace.result;
            // IPv6 first, as the evaluation expects.
            addresses.sort_by_key(IpAddr::is_ipv4);
            NameOutcome { check: NameCheck::Resolved(addresses), answered_by: server }
        }
        Ok(trace) => {
            let missing = name_missing(&trace.steps);
            let why = trace.error.unwrap_or_else(|| format!("{name} has no A or AAAA record"));
            let check = if missing {
                NameCheck::NotFound(format!("{name} does not exist: {why}"))
            } else {
                NameCheck::Failed(format!("{name} did not resolve: {why}"))
            };
            NameOutcome { check, answered_by: None }
        }
        Err(error) => NameOutcome { check: NameCheck::Failed(error.to_string()), answered_by: None },
    }
}

/// Whether the steps of a trace that found no address say the name does not exist:
/// every candidate and type was last answered NXDOMAIN or NOERROR without an
/// address (NODATA). A timeout, SERVFAIL or REFUSED as the last word on any of them
/// means DNS could not tell, which is `dns_unavailable`, not `name_not_found`.
pub(crate) fn name_missing(steps: &[crate::model::TraceStep]) -> bool {
    let mut last: Vec<&crate::model::TraceStep> = Vec::new();
    for step in steps {
        match last.iter_mut().find(|seen| seen.candidate == step.candidate && seen.qtype == step.qtype) {
            Some(seen) => *seen = step,
            None => last.push(step),
        }
    }
    !last.is_empty() && last.iter().all(|step| matches!(step.rcode.as_deref(), Some("NXDOMAIN" | "NOERROR")))
}

/// The check for a hickory dual-stack answer.
pub(crate) fn name_check(name: &str, answer: resolve::DualResolution) -> NameCheck {
    let mut addresses: Vec<IpAddr> = Vec::new();
    let mut errors = Vec::new();
    match answer.v6 {
        Ok(v6) => addresses.extend(v6.into_iter().map(IpAddr::V6)),
        Err(error) => errors.push(format!("AAAA: {error}")),
    }
    match answer.v4 {
        Ok(v4) => addresses.extend(v4.into_iter().map(IpAddr::V4)),
        Err(error) => errors.push(format!("A: {error}")),
    }
    if !addresses.is_empty() {
        NameCheck::Resolved(addresses)
    } else if errors.is_empty() {
        // Both families answered with nothing: NXDOMAIN or NODATA (hickory folds both
        // into "no records").
        NameCheck::NotFound(format!("{name} does not exist: no A or AAAA record (NXDOMAIN or NODATA)"))
    } else {
        NameCheck::Failed(format!("{name} did not resolve: {}", errors.join("; ")))
    }
}

/// A fixed server's resolver.
pub(crate) fn fixed(server: SocketAddr, timeout: std::time::Duration) -> Names {
    let lookup =
        HickoryLookup::with_server(server, timeout).map(|lookup| Arc::new(lookup) as Arc<dyn NameLookup>);
    Names::Fixed { server, lookup }
}
