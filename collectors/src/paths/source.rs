//! The paths source: evaluates every target when the network changes and on the probe
//! schedule, debounces status changes, and sends the whole path table after each round.
//!
//! It listens to rtnetlink itself (links, addresses, routes, rules, neighbours) rather
//! than waiting for the interfaces source's debounced re-read, so a change reaches a
//! verdict within [`PathsConfig::coalesce`] of the notification; only the status
//! *transition* then waits for the debounce. Nothing here sends a packet unless a user
//! target asks for a probe (DESIGN.md §1 note 9): route lookups and dumps are local
//! questions to the kernel.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::event::{Notice, Payload};
use crate::interfaces::netlink::dump::Dumper;
use crate::interfaces::netlink::socket::RouteSocket;
use crate::interfaces::sysfs::{SysfsCache, SystemSysfs};
use crate::model::{
    ConnectAttempt, NetworkTable, PathState, PathStatus, RouteLookupReport, RouteType, SourceId, SourceState,
    TimelineKind, Timestamp,
};
use crate::source::{EventSink, Source, SourceError};

use super::RouteGeneration;
use super::evaluate::{self, Context, Inputs, NameCheck, Verdict};
use super::eyeballs::{self, TcpConnector};
use super::lookup::{LookupError, RouteAnswer, RouteLookup, RouteQuery};
use super::probe::{self, ProbeSpec};
use super::query::LookupRequest;
use super::resolve::{self, HickoryLookup, NameLookup};
use super::rules::{self, RuleQuery};
use super::status::{Observed, StatusTracker};
use super::target::{Destination, ProbeKind, Target, TargetDestination};
use super::window::ProbeWindow;

/// How the paths source behaves.
#[derive(Debug, Clone)]
pub struct PathsConfig {
    /// User targets, in the order given (the default paths always come first).
    pub targets: Vec<Target>,
    /// How long a new status must hold before it is committed.
    pub debounce: Duration,
    /// Time between probes of one target while it answers.
    pub probe_interval: Duration,
    /// Time between probes of one target after a failed probe: a quick confirmation.
    pub retry_interval: Duration,
    /// How long one probe (or one Happy Eyeballs race) may take.
    pub probe_timeout: Duration,
    /// How often names are resolved again while nothing changes.
    pub resolve_interval: Duration,
    /// Notifications arriving within this window are evaluated together.
    pub coalesce: Duration,
    /// Interfaces the user marks as expensive (metered).
    pub expensive: Vec<String>,
    /// Interfaces the user marks as constrained.
    pub constrained: Vec<String>,
    /// Resolve names with this server instead of the system configuration.
    pub nameserver: Option<SocketAddr>,
    /// The resolver configuration read for nameservers.
    pub resolv_conf: PathBuf,
    /// Bumped on every re-evaluation after rtnetlink notifications, for sources that
    /// cache route lookups (the connections source); `None`: nobody listens.
    pub route_generation: Option<RouteGeneration>,
}

impl Default for PathsConfig {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            debounce: Duration::from_secs(1),
            probe_interval: Duration::from_secs(5),
            retry_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_secs(2),
            resolve_interval: Duration::from_secs(60),
            coalesce: Duration::from_millis(10),
            expensive: Vec::new(),
            constrained: Vec::new(),
            nameserver: None,
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            route_generation: None,
        }
    }
}

/// What the app can ask of a running paths source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathsControl {
    /// Start evaluating a new target.
    Add(Target),
    /// Stop evaluating the target written so (canonical form).
    Remove(String),
    /// Probe the target now instead of at its next turn.
    ProbeNow(String),
    /// Answer an interactive route lookup (sent back as [`Payload::RouteLookup`]).
    Lookup(LookupRequest),
}

/// The app's end of the control channel.
#[derive(Debug, Clone)]
pub struct PathsHandle {
    tx: mpsc::Sender<PathsControl>,
}

impl PathsHandle {
    /// Ask the source; returns `false` when it is gone or too busy to take more.
    #[must_use]
    pub fn send(&self, control: PathsControl) -> bool {
        self.tx.try_send(control).is_ok()
    }
}

/// Requests waiting for the source before it drops new ones.
const CONTROL_CAPACITY: usize = 64;
/// Datagrams read per wake-up from the notification socket.
const MAX_BATCH: usize = 256;
/// Queued datagrams thrown away at most after an overrun.
const MAX_DISCARD: usize = 65_536;
/// A network change re-resolves names, but not more often than this.
const MIN_RESOLVE_GAP: Duration = Duration::from_secs(5);
/// "Probe now" is rate-limited too.
const MIN_PROBE_GAP: Duration = Duration::from_secs(1);

