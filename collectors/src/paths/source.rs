//! The paths source: evaluates every target when the network changes and on the probe
//! schedule, debounces status changes, and sends the whole path table after each round.
//!
//! It reads the process's kernel view ([`KernelView`]) rather than waiting for the
//! interfaces source's debounced table, so a change reaches a verdict within the
//! view's coalescing window of the notification; only the status *transition* then
//! waits for the debounce. Names are judged against the process's one resolver
//! configuration ([`ResolverView`]), so a `resolv.conf` change reaches the verdicts
//! as soon as the DNS tab sees it. Nothing here sends a packet unless a user target
//! asks for a probe (DESIGN.md §1 note 9): route lookups and dumps are local
//! questions to the kernel.
//!
//! [`round`] judges, [`tasks`] resolves and probes, [`answer`] serves the interactive
//! route lookup; every target has a [`TargetId`] that its in-flight work reports to.

mod answer;
mod names;
mod round;
mod target_state;
mod tasks;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::dns::files::ResolverFiles;
use crate::dns::shared::ResolverView;
use crate::event::{Notice, Payload};
use crate::kernel_view::{KernelView, KernelViewConfig, NetworkView};
use crate::model::{PathState, SourceId, SourceState, TimelineKind};
use crate::source::{EventSink, Source, SourceError};

use super::query::LookupRequest;
use super::target::{ProbeKind, Target, TargetDestination};
use names::Names;
use target_state::{NameOutcome, ProbeOutcome, TargetId, TargetState};

/// How the paths source behaves.
#[derive(Debug, Clone)]
pub struct PathsConfig {
    /// User targets, in the order given (the default paths always come first).
    pub targets: Vec<Target>,
    /// How long a new status must hold before it is committed.
    pub debounce: Duration,
    /// Time between probes of one target while it answers, and the first wait after
    /// a failed one; the wait then doubles with each failure ([`super::schedule`]).
    pub probe_interval: Duration,
    /// The longest wait between probes of a failing target.
    pub backoff_max: Duration,
    /// How long one probe (or one Happy Eyeballs race) may take.
    pub probe_timeout: Duration,
    /// How often names are resolved again while nothing changes.
    pub resolve_interval: Duration,
    /// Interfaces the user marks as expensive (metered).
    pub expensive: Vec<String>,
    /// Interfaces the user marks as constrained.
    pub constrained: Vec<String>,
    /// Resolve names with this server instead of the system configuration.
    pub nameserver: Option<SocketAddr>,
    /// The resolver files read for nameservers when no shared resolver
    /// configuration is given ([`PathsSource::with_resolver`]).
    pub resolver_files: ResolverFiles,
    /// The port nameservers listen on (53; tests use others).
    pub dns_port: u16,
}

impl Default for PathsConfig {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            debounce: Duration::from_secs(1),
            probe_interval: Duration::from_secs(5),
            backoff_max: super::schedule::BACKOFF_MAX,
            probe_timeout: Duration::from_secs(2),
            resolve_interval: Duration::from_secs(60),
            expensive: Vec::new(),
            constrained: Vec::new(),
            nameserver: None,
            resolver_files: ResolverFiles::default(),
            dns_port: 53,
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
/// A network change re-resolves names, but not more often than this.
const MIN_RESOLVE_GAP: Duration = Duration::from_secs(5);
/// "Probe now" is rate-limited too.
const MIN_PROBE_GAP: Duration = Duration::from_secs(1);

/// Create the source and the handle to control it.
#[must_use]
pub fn paths(config: PathsConfig) -> (PathsHandle, PathsSource) {
    let (tx, rx) = mpsc::channel(CONTROL_CAPACITY);
    (PathsHandle { tx }, PathsSource { config, control: rx, kernel: None, resolver: None })
}

/// The paths source; see the module docs.
#[derive(Debug)]
pub struct PathsSource {
    config: PathsConfig,
    control: mpsc::Receiver<PathsControl>,
    kernel: Option<KernelView>,
    resolver: Option<ResolverView>,
}

impl PathsSource {
    /// Read the network from the process's shared kernel view (without it the
    /// source starts a view of its own when it runs).
    #[must_use]
    pub fn with_kernel(mut self, kernel: KernelView) -> Self {
        self.kernel = Some(kernel);
        self
    }

