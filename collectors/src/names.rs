//! Reverse DNS for the connections table: names of remote addresses, looked up
//! lazily (only for rows on screen), at a bounded rate, each address once.
//!
//! The app asks through [`NameRequests`]; answers arrive as [`Payload::Names`] and
//! the store caches them (negative answers too), so the UI asks only for addresses
//! it has never seen. Lookups go through the system's resolver configuration.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::proto::rr::RData;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::dns::own::{OwnResolver, OwnRuntime};
use crate::dns::shared::ResolverView;
use crate::event::Payload;
use crate::model::{SourceId, SourceState};
use crate::source::{EventSink, Source, SourceError};

/// Addresses asked for at most before the oldest unasked ones are dropped.
const MAX_QUEUED: usize = 512;
/// Addresses remembered as asked; past it the memory starts over.
const MAX_ASKED: usize = 20_000;
/// A failed lookup (timeout, SERVFAIL) may be asked again after this long.
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(60);

/// How often finished answers are sent as one event.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// How fast and how wide reverse lookups may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReverseDnsConfig {
    /// Lookups started per second at most.
    pub per_second: u32,
    /// Lookups in flight at most.
    pub concurrency: usize,
    /// Give up on one lookup after this long.
    pub timeout: Duration,
}

impl Default for ReverseDnsConfig {
    fn default() -> Self {
        Self { per_second: 10, concurrency: 4, timeout: Duration::from_secs(2) }
    }
}

/// The app's handle for asking for names. Never blocks: when the queue is full the
/// request is dropped (it will be asked again on the next frame).
#[derive(Debug, Clone)]
pub struct NameRequests {
    tx: mpsc::Sender<Vec<IpAddr>>,
}

impl NameRequests {
    /// Ask for the names of these addresses.
    pub fn ask(&self, addresses: Vec<IpAddr>) {
        if !addresses.is_empty() {
            let _ = self.tx.try_send(addresses);
        }
    }
}

/// One PTR lookup: the name, `None` when the address has none, or why it failed.
pub trait PtrLookup: Send + Sync + 'static {
    /// Look up the name of `address`.
    fn ptr(&self, address: IpAddr) -> impl Future<Output = Result<Option<String>, String>> + Send;
}

/// PTR lookups through hickory, asking the nameservers of the process's one resolver
/// configuration (`dns::shared`): a change of `resolv.conf` reaches the next lookup,
/// and the files are not read a second time.
#[derive(Clone)]
pub struct SystemPtr {
    /// The shared configuration; `None` for a fixed server, whose resolver is made
    /// once.
    view: Option<ResolverView>,
    timeout: Duration,
    /// The resolver, and the configuration generation it was made for.
    current: Arc<std::sync::Mutex<Option<(u64, OwnResolver)>>>,
}

impl SystemPtr {
    /// Lookups through the nameservers of `view`, one attempt of `timeout` each.
    #[must_use]
    pub fn from_view(view: ResolverView, timeout: Duration) -> Self {
        Self { view: Some(view), timeout, current: Arc::default() }
    }

    /// A resolver asking only `server` over UDP (a namespace's own server, tests).
    pub fn with_server(server: SocketAddr, timeout: Duration) -> Result<Self, String> {
        let resolver = single_server_resolver(server, timeout)?;
        Ok(Self { view: None, timeout, current: Arc::new(std::sync::Mutex::new(Some((0, resolver)))) })
    }

    /// The resolver for the configuration in effect now, made again only when the
    /// configuration changed.
    fn resolver(&self) -> Result<OwnResolver, String> {
        let mut current = self.current.lock().map_err(|_| "the resolver lock is poisoned".to_owned())?;
        let Some(view) = &self.view else {
            return current
                .as_ref()
                .map(|(_, resolver)| resolver.clone())
                .ok_or_else(|| "no resolver".to_owned());
        };
        let snapshot = view.current();
        if let Some((generation, resolver)) = current.as_ref()
            && *generation == snapshot.generation
        {
            return Ok(resolver.clone());
        }
        let servers: Vec<SocketAddr> =
            snapshot.loaded.report.config.nameservers.iter().map(|ip| SocketAddr::new(*ip, 53)).collect();
        let resolver = servers_resolver(&servers, self.timeout)?;
        *current = Some((snapshot.generation, resolver.clone()));
        Ok(resolver)
    }
}

/// A hickory resolver that asks only `server` over UDP, one attempt of `timeout` per
/// query: for a namespace's own server and for tests, where the system
/// configuration is not the one wanted.
pub(crate) fn single_server_resolver(server: SocketAddr, timeout: Duration) -> Result<OwnResolver, String> {
    servers_resolver(&[server], timeout)
}

