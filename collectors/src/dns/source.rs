//! The DNS source: the resolver configuration (the process's shared one,
//! [`ResolverView`], reported whenever it changes, with route warnings refreshed
//! whenever the kernel view's routing changes), traces on request and for the
//! names of path targets on their probe schedule, and NAT64 detection.
//!
//! Traces run as tasks of their own, so a trace waiting out a dead server's timeout
//! holds up neither the configuration watch nor another trace. The control channel
//! lives in the source, not in one run, so it survives the supervisor's restarts.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use super::candidates::NameError;
use super::files::{self, Loaded, ResolverFiles};
use super::shared::{ResolverSnapshot, ResolverView, SETTLE};
use super::system::{self, AddrConfig, Comparison};
use super::trace::Tracer;
use crate::event::Payload;
use crate::kernel_view::{KernelView, NetworkView};
use crate::model::{Dns64Report, DnsConfigReport, DnsTrace, SourceId, SourceState, TraceOrigin};
use crate::source::{EventSink, Source, SourceError};

/// How the DNS source behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// The files to read and watch.
    pub files: ResolverFiles,
    /// Names traced on the probe schedule (the path targets' host names).
    pub targets: Vec<String>,
    /// How often each target name is traced.
    pub target_interval: Duration,
    /// How often the files are checked without an inotify event, and the route
    /// warnings refreshed.
    pub poll_interval: Duration,
    /// Ask `ipv4only.arpa` for NAT64 with the first trace (when the user has asked
    /// for DNS traffic: netlens sends none on its own) and after every configuration
    /// change from then on.
    pub detect_dns64: bool,
    /// Set getaddrinfo's answer beside each trace. Tests turn it off: getaddrinfo
    /// reads the machine's own resolv.conf, and tests must not ask its servers.
    pub system_answer: bool,
    /// The port servers listen on (53; tests use others).
    pub port: u16,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            files: ResolverFiles::default(),
            targets: Vec::new(),
            target_interval: Duration::from_secs(5),
            poll_interval: Duration::from_secs(5),
            detect_dns64: true,
            system_answer: true,
            port: 53,
        }
    }
}

/// What the app can ask of a running DNS source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsControl {
    /// Trace this name now (the user asked).
    Trace(String),
    /// Start tracing a target's name on the probe schedule.
    AddTarget(String),
    /// Stop tracing a target's name.
    RemoveTarget(String),
}

/// The app's end of the control channel.
#[derive(Debug, Clone)]
pub struct DnsHandle {
    tx: mpsc::Sender<DnsControl>,
}

impl DnsHandle {
    /// Ask the source; `false` when it is gone or too busy to take more.
    #[must_use]
    pub fn send(&self, control: DnsControl) -> bool {
        self.tx.try_send(control).is_ok()
    }
}

/// Requests waiting before new ones are dropped.
const CONTROL_CAPACITY: usize = 32;
/// Traces running at once at most; further user requests wait for a slot, and one
/// slot is kept for them (target traces against a dead server hold theirs for long).
const MAX_RUNNING: usize = 4;
/// The NAT64 discovery name (RFC 7050).
const DNS64_NAME: &str = "ipv4only.arpa.";

/// Create the source and the handle to control it.
#[must_use]
pub fn dns(config: DnsConfig) -> (DnsHandle, DnsSource) {
    let (tx, rx) = mpsc::channel(CONTROL_CAPACITY);
    (DnsHandle { tx }, DnsSource { config, control: rx, resolver: None, kernel: None })
}

/// The DNS source; see the module docs.
#[derive(Debug)]
pub struct DnsSource {
    config: DnsConfig,
    control: mpsc::Receiver<DnsControl>,
    resolver: Option<ResolverView>,
    kernel: Option<KernelView>,
}