    /// Judge names with the process's shared resolver configuration (without it
    /// the source reads and watches [`PathsConfig::resolver_files`] itself).
    #[must_use]
    pub fn with_resolver(mut self, resolver: ResolverView) -> Self {
        self.resolver = Some(resolver);
        self
    }
}

/// The kernel view and resolver configuration to use: the shared ones, or new
/// (`watch`: the resolver files are watched; a one-shot evaluation reads them once).
fn views(
    config: &PathsConfig,
    kernel: Option<&KernelView>,
    resolver: Option<&ResolverView>,
    watch: bool,
) -> Result<(KernelView, Names), SourceError> {
    let kernel = match kernel {
        Some(kernel) => kernel.clone(),
        None => KernelView::start(KernelViewConfig::default())
            .map_err(|error| SourceError::io("subscribing to rtnetlink for path changes", error))?,
    };
    let names = match config.nameserver {
        Some(server) => names::fixed(server, config.probe_timeout),
        None => Names::Shared {
            view: resolver.cloned().unwrap_or_else(|| {
                if watch {
                    ResolverView::start(config.resolver_files.clone(), Duration::from_secs(5))
                } else {
                    ResolverView::once(config.resolver_files.clone())
                }
            }),
            port: config.dns_port,
        },
    };
    Ok((kernel, names))
}

impl Source for PathsSource {
    fn id(&self) -> SourceId {
        SourceId::Paths
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        let (kernel, names) = views(&self.config, self.kernel.as_ref(), self.resolver.as_ref(), true)?;
        let mut paths = Evaluator::new(&self.config, kernel, names);
        sink.status(SourceState::Ok, paths.status_detail()).await?;
        paths.run(&mut self.control, sink).await
    }
}

/// Evaluate `config`'s targets once — resolving names, running the probes and Happy
/// Eyeballs races they ask for — and return the paths (for `netlens path`).
///
/// # Errors
/// When rtnetlink cannot be opened.
pub async fn evaluate_once(config: &PathsConfig) -> Result<Vec<PathState>, SourceError> {
    let (kernel, names) = views(config, None, None, false)?;
    let mut paths = Evaluator::new(config, kernel, names);
    paths.view = paths.kernel.first().await?;
    for id in paths.ids() {
        paths.spawn_resolve(id);
    }
    while let Some(done) = paths.resolving.join_next().await {
        if let Ok((id, outcome)) = done {
            paths.record_resolution(id, outcome);
        }
    }
    paths.round(Instant::now()).await?;
    paths.probe_due_targets(Instant::now());
    while let Some(done) = paths.probing.join_next().await {
        if let Ok((id, outcome)) = done {
            paths.record_probe(id, outcome);
        }
    }
    // The same rounds, tracker and table as the live source: a target's first
    // settled verdict is its committed status (nothing to debounce it against), so
    // `netlens path` and the Paths tab judge one state alike. The notices have
    // nowhere to go.
    paths.round(Instant::now()).await?;
    Ok(paths.table())
}

/// The evaluation state shared by the live source and the one-shot evaluation.
struct Evaluator {
    config: PathsConfig,
    kernel: KernelView,
    view: Arc<NetworkView>,
    names: Names,
    nameservers: Vec<std::net::IpAddr>,
    /// The servers DNS availability is judged by ([`Names::availability_servers`]).
    dns_servers: Vec<std::net::IpAddr>,
    targets: Vec<TargetState>,
    next_id: u64,
    resolving: JoinSet<(TargetId, NameOutcome)>,
    probing: JoinSet<(TargetId, ProbeOutcome)>,
    /// A nameserver is configured and the kernel checks pass on the way to one (last round).
    dns: bool,
}

impl Evaluator {
    fn new(config: &PathsConfig, kernel: KernelView, names: Names) -> Self {
        let now = Instant::now();
        let mut paths = Self {
            config: config.clone(),
            view: kernel.current(),
            kernel,
            nameservers: names.nameservers(),
            dns_servers: names.availability_servers(),
            names,
            targets: Vec::new(),
            next_id: 0,
            resolving: JoinSet::new(),
            probing: JoinSet::new(),
            dns: false,
        };
        for target in default_targets().into_iter().chain(config.targets.iter().cloned()) {
            if !paths.targets.iter().any(|known| known.target.text == target.text) {
                paths.add_target(target, now);
            }
        }
        paths
    }