/// Create the source and the handle to control it.
#[must_use]
pub fn paths(config: PathsConfig) -> (PathsHandle, PathsSource) {
    let (tx, rx) = mpsc::channel(CONTROL_CAPACITY);
    (PathsHandle { tx }, PathsSource { config, control: rx })
}

/// The paths source; see the module docs.
#[derive(Debug)]
pub struct PathsSource {
    config: PathsConfig,
    control: mpsc::Receiver<PathsControl>,
}

impl Source for PathsSource {
    fn id(&self) -> SourceId {
        SourceId::Paths
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        let notifications = RouteSocket::notifications(None)
            .map_err(|error| SourceError::io("subscribing to rtnetlink for path changes", error))?;
        let mut paths = Evaluator::open(&self.config)?;
        sink.status(SourceState::Ok, paths.status_detail()).await?;
        paths.run(notifications, &mut self.control, sink).await
    }
}

/// Evaluate `config`'s targets once — resolving names, running the probes and Happy
/// Eyeballs races they ask for — and return the paths (for `netlens path`).
///
/// # Errors
/// When rtnetlink cannot be opened.
pub async fn evaluate_once(config: &PathsConfig) -> Result<Vec<PathState>, SourceError> {
    let mut paths = Evaluator::open(config)?;
    paths.refresh_network().await?;
    for index in 0..paths.targets.len() {
        paths.spawn_resolve(index);
    }
    while let Some(done) = paths.resolving.join_next().await {
        if let Ok((index, check)) = done {
            paths.targets[index].name = check;
        }
    }
    let now = Instant::now();
    paths.round(now).await?;
    for index in 0..paths.targets.len() {
        if paths.targets[index].probe_due(now) {
            paths.spawn_probe(index, now);
        }
    }
    while let Some(done) = paths.probing.join_next().await {
        if let Ok((index, outcome)) = done {
            paths.record_probe(index, outcome);
        }
    }
    // One shot: the verdict is the evaluation, not a debounced status, so the
    // round's transition notices have nowhere to go.
    paths.round(Instant::now()).await?;
    Ok(paths.table(true))
}

/// The result of one probe.
#[derive(Debug)]
struct ProbeOutcome {
    result: Result<Duration, String>,
    race: Option<(Vec<ConnectAttempt>, Option<SocketAddr>)>,
}

/// One target and everything remembered about it between rounds.
#[derive(Debug)]
struct TargetState {
    target: Target,
    tracker: StatusTracker,
    verdict: Option<Verdict>,
    evaluated_at: Timestamp,
    name: NameCheck,
    resolved_at: Option<Instant>,
    resolving: bool,
    window: ProbeWindow,
    failures: u32,
    next_probe: Instant,
    last_probe: Option<Instant>,
    probing: bool,
    /// ICMP echo sequence number of the next probe.
    sequence: u16,
    attempts: Vec<ConnectAttempt>,
    winner: Option<SocketAddr>,
    previous_interface: Option<u32>,
    kernel_ok: bool,
}

impl TargetState {
    fn new(target: Target, now: Instant) -> Self {
        let name = if target.destination.lookup_address().is_some() {
            NameCheck::NotNeeded
        } else {
            NameCheck::Pending
        };
        Self {
            tracker: StatusTracker::new(target.text.clone(), Timestamp::now_utc()),
            target,
            verdict: None,
            evaluated_at: Timestamp::now_utc(),
            name,
            resolved_at: None,
            resolving: false,
            window: ProbeWindow::new(super::window::DEFAULT_CAPACITY),
            failures: 0,
            next_probe: now,
            last_probe: None,
            probing: false,
            sequence: 0,
            attempts: Vec::new(),
            winner: None,
            previous_interface: None,
            kernel_ok: false,
        }
    }

    fn probe_due(&self, now: Instant) -> bool {
        self.target.probe != ProbeKind::None && !self.probing && self.kernel_ok && self.next_probe <= now
    }

    /// The addresses to look a route up for: the literal, the default path's
    /// representative, the race winner, or the first address of each family.
    fn candidates(&self, nameservers: &[IpAddr]) -> (Vec<IpAddr>, bool) {
        if let Some(address) = self.target.destination.lookup_address() {
            return (vec![address], false);
        }
        match &self.name {
            NameCheck::Resolved(addresses) => {
                if let Some(winner) = self.winner.filter(|winner| addresses.contains(&winner.ip())) {
                    return (vec![winner.ip()], false);
                }
                let v6 = addresses.iter().find(|a| a.is_ipv6());
                let v4 = addresses.iter().find(|a| a.is_ipv4());
                (v6.into_iter().chain(v4).copied().collect(), false)
            }
            NameCheck::Pending | NameCheck::Failed(_) | NameCheck::NotNeeded => {
                (nameservers.first().copied().into_iter().collect(), true)
            }
        }
    }
}

