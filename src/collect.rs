//! Starting the collector sources the settings ask for.

use std::path::PathBuf;
use std::time::Duration;

use netlens_collectors::attribution::cgroup::CgroupRoot;
use netlens_collectors::attribution::reader::AttributionSource;
use netlens_collectors::attribution::{self, Availability};
use netlens_collectors::capture::{CaptureConfig, CaptureSource};
use netlens_collectors::connections::watch as socket_watch;
use netlens_collectors::connections::{ConnectionsConfig, ConnectionsSource};
use netlens_collectors::demo::DemoSource;
use netlens_collectors::dns::capture::{DnsCaptureConfig, DnsCaptureSource};
use netlens_collectors::dns::shared::ResolverView;
use netlens_collectors::dns::source::{DnsConfig, DnsHandle, dns};
use netlens_collectors::interfaces::{Backend, InterfacesConfig, InterfacesSource};
use netlens_collectors::kernel::KernelSource;
use netlens_collectors::kernel_view::{KernelView, KernelViewConfig};
use netlens_collectors::model::{SourceId, SourceState, SourceStatus};
use netlens_collectors::names::{NameRequests, ReverseDnsConfig, reverse_dns};
use netlens_collectors::paths::source::{PathsHandle, paths};
use netlens_collectors::source::spawn_supervised;
use netlens_collectors::system::SystemSource;
use netlens_collectors::{Event, Payload};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cli::Command;
use crate::config::Settings;

/// Events buffered between the sources and the app task before sources wait.
const CHANNEL_CAPACITY: usize = 1024;

/// Which sources to run beyond the always-on ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The TUI: everything, including reverse DNS for what is on screen.
    Interactive,
    /// A headless snapshot: no reverse DNS (nothing is on screen to name).
    Snapshot,
}

