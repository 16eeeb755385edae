//! Dual-stack name resolution for a name target, as RFC 8305 §3 has a Happy
//! Eyeballs client do it: AAAA and A asked at once, and an early A answer waits a
//! short *resolution delay* for the AAAA one before the addresses are used.
//!
//! The lookup itself is behind [`NameLookup`], so the timing logic is tested with
//! a fake under paused time; [`HickoryLookup`] is the real one.

use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use hickory_resolver::proto::rr::RData;
use tokio::time::Instant;

/// RFC 8305 §3's recommended resolution delay.
pub const RESOLUTION_DELAY: Duration = Duration::from_millis(50);

/// A boxed lookup future borrowing its [`NameLookup`].
pub type LookupFuture<'a, T> = Pin<Box<dyn Future<Output = Result<Vec<T>, String>> + Send + 'a>>;

/// Looks names up, one address family at a time. A name without records of the
/// family is `Ok` with no addresses; `Err` carries why the lookup failed
/// (timeout, SERVFAIL, no server), in words for the user.
pub trait NameLookup: Send + Sync {
    /// The name's IPv6 addresses (AAAA).
    fn lookup_v6<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Ipv6Addr>;
    /// The name's IPv4 addresses (A).
    fn lookup_v4<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Ipv4Addr>;
}

/// Both families' answers for a name, and how long the resolution took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DualResolution {
    /// The AAAA answer. `Err` also when A answered first with addresses and AAAA
    /// did not follow within the resolution delay: RFC 8305 then goes ahead
    /// with IPv4 alone, and so does the caller.
    pub v6: Result<Vec<Ipv6Addr>, String>,
    /// The A answer.
    pub v4: Result<Vec<Ipv4Addr>, String>,
    /// From asking to having what the connection attempts start with.
    pub elapsed: Duration,
}

/// Resolve `name` for both families at once (RFC 8305 §3, kept simple):
///
/// - AAAA answers first: wait for A too, then return both. (The RFC would start
///   connecting over IPv6 at once and add IPv4 addresses as they come; callers
///   here race a fixed list, and A normally follows within milliseconds.)
/// - A answers first with addresses: wait at most `resolution_delay` (see
///   [`RESOLUTION_DELAY`]) for AAAA; if it has not come, return without it.
/// - A answers first with nothing or an error: wait for AAAA, the only hope left.
///
/// Each lookup is bounded by the lookup's own timeout, so this returns too.
pub async fn resolve_dual(lookup: &dyn NameLookup, name: &str, resolution_delay: Duration) -> DualResolution {
    let started = Instant::now();
    let mut v6_lookup = lookup.lookup_v6(name);
    let mut v4_lookup = lookup.lookup_v4(name);
    let (v6, v4) = tokio::select! {
        // AAAA is asked first and, on a tie, used first (RFC 8305 §3).
        biased;
        v6 = &mut v6_lookup => (v6, v4_lookup.await),
        v4 = &mut v4_lookup => {
            let has_addresses = v4.as_ref().is_ok_and(|addresses| !addresses.is_empty());
            let v6 = if has_addresses {
                tokio::time::timeout(resolution_delay, v6_lookup).await.unwrap_or_else(|_elapsed| {
                    Err(format!(
                        "no AAAA answer within the {} ms resolution delay",
                        resolution_delay.as_millis()
                    ))
                })
            } else {
                v6_lookup.await
            };
            (v6, v4)
        }
    };
    DualResolution { v6, v4, elapsed: started.elapsed() }
}

/// [`NameLookup`] through hickory with one given server (a namespace's own server,
/// tests); names of path targets are otherwise resolved from the process's one
/// resolver configuration (`dns::shared`).
#[derive(Clone)]
pub struct HickoryLookup {
    resolver: crate::dns::own::OwnResolver,
}

impl HickoryLookup {
    /// A resolver asking only `server` over UDP, one attempt of `timeout` per
    /// query (a namespace's own server, tests).
    pub fn with_server(server: SocketAddr, timeout: Duration) -> Result<Self, String> {
        Ok(Self { resolver: crate::names::single_server_resolver(server, timeout)? })
    }
}

/// The addresses of a lookup, with "no such name" and "no records" as none.
fn addresses<T>(
    result: Result<hickory_resolver::lookup::Lookup, hickory_resolver::net::NetError>,
    pick: impl Fn(&RData) -> Option<T>,
) -> Result<Vec<T>, String> {
    match result {
        Ok(lookup) => Ok(lookup.answers().iter().filter_map(|record| pick(&record.data)).collect()),
        Err(error) if error.is_no_records_found() || error.is_nx_domain() => Ok(Vec::new()),
        Err(error) => Err(error.to_string()),
    }
}

impl NameLookup for HickoryLookup {
    fn lookup_v6<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Ipv6Addr> {
        Box::pin(async move {
            let result = self.resolver.ipv6_lookup(name).await;
            // CNAME records come along in the answer section; only AAAA count.
            addresses(result, |data| match data {
                RData::AAAA(address) => Some(address.0),
                _ => None,
            })
        })
    }

    fn lookup_v4<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Ipv4Addr> {
        Box::pin(async move {
            let result = self.resolver.ipv4_lookup(name).await;
            addresses(result, |data| match data {
                RData::A(address) => Some(address.0),
                _ => None,
            })
        })
    }
}

#[cfg(test)]
mod tests;