/// The evaluation state shared by the live source and the one-shot evaluation.
struct Evaluator {
    config: PathsConfig,
    lookup: Arc<Mutex<RouteLookup>>,
    dumper: Dumper,
    sysfs: SysfsCache,
    network: NetworkTable,
    nameservers: Vec<IpAddr>,
    resolver: Result<Arc<dyn NameLookup>, String>,
    targets: Vec<TargetState>,
    resolving: JoinSet<(usize, NameCheck)>,
    probing: JoinSet<(usize, ProbeOutcome)>,
    /// A nameserver is configured and the kernel has a route to it (last round).
    dns: bool,
}

impl Evaluator {
    fn open(config: &PathsConfig) -> Result<Self, SourceError> {
        let lookup =
            RouteLookup::open().map_err(|error| SourceError::io("opening a route lookup socket", error))?;
        let requests =
            RouteSocket::requests().map_err(|error| SourceError::io("opening an rtnetlink socket", error))?;
        let resolver: Result<Arc<dyn NameLookup>, String> = match config.nameserver {
            Some(server) => HickoryLookup::with_server(server, config.probe_timeout)
                .map(|lookup| Arc::new(lookup) as Arc<dyn NameLookup>),
            None => HickoryLookup::from_system().map(|lookup| Arc::new(lookup) as Arc<dyn NameLookup>),
        };
        let nameservers = match config.nameserver {
            Some(server) => vec![server.ip()],
            None => read_nameservers(&config.resolv_conf),
        };
        let now = Instant::now();
        let mut targets: Vec<TargetState> = Vec::new();
        for target in default_targets().into_iter().chain(config.targets.iter().cloned()) {
            if !targets.iter().any(|known| known.target.text == target.text) {
                targets.push(TargetState::new(target, now));
            }
        }
        Ok(Self {
            config: config.clone(),
            lookup: Arc::new(Mutex::new(lookup)),
            dumper: Dumper::new(requests),
            sysfs: SysfsCache::new(Box::new(SystemSysfs)),
            network: NetworkTable::default(),
            nameservers,
            resolver,
            targets,
            resolving: JoinSet::new(),
            probing: JoinSet::new(),
            dns: false,
        })
    }

    fn status_detail(&self) -> String {
        let user = self.targets.iter().filter(|t| !is_default(&t.target)).count();
        let probed = self.targets.iter().filter(|t| t.target.probe != ProbeKind::None).count();
        format!("route lookups on every network change; {user} user targets, {probed} probed")
    }

    async fn run(
        &mut self,
        mut notifications: RouteSocket,
        control: &mut mpsc::Receiver<PathsControl>,
        sink: &EventSink,
    ) -> Result<(), SourceError> {
        self.refresh_network().await?;
        for index in 0..self.targets.len() {
            self.spawn_resolve(index);
        }
        self.round_and_send(sink).await?;
        let mut evaluate_at: Option<Instant> = None;
        let mut changed_at: Option<Instant> = None;
        // Without a handle (a one-way setup), the source simply runs on.
        let mut control_open = true;
        loop {
            let next_probe = self.next_probe();
            let next_commit = self.next_commit();
            let next_resolve = self.next_resolve();
            tokio::select! {
                received = notifications.recv(MAX_BATCH) => {
                    let received = received
                        .map_err(|error| SourceError::io("reading rtnetlink notifications", error))?;
                    if received.lost {
                        notifications.discard_queued(MAX_DISCARD).map_err(|error| {
                            SourceError::io("draining rtnetlink notifications after an overrun", error)
                        })?;
                    }
                    if received.lost || !received.frames.is_empty() {
                        let now = Instant::now();
                        changed_at.get_or_insert(now);
                        evaluate_at.get_or_insert(now + self.config.coalesce);
                    }
                }
                () = sleep_until(evaluate_at), if evaluate_at.is_some() => {
                    evaluate_at = None;
                    // Sources caching route lookups (connections) look again.
                    if let Some(generation) = &self.config.route_generation {
                        generation.bump();
                    }
                    self.refresh_network().await?;
                    self.resolve_after_change(Instant::now());
                    // The debounce runs from the change, not from when it was judged.
                    let since = changed_at.take().unwrap_or_else(Instant::now);
                    self.round_and_send_at(sink, since).await?;
                }
                () = sleep_until(next_commit), if next_commit.is_some() => {
                    let now = Instant::now();
                    let debounce = self.config.debounce;
                    let notices: Vec<Notice> =
                        self.targets.iter_mut().filter_map(|t| t.tracker.tick(now.into_std(), debounce)).collect();
                    sink.notices(notices).await?;
                    sink.send(Payload::Paths(self.table(false))).await?;
                }
                () = sleep_until(next_probe), if next_probe.is_some() => {
                    let now = Instant::now();
                    for index in 0..self.targets.len() {
                        if self.targets[index].probe_due(now) {
                            self.spawn_probe(index, now);
                        }
                    }
                }
                () = sleep_until(next_resolve), if next_resolve.is_some() => {
                    let now = Instant::now();
                    for index in 0..self.targets.len() {
                        if self.resolve_due(index, now) {
                            self.spawn_resolve(index);
                        }
                    }
                }
                Some(done) = self.probing.join_next(), if !self.probing.is_empty() => {
                    if let Ok((index, outcome)) = done {
                        self.record_probe(index, outcome);
                        self.round_and_send(sink).await?;
                    }
                }
                Some(done) = self.resolving.join_next(), if !self.resolving.is_empty() => {
                    if let Ok((index, check)) = done
                        && let Some(state) = self.targets.get_mut(index)
                    {
                        state.resolving = false;
                        state.name = check;
                        state.resolved_at = Some(Instant::now());
                        self.round_and_send(sink).await?;
                    }
                }
                request = control.recv(), if control_open => {
                    match request {
                        Some(request) => self.control(request, sink).await?,
                        None => control_open = false,
                    }
                }
            }
        }
    }

