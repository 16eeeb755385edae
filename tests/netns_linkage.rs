//! Connections linkage against the real kernel (DESIGN.md §1 note 5): a TCP
//! connection from the "host" namespace to a listener in a "peer" namespace over a
//! veth pair; then a tun device takes 0/1 + 128/1 (a full-tunnel VPN coming up) and
//! the connection must be flagged `route_moved`, naming the tun and its address as
//! `ip route get` does; then the host's veth address goes and it must be flagged
//! `orphaned`. The interfaces, paths (for the route generation) and connections
//! sources run together in the host namespace. Traffic only crosses the test's own
//! veth pair. Needs root; see `common::netns::require_netns`.

#![expect(clippy::unwrap_used, reason = "test set-up failures should panic")]

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::netns::{Netns, SourceInNetns, require_netns};
use common::peer::{TunHolder, in_netns};
use netlens_collectors::connections::{ConnectionsConfig, ConnectionsSource};
use netlens_collectors::interfaces::{InterfacesConfig, InterfacesSource};
use netlens_collectors::kernel_view::{KernelView, KernelViewConfig};
use netlens_collectors::model::{SocketState, TimelineKind};
use netlens_collectors::paths::source::{PathsConfig, paths};
use netlens_collectors::source::spawn_supervised;
use netlens_collectors::{ConnectionEntry, ConnectionWarnings, Store};

/// Generous: a slow CI machine, not a performance budget.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The peer's address the host reaches through its default route (off-link, so a
/// 0/1 route can take it; the veth /24 would stay more specific).
const SERVER: &str = "10.9.0.1:8443";

struct Lab {
    host: Netns,
    peer: Netns,
}

/// host veth0 10.1.0.2/24 ↔ peer veth1 10.1.0.1/24 with 10.9.0.1/32 on the peer's
/// loopback; the host's default route goes via the peer.
fn lab() -> Option<Lab> {
    let host = require_netns()?;
    let peer = require_netns()?;
    host.batch(&format!(
        "link set lo up\n\
         link add veth0 type veth peer name veth1 netns {peer}\n\
         addr add 10.1.0.2/24 dev veth0\n\
         link set veth0 up\n\
         route add default via 10.1.0.1 dev veth0\n",
        peer = peer.name()
    ));
    peer.batch(
        "link set lo up\n\
         addr add 10.9.0.1/32 dev lo\n\
         addr add 10.1.0.1/24 dev veth1\n\
         link set veth1 up\n",
    );
    Some(Lab { host, peer })
}

