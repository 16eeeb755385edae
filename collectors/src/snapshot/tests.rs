use super::*;
use crate::{Store, fake};

#[test]
fn a_capture_is_the_store_at_the_moment_it_was_taken() {
    fn sendable<T: Send + 'static>(_: &T) {}
    let mut store = fake::store();
    let capture = SnapshotCapture::take(&store, fake::NOW);
    sendable(&capture);
    let before = Snapshot::from_store(&store, fake::NOW);
    store = Store::default();
    let later = capture.into_snapshot();
    assert!(store.connections().is_empty());
    assert_eq!(later.connections, before.connections);
    assert!(!later.connections.is_empty() && !later.routes.is_empty());
}

#[test]
fn connections_are_named_and_ordered_open_first() {
    let doc = Snapshot::from_store(&fake::store(), fake::NOW);
    let first_closed =
        doc.connections.iter().position(|c| c.closed_at.is_some()).unwrap_or(doc.connections.len());
    assert!(doc.connections[first_closed..].iter().all(|c| c.closed_at.is_some()), "open before closed");
    let firefox = doc.connections.iter().find(|c| c.remote.to_string() == "93.184.215.14:443");
    let firefox = firefox.unwrap_or_else(|| panic!("the firefox connection"));
    assert_eq!(firefox.remote_name.as_deref(), Some("example.org"));
    assert_eq!((firefox.process.as_deref(), firefox.user.as_deref()), (Some("firefox"), Some("ana")));
    assert_eq!(firefox.congestion.as_deref(), Some("cubic"));
}

#[test]
fn the_document_reads_back_from_its_json() {
    let doc = Snapshot::from_store(&fake::store(), fake::NOW);
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    let back: Snapshot = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(serde_json::to_string_pretty(&back).unwrap_or_default() == text, "re-serialises differently");
    assert_eq!(back.connections, doc.connections);
}

/// The kernel section: counters with their rates over the last interval, and the
/// destinations with ephemeral ports in use, counted from the open connections.
#[test]
fn the_kernel_section_has_rates_and_port_use() {
    let doc = Snapshot::from_store(&fake::store(), fake::NOW);
    let kernel = doc.kernel.unwrap_or_else(|| panic!("a kernel section"));
    assert_eq!(kernel.interval_s, Some(1.0));
    let received = kernel.snmp.get("IpInReceives").unwrap_or_else(|| panic!("IpInReceives"));
    assert_eq!(received.per_s, Some(420.0));
    assert_eq!(kernel.snmp.get("TcpMaxConn").map(|c| c.value), Some(-1));
    assert_eq!(kernel.ports.size, 28_232);
    let open = fake::store();
    let expected = open
        .connections()
        .iter()
        .filter(|e| {
            e.closed_at.is_none()
                && !matches!(
                    e.socket.state,
                    crate::model::SocketState::Listen | crate::model::SocketState::Unconnected
                )
                && !e.socket.remote.ip().is_unspecified()
                && (32768..=60999).contains(&e.socket.local.port())
        })
        .count();
    let counted: u32 = kernel.ports.busiest.iter().map(|p| p.in_use).sum();
    assert!(expected > 0, "the fake store has client connections");
    assert!(kernel.ports.busiest.len() < BUSIEST_DESTINATIONS, "the fake store's destinations all fit");
    assert_eq!(usize::try_from(counted).ok(), Some(expected));
    assert!(kernel.ports.busiest.windows(2).all(|w| w[0].in_use >= w[1].in_use), "busiest first");
}