/// A hickory resolver asking `servers` in order over UDP, one attempt of `timeout`.
fn servers_resolver(servers: &[SocketAddr], timeout: Duration) -> Result<OwnResolver, String> {
    if servers.is_empty() {
        return Err("no nameserver in the resolver configuration".to_owned());
    }
    let name_servers = servers
        .iter()
        .map(|server| {
            let mut connection = ConnectionConfig::udp();
            connection.port = server.port();
            NameServerConfig::new(server.ip(), true, vec![connection])
        })
        .collect();
    let config = ResolverConfig::from_name_servers(name_servers);
    let mut builder = OwnResolver::builder_with_config(config, OwnRuntime::default());
    let options = builder.options_mut();
    options.timeout = timeout;
    options.attempts = 1;
    builder.build().map_err(|error| format!("starting the resolver: {error}"))
}

impl PtrLookup for SystemPtr {
    async fn ptr(&self, address: IpAddr) -> Result<Option<String>, String> {
        let resolver = self.resolver()?;
        match resolver.reverse_lookup(address).await {
            Ok(lookup) => Ok(lookup.answers().iter().find_map(|record| match &record.data {
                RData::PTR(name) => Some(name.to_string().trim_end_matches('.').to_owned()),
                _ => None,
            })),
            Err(error) if error.is_no_records_found() || error.is_nx_domain() => Ok(None),
            Err(error) => Err(error.to_string()),
        }
    }
}

/// The reverse-DNS source: see the module documentation.
pub struct ReverseDnsSource<L> {
    requests: mpsc::Receiver<Vec<IpAddr>>,
    config: ReverseDnsConfig,
    lookup: Arc<dyn Fn() -> Result<L, String> + Send + Sync>,
    asked: HashSet<IpAddr>,
    queue: VecDeque<IpAddr>,
    /// Failed lookups, oldest first, with when they may be asked again.
    failed: VecDeque<(tokio::time::Instant, IpAddr)>,
}

/// A source using the system resolver, and the handle to ask it.
#[must_use]
pub fn reverse_dns(
    config: ReverseDnsConfig,
    view: ResolverView,
) -> (NameRequests, ReverseDnsSource<SystemPtr>) {
    with_lookup(config, move || Ok(SystemPtr::from_view(view.clone(), config.timeout)))
}

/// A source using `make()` for its lookups (tests inject fakes), and its handle.
#[must_use]
pub fn with_lookup<L: PtrLookup>(
    config: ReverseDnsConfig,
    make: impl Fn() -> Result<L, String> + Send + Sync + 'static,
) -> (NameRequests, ReverseDnsSource<L>) {
    let (tx, requests) = mpsc::channel(64);
    let source = ReverseDnsSource {
        requests,
        config,
        lookup: Arc::new(make),
        asked: HashSet::new(),
        queue: VecDeque::new(),
        failed: VecDeque::new(),
    };
    (NameRequests { tx }, source)
}

impl<L> ReverseDnsSource<L> {
    /// Queue the addresses never asked for before (or whose lookup failed long enough
    /// ago); drop the oldest when full.
    fn enqueue(&mut self, addresses: Vec<IpAddr>) {
        let now = tokio::time::Instant::now();
        while let Some(&(when, address)) = self.failed.front()
            && when <= now
        {
            self.failed.pop_front();
            self.asked.remove(&address);
        }
        if self.asked.len() > MAX_ASKED {
            self.asked.clear();
        }
        for address in addresses {
            if self.asked.insert(address) {
                if self.queue.len() == MAX_QUEUED
                    && let Some(dropped) = self.queue.pop_front()
                {
                    self.asked.remove(&dropped);
                }
                self.queue.push_back(address);
            }
        }
    }
}