impl DnsSource {
    /// Report and trace with the process's shared resolver configuration (without
    /// it the source reads and watches [`DnsConfig::files`] itself).
    #[must_use]
    pub fn with_resolver(mut self, resolver: ResolverView) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Judge the nameservers' routes with the process's kernel view (without it
    /// there are no route warnings: rtnetlink is off or unavailable).
    #[must_use]
    pub fn with_kernel(mut self, kernel: KernelView) -> Self {
        self.kernel = Some(kernel);
        self
    }
}

/// `loaded` with the route warnings of its servers, from the kernel view's lookups
/// (none without a kernel view).
async fn with_route_warnings(mut loaded: Loaded, kernel: Option<&KernelView>) -> Loaded {
    let Some(kernel) = kernel else { return loaded };
    let config = &loaded.report.config;
    match kernel.lookup_many(files::nameserver_queries(config)).await {
        Ok(answers) => {
            let warnings = files::route_warnings(config, &answers);
            loaded.report.warnings.extend(warnings);
        }
        Err(error) => tracing::debug!(%error, "no route lookups for the nameservers"),
    }
    loaded
}

/// Trace `name` and set the system's answer beside it, with the differences.
/// `with_system: false` skips getaddrinfo (for NAT64 detection).
pub async fn trace_with_system(
    tracer: &Tracer,
    hosts: &[crate::model::HostsEntry],
    name: &str,
    origin: TraceOrigin,
    with_system: bool,
) -> Result<DnsTrace, NameError> {
    let system = with_system.then(|| {
        let name = name.trim().to_owned();
        tokio::task::spawn_blocking(move || system::getaddrinfo(&name))
    });
    let mut trace = tracer.trace(name, origin).await?;
    if let Some(task) = system {
        match task.await {
            Ok(answer) => {
                let addrconfig = host_addresses();
                trace.differences = system::differences(&Comparison {
                    name,
                    candidates: &trace.candidates,
                    traced: &trace.result,
                    traced_error: trace.error.as_deref(),
                    system: &answer,
                    config: &tracer.config,
                    hosts,
                    addrconfig,
                });
                trace.system = Some(answer);
            }
            Err(error) => tracing::warn!(%error, "getaddrinfo task"),
        }
    }
    Ok(trace)
}

/// The families `AI_ADDRCONFIG` lets through on this host now.
fn host_addresses() -> AddrConfig {
    if_addrs::get_if_addrs().map_or(AddrConfig { ipv4: true, ipv6: true }, |interfaces| {
        AddrConfig::from_addresses(interfaces.into_iter().map(|interface| interface.ip()))
    })
}

/// The NAT64 prefix an address synthesised for `ipv4only.arpa` reveals: where one of
/// the well-known addresses 192.0.0.170/171 sits, at one of RFC 6052's prefix lengths
/// (bits 64–71 are skipped for the shorter ones).
#[must_use]
pub fn nat64_prefix(address: Ipv6Addr) -> Option<String> {
    let octets = address.octets();
    let wka: [[u8; 4]; 2] = [[192, 0, 0, 170], [192, 0, 0, 171]];
    // (prefix length, positions of the four IPv4 octets)
    let layouts: [(u8, [usize; 4]); 6] = [
        (96, [12, 13, 14, 15]),
        (64, [9, 10, 11, 12]),
        (56, [7, 9, 10, 11]),
        (48, [6, 7, 9, 10]),
        (40, [5, 6, 7, 9]),
        (32, [4, 5, 6, 7]),
    ];
    for (len, positions) in layouts {
        let embedded = positions.map(|i| octets[i]);
        if wka.contains(&embedded) {
            let mut prefix = [0_u8; 16];
            let bytes = usize::from(len / 8);
            prefix[..bytes].copy_from_slice(&octets[..bytes]);
            return Some(format!("{}/{len}", Ipv6Addr::from(prefix)));
        }
    }
    None
}

/// The NAT64 verdict of an `ipv4only.arpa` trace; `None` when the AAAA question got
/// no real answer (a timeout or a failure says nothing about NAT64).
fn dns64_report(trace: &DnsTrace) -> Option<Dns64Report> {
    let answered =
        trace.steps.iter().any(|step| step.qtype == "AAAA" && step.rcode.as_deref() == Some("NOERROR"));
    if !answered {
        return None;
    }
    let prefix = trace.result.iter().find_map(|address| match address {
        IpAddr::V6(v6) => nat64_prefix(*v6),
        IpAddr::V4(_) => None,
    });
    Some(Dns64Report { prefix, checked_at: time::OffsetDateTime::now_utc() })
}

/// A finished trace task.
type Finished = (TraceOrigin, String, Result<DnsTrace, NameError>);

struct Running {
    /// The files as last read.
    from_files: Loaded,
    /// With the route warnings: what was last sent.
    loaded: Loaded,
    tracer: Tracer,
    tasks: JoinSet<Finished>,
    in_flight: BTreeSet<(TraceOrigin, String)>,
    queued: Vec<(TraceOrigin, String)>,
    targets: Vec<String>,
    kernel: Option<KernelView>,
    system_answer: bool,
    dns64: Dns64Check,
}

/// Where NAT64 detection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dns64Check {
    /// Not wanted.
    Off,
    /// Runs with the first trace.
    Armed,
    /// Ran; runs again after configuration changes.
    Done,
}

