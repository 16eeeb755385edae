//! Domain types shared by the collectors, the store, the UI and the export.
//!
//! Every type here serialises to the field names of the export schema (DESIGN.md §4),
//! so the snapshot writer can serialise the model directly.

mod capture;
mod connection;
mod dns;
mod event;
mod finding;
mod flags;
mod interface;
mod kernel;
mod path;
mod route;
mod system;

pub use capture::{CaptureTotals, InterfaceCapture};
pub use connection::{
    Attribution, ClosedOwners, FlowBytes, FlowSample, ProcessInfo, Protocol, RouteMove, Socket, SocketMemory,
    SocketOrigin, SocketState, SocketTable, SocketTimer, TcpInfo, TimerKind,
};
pub use dns::{
    CaptureCounters, Dns64Report, DnsAnswer, DnsConfigReport, DnsQuery, DnsQueryBatch, DnsTrace,
    DnsTransport, HostsEntry, ResolverConfig, SystemAnswer, TraceOrigin, TraceStep,
};
pub use event::{Fold, FoldFrom, SourceId, SourceState, SourceStatus, TimelineEntry, TimelineKind};
pub use finding::{Evidence, Finding, Severity};
pub use flags::{AddressFlags, LinkFlags};
pub use interface::{
    AddressFamily, AddressScope, Interface, InterfaceAddress, InterfaceKind, InterfaceRates, InterfaceStats,
    OperState,
};
pub use kernel::{Conntrack, FileTable, KernelCounters, PortRange, PortUse, SoftnetCpu};
pub use path::{
    AttemptOutcome, CheckName, ConnectAttempt, PathCheck, PathReason, PathState, PathStatus, PathTransition,
    PendingStatus, ProbeSummary, RouteLookupReport, TunnelMode,
};
pub use route::{Neighbor, NeighborState, NetworkTable, Route, RouteType, Rule};
pub use system::{HostFacts, Landlock, Privileges, ProcessUsage, SystemFacts};

/// Wall-clock time of an event, always UTC.
pub type Timestamp = time::OffsetDateTime;