    async fn control(&mut self, request: PathsControl, sink: &EventSink) -> Result<(), SourceError> {
        let now = Instant::now();
        match request {
            PathsControl::Add(target) => {
                if self.targets.iter().any(|known| known.target.text == target.text) {
                    return Ok(());
                }
                let text = target.text.clone();
                self.targets.push(TargetState::new(target, now));
                self.spawn_resolve(self.targets.len() - 1);
                sink.notices(vec![Notice::new(
                    TimelineKind::Notice,
                    text.clone(),
                    format!("path target {text} added"),
                )])
                .await?;
            }
            PathsControl::Remove(text) => {
                let before = self.targets.len();
                self.targets.retain(|known| known.target.text != text || is_default(&known.target));
                if self.targets.len() != before {
                    // In-flight results carry indexes into the old list: drop them.
                    self.probing.abort_all();
                    self.resolving.abort_all();
                    for state in &mut self.targets {
                        state.probing = false;
                        state.resolving = false;
                    }
                    sink.notices(vec![Notice::new(
                        TimelineKind::Notice,
                        text.clone(),
                        format!("path target {text} removed"),
                    )])
                    .await?;
                }
            }
            PathsControl::ProbeNow(text) => {
                if let Some(index) = self.targets.iter().position(|known| known.target.text == text) {
                    let state = &mut self.targets[index];
                    let recent =
                        state.last_probe.is_some_and(|last| now.duration_since(last) < MIN_PROBE_GAP);
                    if !recent {
                        state.next_probe = now;
                    }
                    if state.probe_due(now) {
                        self.spawn_probe(index, now);
                    }
                }
                return Ok(());
            }
            PathsControl::Lookup(request) => {
                let report = self.answer(&request).await;
                sink.send(Payload::RouteLookup(report)).await?;
                return Ok(());
            }
        }
        self.round_and_send(sink).await
    }

    /// Re-read links, addresses, routes, rules and neighbours.
    async fn refresh_network(&mut self) -> Result<(), SourceError> {
        self.network = self.dumper.network(&mut self.sysfs).await?;
        Ok(())
    }

    async fn round_and_send(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        self.round_and_send_at(sink, Instant::now()).await
    }

    /// A round whose changes count from `since` (the first notification behind it).
    async fn round_and_send_at(&mut self, sink: &EventSink, since: Instant) -> Result<(), SourceError> {
        let notices = self.round(since).await?;
        sink.notices(notices).await?;
        sink.send(Payload::Paths(self.table(false))).await?;
        Ok(())
    }