impl Running {
    fn spawn(&mut self, name: String, origin: TraceOrigin) {
        if origin != TraceOrigin::Dns64 && self.dns64 == Dns64Check::Armed {
            self.dns64 = Dns64Check::Done;
            self.spawn(DNS64_NAME.to_owned(), TraceOrigin::Dns64);
        }
        let system_answer = self.system_answer;
        let key = (origin, name.clone());
        let queue = origin != TraceOrigin::Target;
        // A user asking again while the same name is traced wants a fresh answer:
        // it runs after the one in flight. Targets simply wait for their next turn.
        let busy = self.in_flight.contains(&key)
            || self.tasks.len() >= MAX_RUNNING
            || (origin == TraceOrigin::Target && self.tasks.len() + 1 >= MAX_RUNNING);
        if busy {
            if queue && !self.queued.contains(&key) {
                self.queued.push(key);
            }
            return;
        }
        self.in_flight.insert(key);
        let tracer = self.tracer.clone();
        let hosts = self.loaded.hosts.clone();
        self.tasks.spawn(async move {
            let with_system = system_answer && origin != TraceOrigin::Dns64;
            let result = trace_with_system(&tracer, &hosts, &name, origin, with_system).await;
            (origin, name, result)
        });
    }

    /// Take the files as last read (`from_files`, when they changed), refresh the
    /// route warnings either way, and report what changed.
    async fn reload(
        &mut self,
        sink: &EventSink,
        port: u16,
        from_files: Option<Loaded>,
    ) -> Result<(), SourceError> {
        if let Some(from_files) = from_files {
            self.from_files = from_files;
        }
        let loaded = with_route_warnings(self.from_files.clone(), self.kernel.as_ref()).await;
        if loaded != self.loaded {
            let config_changed = loaded.report.config != self.loaded.report.config;
            self.loaded = loaded;
            self.tracer = Tracer { config: self.loaded.report.config.clone(), port };
            sink.send(Payload::DnsConfig(self.loaded.report.clone())).await?;
            sink.status(SourceState::Ok, status_detail(&self.loaded.report)).await?;
            if config_changed && self.dns64 == Dns64Check::Done {
                self.spawn(DNS64_NAME.to_owned(), TraceOrigin::Dns64);
            }
        }
        Ok(())
    }
}

