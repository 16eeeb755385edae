//! The sort keys of the tables, and what every key says about itself.

/// A table's sort key: `s` steps to the next one, hints name it, and each key knows
/// which direction reads best.
pub trait SortKey: Copy + Eq + Default + std::fmt::Debug {
    /// The next key for `s`.
    #[must_use]
    fn next(self) -> Self;
    /// The key's name in hints.
    #[must_use]
    fn label(self) -> &'static str;
    /// Whether the key reads best largest first before `S` reverses it.
    #[must_use]
    fn descending_by_default(self) -> bool;
}

/// The one order of a list that is always newest first (the timeline, the DNS log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Newest;

impl SortKey for Newest {
    fn next(self) -> Self {
        self
    }
    fn label(self) -> &'static str {
        "newest first"
    }
    fn descending_by_default(self) -> bool {
        false
    }
}

/// Sort keys of the Interfaces table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InterfaceSort {
    /// Kernel index: the order interfaces were created.
    #[default]
    Index,
    /// Name.
    Name,
    /// Functional kind.
    Kind,
    /// Operational state, up first.
    State,
    /// MTU.
    Mtu,
    /// Receive rate, busiest first.
    Rx,
    /// Transmit rate, busiest first.
    Tx,
}

impl SortKey for InterfaceSort {
    /// The next key for `s`.
    fn next(self) -> Self {
        match self {
            Self::Index => Self::Name,
            Self::Name => Self::Kind,
            Self::Kind => Self::State,
            Self::State => Self::Mtu,
            Self::Mtu => Self::Rx,
            Self::Rx => Self::Tx,
            Self::Tx => Self::Index,
        }
    }

    /// The key's name in hints.
    fn label(self) -> &'static str {
        match self {
            Self::Index => "index",
            Self::Name => "name",
            Self::Kind => "kind",
            Self::State => "state",
            Self::Mtu => "mtu",
            Self::Rx => "rx",
            Self::Tx => "tx",
        }
    }

    /// Rates read best busiest first; everything else ascending.
    fn descending_by_default(self) -> bool {
        matches!(self, Self::Rx | Self::Tx)
    }
}

/// Sort keys of the routes inside each table on the Routes tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouteSort {
    /// The order the kernel listed them in.
    #[default]
    Kernel,
    /// Destination prefix.
    Destination,
    /// Gateway.
    Gateway,
    /// Output interface.
    Device,
    /// Metric (priority).
    Metric,
    /// Installing protocol.
    Protocol,
}

impl SortKey for RouteSort {
    /// The next key for `s`.
    fn next(self) -> Self {
        match self {
            Self::Kernel => Self::Destination,
            Self::Destination => Self::Gateway,
            Self::Gateway => Self::Device,
            Self::Device => Self::Metric,
            Self::Metric => Self::Protocol,
            Self::Protocol => Self::Kernel,
        }
    }

    /// The key's name in hints.
    fn label(self) -> &'static str {
        match self {
            Self::Kernel => "kernel order",
            Self::Destination => "destination",
            Self::Gateway => "gateway",
            Self::Device => "device",
            Self::Metric => "metric",
            Self::Protocol => "protocol",
        }
    }

    /// Routes read in the kernel's direction: ascending.
    fn descending_by_default(self) -> bool {
        false
    }
}

/// Sort keys of the Connections table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionSort {
    /// State: established first, then connecting, closing, listening, closed; within a
    /// state by process and peer, so the order holds still while counters move.
    #[default]
    State,
    /// Local address and port.
    Local,
    /// Remote address and port.
    Remote,
    /// Owning process name, unknown owners last.
    Process,
    /// Receive rate, busiest first.
    Rx,
    /// Transmit rate, busiest first.
    Tx,
    /// Smoothed RTT, slowest first.
    Rtt,
    /// Retransmitted segments, most first.
    Retransmits,
    /// Age, oldest first.
    Age,
    /// Protocol, TCP first.
    Protocol,
}

impl SortKey for ConnectionSort {
    /// The next key for `s`, in column order.
    fn next(self) -> Self {
        match self {
            Self::State => Self::Local,
            Self::Local => Self::Remote,
            Self::Remote => Self::Process,
            Self::Process => Self::Rx,
            Self::Rx => Self::Tx,
            Self::Tx => Self::Rtt,
            Self::Rtt => Self::Retransmits,
            Self::Retransmits => Self::Age,
            Self::Age => Self::Protocol,
            Self::Protocol => Self::State,
        }
    }

    /// The key's name in hints.
    fn label(self) -> &'static str {
        match self {
            Self::State => "state",
            Self::Local => "local",
            Self::Remote => "remote",
            Self::Process => "process",
            Self::Rx => "rx",
            Self::Tx => "tx",
            Self::Rtt => "rtt",
            Self::Retransmits => "retransmits",
            Self::Age => "age",
            Self::Protocol => "protocol",
        }
    }

    /// Measures read best largest first; everything else ascending.
    fn descending_by_default(self) -> bool {
        matches!(self, Self::Rx | Self::Tx | Self::Rtt | Self::Retransmits | Self::Age)
    }
}

/// Sort keys of the Paths table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathSort {
    /// As configured: the default paths first, then user targets in the order given.
    #[default]
    Configured,
    /// Target text.
    Target,
    /// Status: unsatisfied first, then failing, then satisfied.
    Status,
    /// Output interface.
    Interface,
    /// Probe round-trip time, slowest first.
    Rtt,
    /// Probe loss, most first.
    Loss,
    /// Time in the current status, longest first.
    Since,
}

impl SortKey for PathSort {
    /// The next key for `s`, in column order.
    fn next(self) -> Self {
        match self {
            Self::Configured => Self::Target,
            Self::Target => Self::Status,
            Self::Status => Self::Interface,
            Self::Interface => Self::Rtt,
            Self::Rtt => Self::Loss,
            Self::Loss => Self::Since,
            Self::Since => Self::Configured,
        }
    }

    /// The key's name in hints.
    fn label(self) -> &'static str {
        match self {
            Self::Configured => "configured",
            Self::Target => "target",
            Self::Status => "status",
            Self::Interface => "interface",
            Self::Rtt => "rtt",
            Self::Loss => "loss",
            Self::Since => "time in state",
        }
    }

    /// Measures read best largest first; everything else ascending.
    fn descending_by_default(self) -> bool {
        matches!(self, Self::Rtt | Self::Loss | Self::Since)
    }
}