    /// Look every target up and judge it; returns the timeline notices of the round.
    async fn round(&mut self, now: Instant) -> Result<Vec<Notice>, SourceError> {
        let at = Timestamp::now_utc() - Instant::now().saturating_duration_since(now);
        // Queries: the nameservers first (DNS availability), then each target's candidates.
        let mut queries: Vec<RouteQuery> =
            self.nameservers.iter().map(|&server| RouteQuery::new(server)).collect();
        let mut plans: Vec<Plan> = Vec::with_capacity(self.targets.len());
        for state in &self.targets {
            let (addresses, to_nameserver) = state.candidates(&self.nameservers);
            let oif = match state.target.via.as_deref() {
                None => Ok(None),
                Some(name) => self
                    .network
                    .interfaces
                    .iter()
                    .find(|link| link.name == name)
                    .map(|link| Some(link.index))
                    .ok_or_else(|| format!("via={name}: no such interface")),
            };
            let first = queries.len();
            if let Ok(oif) = &oif {
                queries.extend(addresses.iter().map(|&destination| RouteQuery {
                    destination,
                    oif: *oif,
                    mark: state.target.mark,
                    source: None,
                }));
            }
            plans.push(Plan { first, addresses, to_nameserver, no_lookup: oif.err() });
        }
        let lookup = Arc::clone(&self.lookup);
        let answers = tokio::task::spawn_blocking(move || {
            let mut lookup = lookup.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            lookup.lookup_many(&queries)
        })
        .await
        .map_err(|error| SourceError::io("route lookups", std::io::Error::other(error)))?;

        self.dns = answers.iter().take(self.nameservers.len()).any(Result::is_ok);
        let mut context = Context {
            network: &self.network,
            default_v4: None,
            default_v6: None,
            expensive: &self.config.expensive,
            constrained: &self.config.constrained,
        };
        let debounce = self.config.debounce;
        let mut notices = Vec::new();
        for (state, plan) in self.targets.iter_mut().zip(&plans) {
            let verdict = judge(state, plan, &answers, &context);
            // The default paths come first, so later targets see their interfaces
            // (a tunnel is full when the default path uses it too).
            match state.target.destination {
                TargetDestination::DefaultIpv4 => context.default_v4 = satisfied_interface(Some(&verdict)),
                TargetDestination::DefaultIpv6 => context.default_v6 = satisfied_interface(Some(&verdict)),
                TargetDestination::Host { .. } => {}
            }
            let kernel_ok =
                verdict.checks.iter().all(|check| check.ok || check.name == crate::model::CheckName::Probe);
            if kernel_ok && !state.kernel_ok {
                // Back from an outage: probe at once rather than at the old schedule.
                state.next_probe = now;
            }
            state.kernel_ok = kernel_ok;
            if verdict.interface_index.is_some() {
                state.previous_interface = verdict.interface_index;
            }
            let observed = Observed {
                status: verdict.status,
                reason: verdict.reason,
                subject: verdict.reason_subject.clone(),
            };
            notices.extend(state.tracker.observe(
                observed,
                verdict.interface.as_deref(),
                now.into_std(),
                at,
                debounce,
            ));
            state.verdict = Some(verdict);
            state.evaluated_at = Timestamp::now_utc();
        }
        Ok(notices)
    }

    /// The path table; `immediate` reports the latest verdict instead of the
    /// debounced status (a one-shot evaluation has nothing to debounce).
    fn table(&self, immediate: bool) -> Vec<PathState> {
        let ipv4 = self.family_ok(&TargetDestination::DefaultIpv4);
        let ipv6 = self.family_ok(&TargetDestination::DefaultIpv6);
        let dns = self.dns;
        self.targets
            .iter()
            .map(|state| {
                let verdict = state.verdict.clone();
                let committed = state.tracker.committed().cloned();
                let (status, reason, subject) = match (&verdict, committed) {
                    (Some(v), _) if immediate => (v.status, v.reason, v.reason_subject.clone()),
                    (_, Some(c)) => (c.status, c.reason, c.subject),
                    (Some(v), None) => (v.status, v.reason, v.reason_subject.clone()),
                    (None, None) => (PathStatus::Unsatisfied, None, None),
                };
                let v = verdict.as_ref();
                PathState {
                    target: state.target.text.clone(),
                    family: v.and_then(|v| v.family),
                    status,
                    reason,
                    reason_subject: subject,
                    destination: v.and_then(|v| v.destination),
                    interface: v.and_then(|v| v.interface.clone()),
                    interface_index: v.and_then(|v| v.interface_index),
                    interface_kind: v.and_then(|v| v.interface_kind),
                    source: v.and_then(|v| v.source),
                    gateway: v.and_then(|v| v.gateway),
                    route_type: v.and_then(|v| v.route_type),
                    table: v.and_then(|v| v.table),
                    matched_prefix: v.and_then(|v| v.matched_prefix.clone()),
                    tunnel: v.and_then(|v| v.tunnel),
                    ipv4,
                    ipv6,
                    dns,
                    expensive: v.is_some_and(|v| v.expensive),
                    constrained: v.is_some_and(|v| v.constrained),
                    since: state.tracker.since(),
                    evaluated_at: state.evaluated_at,
                    pending: if immediate { None } else { state.tracker.pending() },
                    checks: v.map(|v| v.checks.clone()).unwrap_or_default(),
                    probe: state.window.summary(state.target.probe.as_str()),
                    attempts: state.attempts.clone(),
                    transitions: state.tracker.transitions(),
                }
            })
            .collect()
    }