impl Source for DnsSource {
    fn id(&self) -> SourceId {
        SourceId::Dns
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        let config = self.config.clone();
        let resolver = match &self.resolver {
            Some(resolver) => resolver.clone(),
            None => ResolverView::start(config.files.clone(), config.poll_interval),
        };
        let kernel = self.kernel.clone();
        let mut files_view = resolver.subscribe();
        let first: Arc<ResolverSnapshot> = Arc::clone(&files_view.borrow_and_update());
        let mut routes = kernel.as_ref().map(KernelView::subscribe);
        if let Some(kernel) = &kernel {
            // Route warnings need a first table of routes; without one they come later.
            let _ = kernel.first().await;
        }
        if let Some(routes) = routes.as_mut() {
            routes.mark_unchanged();
        }
        let from_files = first.loaded.clone();
        let loaded = with_route_warnings(from_files.clone(), kernel.as_ref()).await;
        sink.send(Payload::DnsConfig(loaded.report.clone())).await?;
        let mut detail = status_detail(&loaded.report);
        if !first.watched {
            let _ = write!(
                detail,
                "; inotify unavailable, files checked every {} s",
                resolver.poll_interval().as_secs()
            );
        }
        sink.status(SourceState::Ok, detail).await?;
        let mut state = Running {
            tracer: Tracer { config: loaded.report.config.clone(), port: config.port },
            from_files,
            loaded,
            tasks: JoinSet::new(),
            in_flight: BTreeSet::new(),
            queued: Vec::new(),
            targets: config.targets.clone(),
            kernel,
            system_answer: config.system_answer,
            dns64: if config.detect_dns64 { Dns64Check::Armed } else { Dns64Check::Off },
        };
        let interval = config.target_interval.max(Duration::from_secs(1));
        let mut targets = tokio::time::interval(interval);
        targets.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // Routing changes come in bursts: the warnings are refreshed once they settle.
        let mut settle: Option<Instant> = None;
        let mut control_open = true;
        loop {
            tokio::select! {
                changed = files_view.changed() => {
                    changed.map_err(|_| SourceError::Other("the resolver configuration watch stopped".to_owned()))?;
                    let snapshot = Arc::clone(&files_view.borrow_and_update());
                    state.reload(sink, config.port, Some(snapshot.loaded.clone())).await?;
                }
                changed = wait_routes(routes.as_mut()), if routes.is_some() => {
                    if changed.is_err() {
                        routes = None;
                    } else {
                        settle.get_or_insert_with(|| Instant::now() + SETTLE);
                    }
                }
                () = sleep_until(settle), if settle.is_some() => {
                    settle = None;
                    state.reload(sink, config.port, None).await?;
                }
                _ = targets.tick() => {
                    for name in state.targets.clone() {
                        state.spawn(name, TraceOrigin::Target);
                    }
                }
                request = self.control.recv(), if control_open => match request {
                    Some(DnsControl::Trace(name)) => state.spawn(name.trim().to_owned(), TraceOrigin::User),
                    Some(DnsControl::AddTarget(name)) => {
                        if !state.targets.contains(&name) {
                            state.targets.push(name.clone());
                            state.spawn(name, TraceOrigin::Target);
                        }
                    }
                    Some(DnsControl::RemoveTarget(name)) => state.targets.retain(|target| *target != name),
                    None => control_open = false,
                },
                Some(done) = state.tasks.join_next() => {
                    if let Ok((origin, name, result)) = done {
                        state.in_flight.remove(&(origin, name.clone()));
                        finished(sink, origin, &name, result).await?;
                    }
                    // The first queued request that can run now (the same name may still be in flight).
                    if let Some(position) = state.queued.iter().position(|key| !state.in_flight.contains(key)) {
                        let (origin, name) = state.queued.remove(position);
                        state.spawn(name, origin);
                    }
                }
            }
        }
    }
}

async fn wait_routes(
    routes: Option<&mut tokio::sync::watch::Receiver<Arc<NetworkView>>>,
) -> Result<(), tokio::sync::watch::error::RecvError> {
    match routes {
        Some(routes) => routes.changed().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Send a finished trace (and the NAT64 verdict of a detection).
async fn finished(
    sink: &EventSink,
    origin: TraceOrigin,
    name: &str,
    result: Result<DnsTrace, NameError>,
) -> Result<(), SourceError> {
    match result {
        Ok(trace) => {
            if origin == TraceOrigin::Dns64
                && let Some(report) = dns64_report(&trace)
            {
                sink.send(Payload::Dns64(report)).await?;
            }
            sink.send(Payload::DnsTrace(Box::new(trace))).await?;
        }
        // The prompt checks names before asking, but the user must hear back anyway.
        Err(error) if origin == TraceOrigin::User => {
            let trace = DnsTrace {
                name: name.to_owned(),
                origin,
                started_at: time::OffsetDateTime::now_utc(),
                candidates: Vec::new(),
                answered_by: None,
                result: Vec::new(),
                error: Some(error.to_string()),
                steps: Vec::new(),
                total_ms: 0.0,
                system: None,
                differences: Vec::new(),
            };
            sink.send(Payload::DnsTrace(Box::new(trace))).await?;
        }
        Err(error) => tracing::info!(name, %error, "not traced"),
    }
    Ok(())
}

/// The status line: which servers, from where.
fn status_detail(report: &DnsConfigReport) -> String {
    let config = &report.config;
    let servers: Vec<String> = config.nameservers.iter().map(ToString::to_string).collect();
    let mut detail = if servers.is_empty() {
        "no nameserver configured (glibc would ask 127.0.0.1)".to_owned()
    } else {
        format!("nameservers {}", servers.join(", "))
    };
    if config.stub {
        let upstreams: Vec<String> = config.upstreams.iter().map(ToString::to_string).collect();
        let upstreams = if upstreams.is_empty() { "unknown".to_owned() } else { upstreams.join(", ") };
        let _ = write!(detail, " (stub; upstreams {upstreams})");
    }
    if !report.warnings.is_empty() {
        let _ = write!(detail, "; {} warning(s)", report.warnings.len());
    }
    detail
}

#[cfg(test)]
mod tests;