    /// Add a target under a new id.
    fn add_target(&mut self, target: Target, now: Instant) -> TargetId {
        self.next_id += 1;
        let id = TargetId(self.next_id);
        self.targets.push(TargetState::new(id, target, now));
        id
    }

    fn ids(&self) -> Vec<TargetId> {
        self.targets.iter().map(|state| state.id).collect()
    }

    /// The source's status line, counting the targets it holds now (sent again
    /// whenever a target is added or removed).
    fn status_detail(&self) -> String {
        let user = self.targets.iter().filter(|t| !is_default(&t.target)).count();
        let probed = self.targets.iter().filter(|t| t.target.probe != ProbeKind::None).count();
        format!(
            "route lookups on every network change; {user} user {}, {probed} probed",
            if user == 1 { "target" } else { "targets" }
        )
    }

    /// Start the probes that are due; a due probe of a path the kernel refuses is
    /// recorded as not sent (returns whether any was, so the caller publishes it).
    fn probe_due_targets(&mut self, now: Instant) -> bool {
        let mut blocked = false;
        for id in self.ids() {
            let Some(state) = self.targets.iter_mut().find(|state| state.id == id) else { continue };
            if !state.probe_due(now) {
                continue;
            }
            if state.kernel_ok {
                self.spawn_probe(id, now);
            } else {
                blocked |= self.record_blocked(id, now);
            }
        }
        blocked
    }