    fn family_ok(&self, which: &TargetDestination) -> bool {
        let family = match which {
            TargetDestination::DefaultIpv6 => crate::model::AddressFamily::Ipv6,
            _ => crate::model::AddressFamily::Ipv4,
        };
        let default_ok = self
            .targets
            .iter()
            .find(|state| state.target.destination == *which)
            .and_then(|state| state.verdict.as_ref())
            .is_some_and(|verdict| verdict.status == PathStatus::Satisfied);
        evaluate::family_available(&self.network, family, default_ok)
    }

    fn next_probe(&self) -> Option<Instant> {
        self.targets
            .iter()
            .filter(|state| state.target.probe != ProbeKind::None && !state.probing && state.kernel_ok)
            .map(|state| state.next_probe)
            .min()
    }

    fn next_commit(&self) -> Option<Instant> {
        self.targets
            .iter()
            .filter_map(|state| state.tracker.deadline(self.config.debounce))
            .min()
            .map(Instant::from_std)
    }

    fn next_resolve(&self) -> Option<Instant> {
        self.targets
            .iter()
            .filter(|state| !state.resolving && state.target.destination.lookup_address().is_none())
            .filter_map(|state| state.resolved_at.map(|at| at + self.config.resolve_interval))
            .min()
    }

    fn resolve_due(&self, index: usize, now: Instant) -> bool {
        let state = &self.targets[index];
        !state.resolving
            && state.target.destination.lookup_address().is_none()
            && state.resolved_at.is_none_or(|at| at + self.config.resolve_interval <= now)
    }

    /// After a network change names may resolve differently (a VPN's DNS): resolve
    /// again, but not more often than [`MIN_RESOLVE_GAP`].
    fn resolve_after_change(&mut self, now: Instant) {
        for index in 0..self.targets.len() {
            let recent =
                self.targets[index].resolved_at.is_some_and(|at| now.duration_since(at) < MIN_RESOLVE_GAP);
            if !recent {
                self.spawn_resolve(index);
            }
        }
    }

    fn spawn_resolve(&mut self, index: usize) {
        let state = &mut self.targets[index];
        let TargetDestination::Host { destination: Destination::Name(name), .. } = &state.target.destination
        else {
            return;
        };
        if state.resolving {
            return;
        }
        let resolver = match &self.resolver {
            Ok(resolver) => Arc::clone(resolver),
            Err(why) => {
                state.name = NameCheck::Failed(why.clone());
                state.resolved_at = Some(Instant::now());
                return;
            }
        };
        state.resolving = true;
        let name = name.clone();
        self.resolving.spawn(async move {
            let answer = resolve::resolve_dual(resolver.as_ref(), &name, resolve::RESOLUTION_DELAY).await;
            (index, name_check(&name, answer))
        });
    }

