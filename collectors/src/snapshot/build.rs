//! Building the document from the store.

use super::{Snapshot, SnapshotCapture};
use crate::Store;
use crate::model::Timestamp;

impl Snapshot {
    /// The snapshot of `store` taken at `taken_at`.
    #[must_use]
    pub fn from_store(store: &Store, taken_at: Timestamp) -> Self {
        SnapshotCapture::take(store, taken_at).into_snapshot()
    }
}