/// The interfaces, paths and connections sources in `netns`, sharing one kernel
/// view as the app wires them.
fn start(netns: &Netns) -> SourceInNetns {
    SourceInNetns::start_many(netns, 1024, |tx| {
        let kernel = KernelView::start(KernelViewConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let interfaces =
            InterfacesConfig { refresh: Duration::from_millis(250), ..InterfacesConfig::default() };
        let (_, paths) = paths(PathsConfig::default());
        let paths = paths.with_kernel(kernel.clone());
        let connections = ConnectionsConfig {
            refresh: Duration::from_millis(200),
            route_generation: Some(kernel.clone()),
            ..ConnectionsConfig::default()
        };
        vec![
            spawn_supervised(InterfacesSource::new(interfaces).with_kernel(kernel), tx.clone()),
            spawn_supervised(paths, tx.clone()),
            spawn_supervised(ConnectionsSource::new(connections), tx),
        ]
    })
}

fn connection(store: &Store, local: SocketAddr) -> Option<&ConnectionEntry> {
    store.connections().iter().find(|entry| {
        entry.socket.local == local
            && entry.socket.remote.to_string() == SERVER
            && entry.socket.state == SocketState::Established
            && entry.closed_at.is_none()
    })
}

/// Timeline warnings about the connection from `local`.
fn warnings_about(store: &Store, local: SocketAddr) -> Vec<String> {
    let who = format!("tcp {local} → {SERVER}");
    store
        .timeline()
        .iter()
        .filter(|entry| entry.kind == TimelineKind::ConnectionWarning && entry.detail.starts_with(&who))
        .map(|entry| entry.detail.clone())
        .collect()
}

#[test]
fn a_vpn_moves_the_route_and_a_lost_address_orphans_the_connection() {
    let Some(lab) = lab() else { return };
    let server: SocketAddr = SERVER.parse().unwrap();
    let listener = in_netns(&lab.peer, move || TcpListener::bind(server).unwrap());
    let source = start(&lab.host);
    // Sockets keep the namespace they were made in, whichever thread uses them.
    let client = in_netns(&lab.host, move || TcpStream::connect_timeout(&server, TIMEOUT).unwrap());
    let (_accepted, _) = listener.accept().unwrap();
    let local = client.local_addr().unwrap();
    assert_eq!(local.ip().to_string(), "10.1.0.2");

    source.wait_for("the connection and the default path", TIMEOUT, |store| {
        connection(store, local).is_some() && store.path("default-ipv4").is_some()
    });
    // Nothing moved yet; a few more refreshes must not say otherwise.
    source.wait_for_socket_tables(3, TIMEOUT);
    source.with_store(|store| {
        let entry = connection(store, local).unwrap();
        assert!(
            entry.warnings.is_empty(),
            "no warning before the tunnel: {:?}",
            entry.warnings.names().collect::<Vec<_>>()
        );
    });

    // A full tunnel comes up: tun0 with carrier (held open) and 0/1 + 128/1.
    lab.host.must(&["tuntap", "add", "mode", "tun", "name", "tun0"]);
    let _holder = TunHolder::attach(&lab.host, "tun0");
    lab.host.batch(
        "link set tun0 up\n\
         addr add 10.200.0.2/24 dev tun0\n\
         route add 0.0.0.0/1 dev tun0\n\
         route add 128.0.0.0/1 dev tun0\n",
    );
    let expected = lab.host.json(&["route", "get", "10.9.0.1"]);
    assert_eq!(expected[0]["dev"], "tun0", "{expected}");
    assert_eq!(expected[0]["prefsrc"], "10.200.0.2", "{expected}");
    source.wait_for("route_moved", TIMEOUT, |store| {
        connection(store, local).is_some_and(|entry| entry.warnings.contains(ConnectionWarnings::ROUTE_MOVED))
    });
    source.with_store(|store| {
        let entry = connection(store, local).unwrap();
        assert_eq!(entry.warnings.names().collect::<Vec<_>>(), ["route_moved"]);
        let moved = entry.route_move.as_ref().unwrap();
        assert_eq!(moved.interface.as_deref(), Some("tun0"));
        assert_eq!(moved.source.map(|s| s.to_string()).as_deref(), Some("10.200.0.2"));
        assert_eq!(moved.first_interface.as_deref(), Some("veth0"));
        let detail = entry.warning_detail("route_moved").unwrap();
        assert!(
            detail.starts_with("new connections to 10.9.0.1 would leave via tun0 from 10.200.0.2; "),
            "{detail}"
        );
        assert!(detail.contains("10.1.0.2") && detail.contains("veth0"), "{detail}");
        assert_eq!(store.connections().counts().warned, 0, "a moved route is a fact, not an alarm");
    });

    // The host's veth address goes (a lease ended): the connection is orphaned.
    lab.host.must(&["addr", "del", "10.1.0.2/24", "dev", "veth0"]);
    source.wait_for("orphaned", TIMEOUT, |store| {
        connection(store, local).is_some_and(|entry| entry.warnings.contains(ConnectionWarnings::ORPHANED))
    });
    // Further refreshes and network changes raise nothing again.
    lab.host.must(&["link", "set", "tun0", "mtu", "1400"]);
    source.wait_for_socket_tables(4, TIMEOUT);
    source.with_store(|store| {
        let entry = connection(store, local).unwrap();
        assert_eq!(entry.warnings.names().collect::<Vec<_>>(), ["orphaned", "route_moved"]);
        assert_eq!(
            entry.warning_detail("orphaned").as_deref(),
            Some("its local address 10.1.0.2 was removed from every interface")
        );
        let notices = warnings_about(store, local);
        assert_eq!(notices.len(), 2, "each raised once: {notices:#?}");
        assert!(notices[0].contains("would leave via tun0 from 10.200.0.2"), "{}", notices[0]);
        assert!(notices[1].contains("10.1.0.2 is no longer on any interface"), "{}", notices[1]);
    });
    source.stop();
}
