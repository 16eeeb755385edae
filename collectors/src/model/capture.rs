//! The kernel's counters of the packet capture: what passed each ring's filter and
//! what the kernel dropped because the ring was full (`PACKET_STATISTICS`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Packets and kernel drops of the packet capture since it started, in total and per
/// interface captured now. The totals also hold interfaces no longer captured.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct CaptureTotals {
    /// Packets that passed the capture's socket filter (DNS, and UDP headers), those
    /// dropped included: the kernel's `tp_packets`.
    pub packets: u64,
    /// Packets the kernel dropped because the capture's ring was full: `tp_drops`.
    pub dropped: u64,
    /// The interfaces captured now, by name.
    pub interfaces: Vec<InterfaceCapture>,
}

/// The counters of one interface's capture ring.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct InterfaceCapture {
    /// Interface name.
    pub name: String,
    /// Packets that passed the filter, dropped ones included.
    pub packets: u64,
    /// Packets dropped: no room in the ring.
    pub dropped: u64,
}