    fn spawn_probe(&mut self, index: usize, now: Instant) {
        let timeout = self.config.probe_timeout;
        let state = &mut self.targets[index];
        let Some(verdict) = &state.verdict else { return };
        let port = match &state.target.destination {
            TargetDestination::Host { port, .. } => *port,
            _ => None,
        };
        let spec_for = |address: IpAddr, port: u16| ProbeSpec {
            address: SocketAddr::new(address, port),
            interface: state.target.via.clone(),
            mark: state.target.mark,
            timeout,
        };
        let sequence = state.sequence;
        state.sequence = state.sequence.wrapping_add(1);
        let task: std::pin::Pin<Box<dyn std::future::Future<Output = ProbeOutcome> + Send>> =
            match (state.target.probe, &state.name) {
                (ProbeKind::None, _) => return,
                (ProbeKind::Tcp, NameCheck::Resolved(addresses)) => {
                    let Some(port) = port else { return };
                    let v6: Vec<_> = addresses
                        .iter()
                        .filter_map(|a| match a {
                            IpAddr::V6(v6) => Some(*v6),
                            IpAddr::V4(_) => None,
                        })
                        .collect();
                    let v4: Vec<_> = addresses
                        .iter()
                        .filter_map(|a| match a {
                            IpAddr::V4(v4) => Some(*v4),
                            IpAddr::V6(_) => None,
                        })
                        .collect();
                    let order = eyeballs::interleave(&v6, &v4, port);
                    let connector = TcpConnector {
                        interface: state.target.via.clone(),
                        mark: state.target.mark,
                        timeout,
                    };
                    Box::pin(async move {
                        let race = eyeballs::race(&order, &connector, eyeballs::ATTEMPT_DELAY, timeout).await;
                        let rtt = race
                            .attempts
                            .iter()
                            .find(|attempt| attempt.winner)
                            .map(|attempt| Duration::from_secs_f64(attempt.duration_ms / 1000.0));
                        let result = rtt.ok_or_else(|| race_error(&race.attempts));
                        ProbeOutcome { result, race: Some((race.attempts, race.winner)) }
                    })
                }
                (kind, _) => {
                    let Some(address) = verdict.destination else { return };
                    let spec = match kind {
                        ProbeKind::Dns => spec_for(address, port.unwrap_or(53)),
                        _ => spec_for(address, port.unwrap_or(0)),
                    };
                    Box::pin(async move {
                        let result = match kind {
                            ProbeKind::Tcp => probe::tcp_connect(&spec).await,
                            ProbeKind::Icmp => probe::icmp_echo(&spec, sequence).await,
                            _ => probe::dns_query(&spec).await,
                        };
                        ProbeOutcome { result: result.map_err(|error| error.to_string()), race: None }
                    })
                }
            };
        state.probing = true;
        state.last_probe = Some(now);
        self.probing.spawn(async move { (index, task.await) });
    }

    fn record_probe(&mut self, index: usize, outcome: ProbeOutcome) {
        let Some(state) = self.targets.get_mut(index) else { return };
        state.probing = false;
        let now = Instant::now();
        match outcome.result {
            Ok(rtt) => {
                state.window.record_success(rtt);
                state.failures = 0;
                state.next_probe = now + self.config.probe_interval;
            }
            Err(error) => {
                state.window.record_failure(error);
                state.failures = state.failures.saturating_add(1);
                state.next_probe = now + self.config.retry_interval;
            }
        }
        if let Some((attempts, winner)) = outcome.race {
            state.attempts = attempts;
            state.winner = winner;
        }
    }

    /// The interactive route lookup, with the rule and table that decided it.
    async fn answer(&mut self, request: &LookupRequest) -> RouteLookupReport {
        let at = Timestamp::now_utc();
        let query_text = request.to_string();
        // A fresh view of the rules and interfaces: the user asks about now.
        if let Err(error) = self.refresh_network().await {
            tracing::debug!(%error, "could not re-read the network before a route lookup");
        }
        let oif = match request.via.as_deref() {
            None => None,
            Some(name) => match self.network.interfaces.iter().find(|link| link.name == name) {
                Some(link) => Some(link.index),
                None => {
                    return RouteLookupReport {
                        query: query_text,
                        at,
                        answer: Err(format!("via={name}: no such interface")),
                        rule: None,
                        table: None,
                        matched_prefix: None,
                    };
                }
            },
        };
        let query =
            RouteQuery { destination: request.destination, oif, mark: request.mark, source: request.from };
        let lookup = Arc::clone(&self.lookup);
        let answer = tokio::task::spawn_blocking(move || {
            let mut lookup = lookup.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            lookup.lookup(&query)
        })
        .await
        .unwrap_or_else(|error| Err(LookupError::Io(std::io::Error::other(error))));
        match answer {
            Ok(answer) => {
                let rule_query = RuleQuery {
                    destination: request.destination,
                    source: request.from,
                    mark: request.mark.unwrap_or(0),
                    oif: request.via.as_deref(),
                };
                let rule =
                    rules::matching_rule(&self.network.rules, &rule_query, answer.table).map(rules::describe);
                RouteLookupReport {
                    query: query_text,
                    at,
                    answer: Ok(ip_route_get(request.destination, &answer)),
                    rule,
                    table: Some(crate::model::Route::table_name(answer.table)),
                    matched_prefix: answer.matched_prefix.map(|(address, len)| format!("{address}/{len}")),
                }
            }
            Err(error) => RouteLookupReport {
                query: query_text,
                at,
                answer: Err(error.to_string()),
                rule: None,
                table: None,
                matched_prefix: None,
            },
        }
    }
}

/// Where one target's route answers sit among the round's answers.
#[derive(Debug)]
struct Plan {
    first: usize,
    addresses: Vec<IpAddr>,
    to_nameserver: bool,
    no_lookup: Option<String>,
}