/// The running sources and the receiving end of their events.
pub struct Collectors {
    /// Events from every source, in arrival order.
    pub events: mpsc::Receiver<Event>,
    /// Where to ask for reverse-DNS names, when that source runs.
    pub names: Option<NameRequests>,
    /// Where to send path targets and route lookups, when the paths source runs.
    pub paths: Option<PathsHandle>,
    /// Where to ask for traces and send target names, when the DNS source runs.
    pub dns: Option<DnsHandle>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Collectors {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The socket watch's marks ring for this run, or `None` where sockets are not
/// watched (the demo, the one-shot commands): only then is the BPF socket watch loaded.
/// The daemon's is a quarter of the TUI's, 128 KiB (2,048 sockets changing in one
/// refresh before that refresh walks them all): mapped twice, the ring counts twice in
/// its resident size, whose budget is 15 MB.
#[must_use]
pub fn socket_watch_ring(settings: &Settings, command: Option<&Command>) -> Option<u32> {
    if settings.demo {
        return None;
    }
    match command {
        None | Some(Command::Snapshot(_) | Command::Doctor(_) | Command::Record(_)) => {
            Some(socket_watch::MARKS_RING_BYTES)
        }
        Some(Command::Daemon(_)) => Some(socket_watch::MARKS_RING_BYTES / 4),
        Some(_) => None,
    }
}

/// Whether this run shows or keeps who owns each socket: only then are the BPF
/// attribution programs loaded.
#[must_use]
pub fn wants_attribution(settings: &Settings, command: Option<&Command>) -> bool {
    !settings.demo
        && match command {
            None | Some(Command::Snapshot(_) | Command::Doctor(_) | Command::Record(_)) => true,
            // The metrics carry no process; only a journal keeps who owned what (and
            // the ring and programs cost the daemon a megabyte it need not hold).
            Some(Command::Daemon(args)) => args.record.is_some(),
            Some(_) => false,
        }
}

/// The cgroup v2 root, found and opened (before `--netns` hides it).
pub fn find_cgroup_root() -> std::io::Result<CgroupRoot> {
    CgroupRoot::find()
}

/// Load and attach the BPF attribution programs, synchronously (before the runtime),
/// and install the outcome for [`start`]; `None` (not wanted) installs nothing.
/// Returns why BPF is unavailable, for the log (which starts later, after the
/// capability drop).
pub fn load_attribution(root: Option<std::io::Result<CgroupRoot>>) -> Option<String> {
    let availability = attribution::load(root?);
    let why = match &availability {
        Availability::Unavailable(why) => Some(why.clone()),
        Availability::Attached(_) => None,
    };
    attribution::install(availability);
    why
}

/// Load the BPF socket watch (the connections source then reads only the TCP
/// sockets that changed), synchronously and while privileged, and install it; only
/// where sockets are watched, with `ring` bytes for its marks
/// ([`socket_watch_ring`]). Returns why it is unavailable, for the log.
pub fn load_socket_watch(ring: Option<u32>) -> Option<String> {
    let watch = socket_watch::load(ring?);
    let why = watch.as_ref().err().cloned();
    socket_watch::install(watch);
    why
}

/// Start the sources on the current runtime, sampling every `refresh`.
pub fn start(settings: &Settings, refresh: Duration, purpose: Purpose) -> Collectors {
    let (tx, events) = mpsc::channel(CHANNEL_CAPACITY);
    let mut tasks = Vec::new();
    let mut names = None;
    if settings.demo {
        tasks.push(spawn_supervised(DemoSource::new(refresh), tx));
        return Collectors { events, names, paths: None, dns: None, tasks };
    }
    // The process's one rtnetlink subscription and dump path, and its one resolver
    // configuration: every source below reads these, none opens its own.
    let mut fallback_reason = settings.netlink_off_reason.clone();
    let kernel = if settings.netlink {
        KernelView::start(KernelViewConfig::default())
            .inspect_err(|error| {
                tracing::warn!(%error, "rtnetlink unavailable; using the portable fallback");
                fallback_reason = Some(format!("rtnetlink unavailable ({error})"));
            })
            .ok()
    } else {
        None
    };
    let dns_config = DnsConfig {
        targets: settings.paths_config().targets.iter().filter_map(target_name).collect(),
        target_interval: settings.probe_interval,
        ..DnsConfig::default()
    };
    let resolver = ResolverView::start(dns_config.files.clone(), dns_config.poll_interval);
    let interfaces = InterfacesConfig {
        backend: if kernel.is_some() { Backend::Netlink } else { Backend::Portable },
        refresh,
        debounce: settings.debounce,
        receive_buffer: None,
        fallback_reason: fallback_reason.clone(),
    };
    let mut interfaces = InterfacesSource::new(interfaces);
    if let Some(kernel) = &kernel {
        interfaces = interfaces.with_kernel(kernel.clone());
    }
    tasks.push(spawn_supervised(interfaces, tx.clone()));
    tasks.push(spawn_supervised(SystemSource::new(refresh, settings.netns.clone()), tx.clone()));
    // Every second refresh (2 s by default): a reading costs about 0.65 ms, mostly the
    // kernel formatting its tables, so reading every second would take 0.066 % of a
    // core against a budget of 0.05 % (examples/kernel_source_cpu.rs); the rules'
    // debounces are seconds, and rates over 2 s say the same.
    tasks.push(spawn_supervised(KernelSource::new(refresh * 2), tx.clone()));
    // Route lookups need rtnetlink: with the portable fallback there are no paths.
    let paths_handle = if let Some(kernel) = &kernel {
        let (handle, source) = paths(settings.paths_config());
        let source = source.with_kernel(kernel.clone()).with_resolver(resolver.clone());
        tasks.push(spawn_supervised(source, tx.clone()));
        Some(handle)
    } else {
        let reason = fallback_reason.as_deref().unwrap_or("netlink is off");
        let status = SourceStatus {
            name: SourceId::Paths,
            status: SourceState::Off,
            detail: format!("route lookups need rtnetlink ({reason})"),
        };
        // The channel is empty at this point, so this cannot fail for lack of room.
        let _ = tx.try_send(Event::now(SourceId::Paths, Payload::Status(status)));
        None
    };
    // The BPF owner book, loaded before the runtime (`load_attribution`): its source
    // reads the ring and reports the status; connections and the DNS capture join it.
    let availability = attribution::installed().cloned();
    if let Some(availability) = &availability {
        tasks.push(spawn_supervised(AttributionSource::new(availability.clone()), tx.clone()));
    }
    let connections = ConnectionsConfig {
        refresh,
        proc_root: PathBuf::from("/proc"),
        route_generation: kernel.clone(),
        attribution: availability.as_ref().and_then(Availability::attribution),
        watch: socket_watch::installed(),
        ..ConnectionsConfig::default()
    };
    tasks.push(spawn_supervised(ConnectionsSource::new(connections), tx.clone()));
    if settings.capture {
        let capture = CaptureConfig { interval: refresh, ..CaptureConfig::default() };
        let mut source = CaptureSource::new(capture);
        if let Some(kernel) = &kernel {
            source = source.with_kernel(kernel.clone());
        }
        tasks.push(spawn_supervised(source, tx.clone()));
    }
    let (dns_handle, dns_source) = dns(dns_config);
    let mut dns_source = dns_source.with_resolver(resolver.clone());
    let mut dns_capture = DnsCaptureSource::new(DnsCaptureConfig::default());
    if let Some(kernel) = kernel {
        dns_capture = dns_capture.with_kernel(kernel.clone());
        dns_source = dns_source.with_kernel(kernel);
    }
    tasks.push(spawn_supervised(dns_source, tx.clone()));
    if settings.capture {
        tasks.push(spawn_supervised(dns_capture, tx.clone()));
    }
    if settings.reverse_dns && purpose == Purpose::Interactive {
        let (requests, source) = reverse_dns(ReverseDnsConfig::default(), resolver.clone());
        tasks.push(spawn_supervised(source, tx));
        names = Some(requests);
    }
    Collectors { events, names, paths: paths_handle, dns: Some(dns_handle), tasks }
}

/// The host name of a path target, which the DNS source traces on the probe schedule.
#[must_use]
pub fn target_name(target: &netlens_collectors::paths::target::Target) -> Option<String> {
    use netlens_collectors::paths::target::{Destination, TargetDestination};
    match &target.destination {
        TargetDestination::Host { destination: Destination::Name(name), .. } => Some(name.clone()),
        _ => None,
    }
}
