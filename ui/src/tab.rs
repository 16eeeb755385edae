//! The tabs, their titles and their order.

/// The tabs, in tab-bar order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Tab {
    /// Default routes, interface summary, latest events, sources and host facts.
    #[default]
    Overview,
    /// Every interface with its state, addresses and rates; Enter opens details.
    Interfaces,
    /// Every path target with its verdict, interface, gateway and probe; Enter opens
    /// its checks, probe history, Happy Eyeballs race and transitions.
    Paths,
    /// The resolver configuration with its warnings, per-server health, the live query
    /// log and the latest trace (`t`).
    Dns,
    /// Every socket with its state, peer, process, rates and TCP statistics.
    Connections,
    /// Routes by table, policy rules and neighbours.
    Routes,
    /// The event timeline, newest first.
    Events,
}

impl Tab {
    /// Every tab, in tab-bar order.
    pub const ALL: [Self; 7] = [
        Self::Overview,
        Self::Interfaces,
        Self::Paths,
        Self::Dns,
        Self::Connections,
        Self::Routes,
        Self::Events,
    ];

    /// The tab's title.
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            Self::Overview => "Overview",
            Self::Interfaces => "Interfaces",
            Self::Paths => "Paths",
            Self::Dns => "DNS",
            Self::Connections => "Connections",
            Self::Routes => "Routes",
            Self::Events => "Events",
        }
    }

    /// A shorter title for narrow terminals.
    #[must_use]
    pub const fn short_title(self) -> &'static str {
        match self {
            Self::Overview => "Over",
            Self::Interfaces => "Ifaces",
            Self::Paths => "Paths",
            Self::Dns => "DNS",
            Self::Connections => "Conns",
            Self::Routes => "Routes",
            Self::Events => "Events",
        }
    }

    /// Position in the tab bar, from 0.
    #[must_use]
    pub const fn position(self) -> usize {
        match self {
            Self::Overview => 0,
            Self::Interfaces => 1,
            Self::Paths => 2,
            Self::Dns => 3,
            Self::Connections => 4,
            Self::Routes => 5,
            Self::Events => 6,
        }
    }

    /// The name of the action that selects the tab (`tab_1` …), for hints that name
    /// its key as configured.
    #[must_use]
    pub const fn binding(self) -> &'static str {
        match self {
            Self::Overview => "tab_1",
            Self::Interfaces => "tab_2",
            Self::Paths => "tab_3",
            Self::Dns => "tab_4",
            Self::Connections => "tab_5",
            Self::Routes => "tab_6",
            Self::Events => "tab_7",
        }
    }

    /// The tab to the right, wrapping around.
    #[must_use]
    pub const fn next(self) -> Self {
        Self::ALL[(self.position() + 1) % Self::ALL.len()]
    }

    /// The tab to the left, wrapping around.
    #[must_use]
    pub const fn previous(self) -> Self {
        Self::ALL[(self.position() + Self::ALL.len() - 1) % Self::ALL.len()]
    }

    /// Whether the tab holds a table that `/`, `s` and `S` act on.
    #[must_use]
    pub const fn has_table(self) -> bool {
        !matches!(self, Self::Overview)
    }
}