impl<L: PtrLookup> Source for ReverseDnsSource<L> {
    fn id(&self) -> SourceId {
        SourceId::ReverseDns
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        let lookup = Arc::new((self.lookup)().map_err(SourceError::Other)?);
        let config = self.config;
        sink.status(
            SourceState::Ok,
            format!("names of connection remotes: at most {} lookups/s, on demand", config.per_second),
        )
        .await?;
        let mut pace = tokio::time::interval(Duration::from_secs(1) / config.per_second.max(1));
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Answers go out in batches; the flush is armed by the first answer of a batch,
        // so an idle source has no timer at all (issue 12: no wake without work).
        let mut flush_at: Option<tokio::time::Instant> = None;
        let mut in_flight: JoinSet<(IpAddr, Result<Option<String>, String>)> = JoinSet::new();
        let mut answers = Vec::new();
        loop {
            let may_start = !self.queue.is_empty() && in_flight.len() < config.concurrency;
            tokio::select! {
                request = self.requests.recv() => match request {
                    Some(addresses) => self.enqueue(addresses),
                    None => return Ok(()),
                },
                _ = pace.tick(), if may_start => {
                    if let Some(address) = self.queue.pop_front() {
                        let lookup = Arc::clone(&lookup);
                        let timeout = config.timeout;
                        in_flight.spawn(async move {
                            let answer = tokio::time::timeout(timeout, lookup.ptr(address))
                                .await
                                .unwrap_or_else(|_| Err("timed out".to_owned()));
                            (address, answer)
                        });
                    }
                }
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                    match done {
                        Ok((address, Ok(name))) => {
                            answers.push((address, name));
                            flush_at.get_or_insert_with(|| tokio::time::Instant::now() + FLUSH_EVERY);
                        }
                        // A failed lookup is not "no name": leave it unanswered, and ask
                        // again only after a while, so a flaky resolver is not hammered.
                        Ok((address, Err(error))) => {
                            tracing::debug!(%address, %error, "reverse lookup failed");
                            self.failed.push_back((tokio::time::Instant::now() + RETRY_FAILED_AFTER, address));
                        }
                        Err(error) => tracing::warn!(%error, "reverse lookup task"),
                    }
                }
                () = sleep_until(flush_at), if flush_at.is_some() => {
                    flush_at = None;
                    sink.send(Payload::Names(std::mem::take(&mut answers))).await?;
                }
            }
        }
    }
}

