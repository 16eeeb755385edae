//! The capture's kernel counters in the store: the last totals the capture source sent.
//! `None` until a capture runs (no `CAP_NET_RAW`, or capture turned off): the snapshot
//! then writes `capture: null`, as it does for other sources without their privilege.

use super::Store;
use crate::model::CaptureTotals;

impl Store {
    /// The capture rings' packet and drop counters, when a capture runs.
    #[must_use]
    pub const fn capture(&self) -> Option<&CaptureTotals> {
        self.capture.as_ref()
    }

    /// Take in the latest totals (they are cumulative: the last one is the truth).
    pub(super) fn apply_capture(&mut self, totals: CaptureTotals) {
        self.capture = Some(totals);
    }
}
