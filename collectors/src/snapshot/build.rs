//! Building the document from the store.

use super::connections::{ConnectionDoc, ordered};
use super::{DnsSection, InterfaceDoc, InterfaceRatesDoc, SCHEMA_VERSION, Snapshot, SystemSummary};
use crate::Store;
use crate::model::Timestamp;

impl Snapshot {
    /// The snapshot of `store` taken at `taken_at`.
    #[must_use]
    pub fn from_store(store: &Store, taken_at: Timestamp) -> Self {
        let system = store.system();
        Self {
            schema_version: SCHEMA_VERSION,
            netlens_version: env!("CARGO_PKG_VERSION").to_owned(),
            taken_at,
            host: system.host.clone(),
            system: SystemSummary::from(system),
            sources: store.sources().cloned().collect(),
            interfaces: store
                .interfaces()
                .map(|entry| InterfaceDoc {
                    interface: entry.info.clone(),
                    rates: entry.rates.map(InterfaceRatesDoc::from),
                    first_seen: entry.first_seen,
                })
                .collect(),
            routes: store.routes().to_vec(),
            rules: store.rules().to_vec(),
            neighbors: store.neighbors().to_vec(),
            paths: store.paths().to_vec(),
            dns: DnsSection::new(store),
            connections: ordered(store).into_iter().map(|entry| ConnectionDoc::new(store, entry)).collect(),
            events: store.timeline().iter().cloned().collect(),
        }
    }
}