/// Sleep until `deadline`; never, without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::Mutex;

    use super::*;
    use crate::source::spawn_supervised;

    #[derive(Clone, Default)]
    struct Fake {
        calls: Arc<Mutex<Vec<(IpAddr, tokio::time::Instant)>>>,
    }

    impl PtrLookup for Fake {
        async fn ptr(&self, address: IpAddr) -> Result<Option<String>, String> {
            if let Ok(mut calls) = self.calls.lock() {
                calls.push((address, tokio::time::Instant::now()));
            }
            match address {
                IpAddr::V4(v4) if v4.octets()[3] == 1 => {
                    Ok(Some(format!("host{}.example.test", v4.octets()[2])))
                }
                IpAddr::V4(v4) if v4.octets()[3] == 2 => Ok(None),
                _ => Err("SERVFAIL".to_owned()),
            }
        }
    }

    fn ip(c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, c, d))
    }

    #[tokio::test(start_paused = true)]
    async fn asks_each_address_once_at_a_bounded_rate() {
        let fake = Fake::default();
        let calls = Arc::clone(&fake.calls);
        let config = ReverseDnsConfig { per_second: 5, concurrency: 2, timeout: Duration::from_secs(1) };
        let (requests, source) = with_lookup(config, move || Ok(fake.clone()));
        let (tx, mut rx) = mpsc::channel(16);
        let task = spawn_supervised(source, tx);
        let addresses: Vec<IpAddr> = (0..10).map(|c| ip(c, 1)).chain([ip(50, 2), ip(60, 3)]).collect();
        requests.ask(addresses.clone());
        requests.ask(addresses);
        let mut names = Vec::new();
        while names.len() < 11 {
            match rx.recv().await.map(|e| e.payload) {
                Some(Payload::Names(batch)) => names.extend(batch),
                Some(Payload::Status(status)) => assert_eq!(status.status, SourceState::Ok),
                other => panic!("unexpected {other:?}"),
            }
        }
        task.abort();
        assert!(names.contains(&(ip(3, 1), Some("host3.example.test".to_owned()))));
        assert!(names.contains(&(ip(50, 2), None)), "no PTR record is an answer");
        assert!(!names.iter().any(|(address, _)| *address == ip(60, 3)), "a failure is not an answer");
        let calls = calls.lock().map(|c| c.clone()).unwrap_or_default();
        assert_eq!(calls.len(), 12, "each address looked up once, though asked twice");
        let span =
            calls.last().map(|c| c.1).zip(calls.first().map(|c| c.1)).map(|(last, first)| last - first);
        assert!(span >= Some(Duration::from_secs(2)), "12 lookups at 5/s take over 2 s: {span:?}");
    }

    /// A one-shot DNS server on loopback speaking the wire protocol: PTR answers for
    /// 192.0.2.1, NXDOMAIN for anything else.
    async fn ptr_server(queries: usize) -> (SocketAddr, tokio::task::JoinHandle<Vec<String>>) {
        use hickory_resolver::proto::op::{Message, ResponseCode};
        use hickory_resolver::proto::rr::rdata::PTR;
        use hickory_resolver::proto::rr::{Name, Record};
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let address = socket.local_addr().unwrap_or_else(|e| panic!("address: {e}"));
        let task = tokio::spawn(async move {
            let mut asked = Vec::new();
            let mut buffer = vec![0_u8; 1500];
            while asked.len() < queries {
                let (length, peer) =
                    socket.recv_from(&mut buffer).await.unwrap_or_else(|e| panic!("recv: {e}"));
                let query = Message::from_vec(&buffer[..length]).unwrap_or_else(|e| panic!("query: {e}"));
                let name = query.queries[0].name().clone();
                asked.push(name.to_string());
                let mut response = query.into_response();
                if name.to_string() == "1.2.0.192.in-addr.arpa." {
                    let target: Name = "www.example.test.".parse().unwrap_or_else(|e| panic!("{e}"));
                    response.add_answer(Record::from_rdata(name, 300, RData::PTR(PTR(target))));
                } else {
                    response.metadata.response_code = ResponseCode::NXDomain;
                }
                let bytes = response.to_vec().unwrap_or_else(|e| panic!("encode: {e}"));
                socket.send_to(&bytes, peer).await.unwrap_or_else(|e| panic!("send: {e}"));
            }
            asked
        });
        (address, task)
    }

    #[tokio::test]
    async fn system_lookup_speaks_dns_to_the_configured_server() {
        let (server, answered) = ptr_server(2).await;
        let lookup = SystemPtr::with_server(server, Duration::from_secs(2)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lookup.ptr(ip(2, 1)).await, Ok(Some("www.example.test".to_owned())));
        assert_eq!(lookup.ptr(ip(2, 9)).await, Ok(None), "NXDOMAIN means no name, not a failure");
        let asked = answered.await.unwrap_or_default();
        assert_eq!(asked, ["1.2.0.192.in-addr.arpa.", "9.2.0.192.in-addr.arpa."]);
    }

    /// The system lookup asks the nameservers of the shared resolver configuration and
    /// follows its changes; nothing is sent (only the resolver is made).
    #[tokio::test]
    async fn system_lookup_follows_the_shared_resolver_configuration() {
        use crate::dns::files::ResolverFiles;
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(root.path().join("etc")).unwrap_or_else(|e| panic!("{e}"));
        let resolv_conf = root.path().join("etc/resolv.conf");
        std::fs::write(&resolv_conf, "search example.test\n").unwrap_or_else(|e| panic!("{e}"));
        let view = ResolverView::start(ResolverFiles::under(root.path()), Duration::from_secs(3600));
        let lookup = SystemPtr::from_view(view.clone(), Duration::from_secs(1));
        let error = lookup.resolver().err().unwrap_or_default();
        assert!(error.contains("no nameserver"), "{error}");
        std::fs::write(&resolv_conf, "nameserver 192.0.2.53\n").unwrap_or_else(|e| panic!("{e}"));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while view.current().loaded.report.config.nameservers.is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the change never reached the shared configuration"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(lookup.resolver().is_ok());
        let made_for = lookup
            .current
            .lock()
            .ok()
            .and_then(|current| current.as_ref().map(|(generation, _)| *generation));
        assert_eq!(made_for, Some(view.current().generation), "made for the configuration now in effect");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_lookup_is_retried_only_after_a_while() {
        let fake = Fake::default();
        let calls = Arc::clone(&fake.calls);
        let (requests, source) = with_lookup(ReverseDnsConfig::default(), move || Ok(fake.clone()));
        let (tx, mut rx) = mpsc::channel(16);
        let task = spawn_supervised(source, tx);
        let failing = ip(60, 3);
        let tries = |calls: &Arc<Mutex<Vec<(IpAddr, tokio::time::Instant)>>>| {
            calls.lock().map_or(0, |c| c.iter().filter(|(a, _)| *a == failing).count())
        };
        let _ = rx.recv().await;
        requests.ask(vec![failing]);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(tries(&calls), 1);
        requests.ask(vec![failing]);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(tries(&calls), 1, "not again within a minute");
        tokio::time::sleep(Duration::from_secs(31)).await;
        requests.ask(vec![failing]);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(tries(&calls), 2, "asked again after the cool-down");
        task.abort();
    }

    #[test]
    fn queue_is_bounded() {
        let (_requests, mut source) = with_lookup(ReverseDnsConfig::default(), || Ok(Fake::default()));
        let many: Vec<IpAddr> = (0..2000u32).map(|n| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))).collect();
        source.enqueue(many);
        assert_eq!(source.queue.len(), MAX_QUEUED);
        assert_eq!(source.asked.len(), MAX_QUEUED, "dropped addresses may be asked again");
    }
}