/// Judge every candidate address of a target and keep the one traffic would use:
/// the first whose kernel checks pass (IPv6 first, as Happy Eyeballs would try),
/// else the first, to report why it fails.
fn judge(
    state: &TargetState,
    plan: &Plan,
    answers: &[Result<RouteAnswer, LookupError>],
    context: &Context<'_>,
) -> Verdict {
    let probe = state.window.summary(state.target.probe.as_str());
    let mut verdicts = plan.addresses.iter().enumerate().map(|(offset, &address)| {
        let lookup = if plan.no_lookup.is_some() { None } else { answers.get(plan.first + offset) };
        let inputs = Inputs {
            target: &state.target,
            looked_up: Some(address),
            lookup,
            no_lookup: plan.no_lookup.as_deref(),
            previous_interface: state.previous_interface,
            name: &state.name,
            probe: probe.as_ref(),
            probe_failures: state.failures,
        };
        evaluate::evaluate(&inputs, context)
    });
    let Some(first) = verdicts.next() else {
        let inputs = Inputs {
            target: &state.target,
            looked_up: None,
            lookup: None,
            no_lookup: plan.no_lookup.as_deref().or(
                if plan.to_nameserver && matches!(state.name, NameCheck::Pending | NameCheck::Failed(_)) {
                    None
                } else {
                    Some("no address to look a route up for")
                },
            ),
            previous_interface: state.previous_interface,
            name: &state.name,
            probe: probe.as_ref(),
            probe_failures: state.failures,
        };
        return evaluate::evaluate(&inputs, context);
    };
    if first.status != PathStatus::Unsatisfied {
        return first;
    }
    verdicts.find(|verdict| verdict.status != PathStatus::Unsatisfied).unwrap_or(first)
}

fn satisfied_interface(verdict: Option<&Verdict>) -> Option<u32> {
    verdict.filter(|v| v.status == PathStatus::Satisfied).and_then(|v| v.interface_index)
}

fn is_default(target: &Target) -> bool {
    matches!(target.destination, TargetDestination::DefaultIpv4 | TargetDestination::DefaultIpv6)
}

fn default_targets() -> Vec<Target> {
    ["default-ipv4", "default-ipv6"].iter().filter_map(|text| text.parse().ok()).collect()
}

fn name_check(name: &str, answer: resolve::DualResolution) -> NameCheck {
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
        NameCheck::Failed(format!("{name} has no A or AAAA record"))
    } else {
        NameCheck::Failed(format!("{name} did not resolve: {}", errors.join("; ")))
    }
}

fn race_error(attempts: &[ConnectAttempt]) -> String {
    let failed: Vec<String> = attempts
        .iter()
        .filter(|attempt| attempt.outcome != crate::model::AttemptOutcome::NotStarted)
        .map(|attempt| format!("{} {}", attempt.address, attempt.outcome.as_str()))
        .collect();
    if failed.is_empty() { "no address to connect to".to_owned() } else { failed.join(", ") }
}

/// The answer as `ip route get` prints it.
fn ip_route_get(destination: IpAddr, answer: &RouteAnswer) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    if answer.route_type != RouteType::Unicast {
        let _ = write!(text, "{} ", answer.route_type.as_str());
    }
    let _ = write!(text, "{destination}");
    if let Some(gateway) = answer.gateway {
        let _ = write!(text, " via {gateway}");
    }
    match (&answer.interface, answer.interface_index) {
        (Some(name), _) => {
            let _ = write!(text, " dev {name}");
        }
        (None, Some(index)) => {
            let _ = write!(text, " dev #{index}");
        }
        (None, None) => {}
    }
    let _ = write!(text, " table {}", crate::model::Route::table_name(answer.table));
    if let Some(source) = answer.source {
        let _ = write!(text, " src {source}");
    }
    if let Some(mark) = answer.mark.filter(|mark| *mark != 0) {
        let _ = write!(text, " mark {mark:#x}");
    }
    if let Some(metric) = answer.metric {
        let _ = write!(text, " metric {metric}");
    }
    text
}

/// The nameservers glibc would use per the resolv.conf at `path`, without repeats;
/// none when it cannot be read.
fn read_nameservers(path: &std::path::Path) -> Vec<IpAddr> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut servers =
        crate::dns::config::parse_resolv_conf(&path.display().to_string(), &text).config.nameservers;
    let mut seen = Vec::with_capacity(servers.len());
    servers.retain(|server| {
        let new = !seen.contains(server);
        seen.push(*server);
        new
    });
    servers
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}