    async fn run(
        &mut self,
        control: &mut mpsc::Receiver<PathsControl>,
        sink: &EventSink,
    ) -> Result<(), SourceError> {
        let mut views = self.kernel.subscribe();
        let mut resolver = match &self.names {
            Names::Shared { view, .. } => Some(view.subscribe()),
            Names::Fixed { .. } => None,
        };
        self.view = self.kernel.first().await?;
        views.mark_unchanged();
        for id in self.ids() {
            self.spawn_resolve(id);
        }
        self.round_and_send(sink).await?;
        // Without a handle (a one-way setup), the source simply runs on.
        let mut control_open = true;
        loop {
            let next_probe = self.next_probe();
            let next_commit = self.next_commit();
            let next_resolve = self.next_resolve();
            tokio::select! {
                changed = views.changed() => {
                    changed.map_err(|_| SourceError::Other("the kernel view stopped".to_owned()))?;
                    let view = Arc::clone(&views.borrow_and_update());
                    if let Some(failure) = &view.failure {
                        return Err(SourceError::Other(failure.clone()));
                    }
                    // The debounce runs from the change, not from when it was judged.
                    let since = view.changed_at.unwrap_or_else(Instant::now);
                    self.view = view;
                    self.resolve_after_change(Instant::now());
                    self.round_and_send_at(sink, since).await?;
                }
                changed = wait_resolver(resolver.as_mut()), if resolver.is_some() => {
                    if changed.is_err() {
                        resolver = None;
                        continue;
                    }
                    // Another nameserver (or search list): judge and resolve with it now.
                    self.nameservers = self.names.nameservers();
                    self.dns_servers = self.names.availability_servers();
                    for state in &mut self.targets {
                        state.resolved_at = None;
                        state.resolve_again = state.resolving;
                    }
                    for id in self.ids() {
                        self.spawn_resolve(id);
                    }
                    self.round_and_send(sink).await?;
                }
                () = sleep_until(next_commit), if next_commit.is_some() => {
                    let now = Instant::now();
                    let debounce = self.config.debounce;
                    let notices: Vec<Notice> =
                        self.targets.iter_mut().filter_map(|t| t.tracker.tick(now.into_std(), debounce)).collect();
                    sink.notices(notices).await?;
                    sink.send(Payload::Paths(self.table())).await?;
                }
                () = sleep_until(next_probe), if next_probe.is_some() => {
                    if self.probe_due_targets(Instant::now()) {
                        self.round_and_send(sink).await?;
                    }
                }
                () = sleep_until(next_resolve), if next_resolve.is_some() => {
                    let now = Instant::now();
                    for id in self.ids() {
                        if self.resolve_due(id, now) {
                            self.spawn_resolve(id);
                        }
                    }
                }
                Some(done) = self.probing.join_next(), if !self.probing.is_empty() => {
                    if let Ok((id, outcome)) = done {
                        self.record_probe(id, outcome);
                        self.round_and_send(sink).await?;
                    }
                }
                Some(done) = self.resolving.join_next(), if !self.resolving.is_empty() => {
                    if let Ok((id, outcome)) = done
                        && self.record_resolution(id, outcome)
                    {
                        if let Some(state) = self.targets.iter_mut().find(|state| state.id == id)
                            && std::mem::take(&mut state.resolve_again)
                        {
                            self.spawn_resolve(id);
                        }
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
                let id = self.add_target(target, now);
                self.spawn_resolve(id);
                sink.notices(vec![Notice::new(
                    TimelineKind::Notice,
                    text.clone(),
                    format!("path target {text} added"),
                )])
                .await?;
                sink.status(SourceState::Ok, self.status_detail()).await?;
            }
            PathsControl::Remove(text) => {
                let before = self.targets.len();
                // In-flight results carry the removed target's id: they find no
                // target when they finish, and are dropped.
                self.targets.retain(|known| known.target.text != text || is_default(&known.target));
                if self.targets.len() != before {
                    sink.notices(vec![Notice::new(
                        TimelineKind::Notice,
                        text.clone(),
                        format!("path target {text} removed"),
                    )])
                    .await?;
                    sink.status(SourceState::Ok, self.status_detail()).await?;
                }
            }
            PathsControl::ProbeNow(text) => {
                if let Some(state) = self.targets.iter_mut().find(|known| known.target.text == text) {
                    let id = state.id;
                    let recent =
                        state.last_probe.is_some_and(|last| now.duration_since(last) < MIN_PROBE_GAP);
                    if !recent {
                        // The user asks: the backoff starts over.
                        state.backoff = 0;
                        state.next_probe = now;
                    }
                    if state.probe_due(now) && state.kernel_ok {
                        self.spawn_probe(id, now);
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

    async fn round_and_send(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        self.round_and_send_at(sink, Instant::now()).await
    }

    /// A round whose changes count from `since` (the first notification behind it).
    async fn round_and_send_at(&mut self, sink: &EventSink, since: Instant) -> Result<(), SourceError> {
        let notices = self.round(since).await?;
        sink.notices(notices).await?;
        sink.send(Payload::Paths(self.table())).await?;
        Ok(())
    }
}

fn is_default(target: &Target) -> bool {
    matches!(target.destination, TargetDestination::DefaultIpv4 | TargetDestination::DefaultIpv6)
}

fn default_targets() -> Vec<Target> {
    ["default-ipv4", "default-ipv6"].iter().filter_map(|text| text.parse().ok()).collect()
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

async fn wait_resolver(
    resolver: Option<&mut tokio::sync::watch::Receiver<Arc<crate::dns::shared::ResolverSnapshot>>>,
) -> Result<(), tokio::sync::watch::error::RecvError> {
    match resolver {
        Some(resolver) => resolver.changed().await,
        None => std::future::pending().await,
    }
}
