//! The colours of domain states, shared by the tables, previews and details views:
//! an interface's operational state and addresses, a socket's state, a path's verdict
//! and loss.

use netlens_collectors::ConnectionEntry;
use netlens_collectors::model::{
    AddressFlags, InterfaceAddress, NeighborState, OperState, PathStatus, SocketState,
};
use netlens_collectors::store::SLOW_QUERY_MS;
use ratatui::style::Style;

use crate::theme::Theme;

/// The colour of an operational state.
pub(crate) const fn oper_state_style(theme: &Theme, state: OperState) -> Style {
    match state {
        OperState::Up => theme.ok(),
        OperState::Down | OperState::LowerLayerDown | OperState::NotPresent => theme.error(),
        OperState::Dormant | OperState::Testing => theme.warn(),
        OperState::Unknown => theme.text(),
    }
}

/// The colour of an address: unusable ones stand out.
pub(crate) fn address_style(theme: &Theme, address: &InterfaceAddress) -> Style {
    if address.flags.contains(AddressFlags::DADFAILED) {
        theme.error()
    } else if address.flags.contains(AddressFlags::TENTATIVE) {
        theme.warn()
    } else if address.flags.contains(AddressFlags::DEPRECATED) {
        theme.muted()
    } else {
        theme.text()
    }
}

/// The style of a connection's state: listening, established, connecting and closing
/// read differently at a glance; closed ones are dimmed.
pub(crate) const fn socket_state_style(theme: &Theme, entry: &ConnectionEntry) -> Style {
    if entry.closed_at.is_some() {
        return theme.closed();
    }
    match entry.socket.state {
        SocketState::Established => theme.established(),
        SocketState::Listen | SocketState::Unconnected | SocketState::BoundInactive => theme.listening(),
        SocketState::SynSent | SocketState::SynRecv | SocketState::NewSynRecv => theme.connecting(),
        _ => theme.closing(),
    }
}

/// The colour of a verdict.
pub(crate) const fn status_style(theme: &Theme, status: PathStatus) -> Style {
    match status {
        PathStatus::Satisfied => theme.ok(),
        PathStatus::Unsatisfied => theme.error(),
        PathStatus::Failing => theme.warn(),
    }
}

/// The colour of a loss percentage: none is quiet, some needs a look, most is broken.
pub(crate) const fn loss_style(theme: &Theme, loss: f64) -> Style {
    if loss >= 50.0 {
        theme.error()
    } else if loss > 0.0 {
        theme.warn()
    } else {
        theme.muted()
    }
}
pub(crate) const fn neighbor_style(theme: &Theme, state: NeighborState) -> Style {
    match state {
        NeighborState::Failed | NeighborState::Incomplete => theme.error(),
        NeighborState::Stale | NeighborState::Delay | NeighborState::Probe => theme.warn(),
        NeighborState::Reachable | NeighborState::Permanent | NeighborState::Noarp => theme.ok(),
        NeighborState::None => theme.muted(),
    }
}

/// The colour of a latency: slow is worth a look.
pub(crate) const fn latency_style(theme: &Theme, ms: Option<f64>) -> Style {
    match ms {
        Some(ms) if ms > SLOW_QUERY_MS => theme.warn(),
        Some(_) => theme.text(),
        None => theme.muted(),
    }
}
