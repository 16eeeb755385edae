//! The BPF socket watch against a real kernel, in a throwaway network namespace: a
//! table read with it must list every TCP socket, read again exactly those whose
//! kernel figures moved (bytes sent, bytes read by the application, a close), carry
//! the rest by cookie only, and agree with a full `sock_diag` dump taken right after.
//! Needs root (BPF); see `common::netns::require_netns`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use common::netns::{REQUIRE_ENV, require_netns};
use netlens_collectors::connections::watch::{self, WatchHandle};
use netlens_collectors::connections::{REREAD_EVERY, SocketReader, WALK_EVERY};
use netlens_collectors::model::{Protocol, Socket, SocketState, SocketTable};
use nix::sched::{CloneFlags, setns};

/// Connections the test holds open.
const PAIRS: usize = 20;

/// The loaded watch, or `None` (skipped) where BPF cannot be loaded; under
/// `NETLENS_REQUIRE_NETNS=1` that fails instead.
fn load_watch() -> Option<WatchHandle> {
    match watch::load(watch::MARKS_RING_BYTES) {
        Ok(loaded) => Some(WatchHandle::new(loaded)),
        Err(why) => {
            assert!(std::env::var(REQUIRE_ENV).as_deref() != Ok("1"), "the socket watch cannot load: {why}");
            eprintln!("skipped: the socket watch cannot load: {why}");
            None
        }
    }
}

/// TCP sockets of a table, by cookie.
fn tcp(table: &SocketTable) -> BTreeMap<u64, &Socket> {
    table.sockets.iter().filter(|s| s.protocol == Protocol::Tcp).map(|s| (s.cookie, s)).collect()
}

fn cookie_of(table: &BTreeMap<u64, Socket>, local: SocketAddr, remote: SocketAddr) -> u64 {
    table
        .values()
        .find(|s| s.local == local && s.remote == remote)
        .unwrap_or_else(|| panic!("no socket {local} → {remote} in {table:?}"))
        .cookie
}

/// What the watch's reader knows after each table: the full TCP table it would show.
#[derive(Default)]
struct Known(BTreeMap<u64, Socket>);

impl Known {
    /// Fold one table as the store does: read sockets replace, unchanged stay,
    /// everything else is gone.
    fn fold(&mut self, table: &SocketTable) {
        let mut next: BTreeMap<u64, Socket> = BTreeMap::new();
        for cookie in &table.unchanged {
            let kept = self.0.get(cookie).unwrap_or_else(|| panic!("unchanged {cookie} was never read"));
            next.insert(*cookie, kept.clone());
        }
        for (cookie, socket) in tcp(table) {
            next.insert(cookie, socket.clone());
        }
        self.0 = next;
    }
}

/// The facts that do not move with the clock: they must equal a full dump's.
fn facts(socket: &Socket) -> (SocketState, SocketAddr, SocketAddr, u32, u32, Option<u64>, Option<u64>) {
    let tcp = socket.tcp.as_ref();
    (
        socket.state,
        socket.local,
        socket.remote,
        socket.recv_queue,
        socket.send_queue,
        tcp.and_then(|t| t.bytes_acked),
        tcp.and_then(|t| t.bytes_received),
    )
}

/// [`PAIRS`] connections to `listener`: (client, server).
fn connect(listener: &TcpListener) -> Vec<(TcpStream, TcpStream)> {
    let to = listener.local_addr().unwrap_or_else(|error| panic!("{error}"));
    (0..PAIRS)
        .map(|_| {
            let client = TcpStream::connect(to).unwrap_or_else(|error| panic!("connect: {error}"));
            let (server, _) = listener.accept().unwrap_or_else(|error| panic!("accept: {error}"));
            (client, server)
        })
        .collect()
}

/// What the watch's reader knows against a full dump taken now.
fn same_as_a_full_dump(known: &Known, full: &mut SocketReader) {
    let dump = full.read().unwrap_or_else(|error| panic!("full dump: {error}"));
    let dumped: BTreeMap<u64, _> = tcp(&dump).into_iter().map(|(cookie, s)| (cookie, facts(s))).collect();
    let watched: BTreeMap<u64, _> = known.0.iter().map(|(cookie, s)| (*cookie, facts(s))).collect();
    assert_eq!(watched, dumped, "the watch's table against a full dump");
}

/// Quiet: delayed ACKs and the like settle before a table is taken.
fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

/// Both ends of a connection.
fn ends(stream: &TcpStream) -> (SocketAddr, SocketAddr) {
    let local = stream.local_addr().unwrap_or_else(|error| panic!("{error}"));
    (local, stream.peer_addr().unwrap_or_else(|error| panic!("{error}")))
}

/// The listener's cookie.
fn listener_of(known: &Known) -> u64 {
    let listener = known.0.values().find(|s| s.state == SocketState::Listen);
    listener.unwrap_or_else(|| panic!("no listener in {:?}", known.0)).cookie
}

/// Read a table with `reader` and fold it into `known`.
fn read_into(reader: &mut SocketReader, known: &mut Known) -> SocketTable {
    let table = reader.read().unwrap_or_else(|error| panic!("read: {error}"));
    known.fold(&table);
    table
}

/// Past a walk and the refreshes between (marks only): connections opened, written
/// to and closed between two tables are known exactly all the same.
fn churn_across_walks(
    reader: &mut SocketReader,
    full: &mut SocketReader,
    known: &mut Known,
    listener: &TcpListener,
    pairs: &mut Vec<(TcpStream, TcpStream)>,
) {
    for round in 0..WALK_EVERY + 2 {
        let mut more = connect(listener);
        let n = usize::try_from(round).unwrap_or(0) % pairs.len();
        pairs[n].0.write_all(&[3; 100]).unwrap_or_else(|error| panic!("write: {error}"));
        let mut got = [0; 100];
        pairs[n].1.read_exact(&mut got).unwrap_or_else(|error| panic!("read: {error}"));
        let (client, server) = more.remove(0);
        drop(client);
        drop(server);
        pairs.extend(more.drain(..2));
        settle();
        let _ = read_into(reader, known);
        same_as_a_full_dump(known, full);
    }
}

#[test]
fn only_sockets_that_moved_are_read_again_and_the_table_equals_a_full_dump() {
    in_namespace(|handle| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("listen: {error}"));
        let mut pairs = connect(&listener);
        let (mut reader, mut full) = readers(handle);
        let mut known = Known::default();
        let read = read_into;

        settle();
        // The first table is a full one.
        let first = read(&mut reader, &mut known);
        assert!(first.unchanged.is_empty(), "the first table is read whole");
        assert_eq!(
            known.0.len(),
            2 * PAIRS + 1,
            "every connection end and the listener: {:?}",
            known.0.keys()
        );

        let listener_cookie = listener_of(&known);
        // The connections' set-up was marked by the tracepoints: read again once more.
        settle();
        let _ = read(&mut reader, &mut known);
        assert_eq!(reader.watch_unmarked(), None, "the tracepoints mark changed sockets on this kernel");
        settle();
        // Nothing moved: only this refresh's thirtieth is read again (by cookie), and
        // the listener (its accept queue moves without any tracepoint).
        let quiet = read(&mut reader, &mut known);
        let reread: BTreeSet<u64> = tcp(&quiet)
            .keys()
            .filter(|&&cookie| cookie != listener_cookie)
            .map(|cookie| cookie % REREAD_EVERY)
            .collect();
        assert!(reread.len() <= 1, "nothing moved, yet read again: {:?}", tcp(&quiet));
        assert_eq!(quiet.unchanged.len() + tcp(&quiet).len(), 2 * PAIRS + 1);

        // 1,000 bytes from client 0 to its server, which reads them: both ends move.
        let (client0, server0) = &mut pairs[0];
        client0.write_all(&[7; 1000]).unwrap_or_else(|error| panic!("write: {error}"));
        let mut got = [0; 1000];
        server0.read_exact(&mut got).unwrap_or_else(|error| panic!("read: {error}"));
        let (c0, s0) = (ends(client0), ends(server0));
        // 500 bytes to server 1, which does not read them: its receive queue holds them.
        pairs[1].0.write_all(&[1; 500]).unwrap_or_else(|error| panic!("write: {error}"));
        let (c1, s1) = (ends(&pairs[1].0), ends(&pairs[1].1));
        settle();
        let busy = read(&mut reader, &mut known);
        let moved: BTreeSet<u64> = tcp(&busy).keys().copied().collect();
        let client0_cookie = cookie_of(&known.0, c0.0, c0.1);
        let server0_cookie = cookie_of(&known.0, s0.0, s0.1);
        let client1_cookie = cookie_of(&known.0, c1.0, c1.1);
        let server1_cookie = cookie_of(&known.0, s1.0, s1.1);
        let active = [client0_cookie, server0_cookie, client1_cookie, server1_cookie, listener_cookie];
        for cookie in [client0_cookie, server0_cookie, server1_cookie] {
            assert!(moved.contains(&cookie), "{cookie} moved but was not read again: {moved:?}");
        }
        let rest: BTreeSet<u64> = moved
            .iter()
            .filter(|cookie| !active.contains(cookie))
            .map(|cookie| cookie % REREAD_EVERY)
            .collect();
        assert!(rest.len() <= 1, "only the pairs that moved, and this refresh's thirtieth: {moved:?}");
        let client0 = &known.0[&client0_cookie];
        assert_eq!(client0.tcp.and_then(|t| t.bytes_sent), Some(1000), "{client0:?}");
        assert_eq!(known.0[&server0_cookie].tcp.and_then(|t| t.bytes_received), Some(1000));
        assert_eq!(known.0[&server1_cookie].recv_queue, 500, "unread bytes wait in server 1's queue");

        // Server 1 reads them now: no segment needs to cross, yet its queue empties.
        let mut got = [0; 500];
        pairs[1].1.read_exact(&mut got).unwrap_or_else(|error| panic!("read: {error}"));
        settle();
        let _ = read(&mut reader, &mut known);
        assert_eq!(known.0[&server1_cookie].recv_queue, 0, "the application's read is seen");

        // Pair 2 closes: its ends leave (the active closer as time-wait).
        let (client2, server2) = pairs.remove(2);
        let (c2, s2) = (ends(&client2), ends(&server2));
        let client2_cookie = cookie_of(&known.0, c2.0, c2.1);
        let server2_cookie = cookie_of(&known.0, s2.0, s2.1);
        client2.shutdown(Shutdown::Both).unwrap_or_else(|error| panic!("shutdown: {error}"));
        drop(client2);
        let mut rest = Vec::new();
        let mut server2 = server2;
        let _ = server2.read_to_end(&mut rest);
        drop(server2);
        settle();
        let after = read(&mut reader, &mut known);
        assert!(!after.unchanged.contains(&server2_cookie), "a closed socket is not carried over");
        assert!(!known.0.contains_key(&server2_cookie), "server 2 is gone");
        if let Some(socket) = known.0.get(&client2_cookie) {
            assert_eq!(socket.state, SocketState::TimeWait, "the active closer lingers in time-wait only");
        }

        // What the watch's reader knows equals a full dump of the same moment.
        settle();
        let _ = read(&mut reader, &mut known);
        same_as_a_full_dump(&known, &mut full);

        churn_across_walks(&mut reader, &mut full, &mut known, &listener, &mut pairs);
        drop(pairs);
    });
}

/// Keepalive probes nobody answers move no tracepoint (no segment comes back, the
/// application does nothing): the reader reads the socket again because its timer
/// fired, between walks, and knows the probes the kernel counts.
#[test]
fn a_timer_that_fires_is_read_again_without_a_walk() {
    let Some(netns) = require_netns() else { return };
    let Some(handle) = load_watch() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let path = netns.path();
    let listener = std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("listen: {error}"));
        let (client, server) = connect(&listener).remove(0);
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(1))
            .with_interval(Duration::from_secs(1));
        socket2::SockRef::from(&client)
            .set_tcp_keepalive(&keepalive)
            .unwrap_or_else(|error| panic!("keepalive: {error}"));
        let mut reader = SocketReader::open(PathBuf::from("/proc"))
            .unwrap_or_else(|error| panic!("sock_diag: {error}"))
            .with_watch(Some(handle));
        let mut known = Known::default();
        let _ = read_into(&mut reader, &mut known);
        (listener, client, server, reader, known)
    });
    let (listener, client, _server, mut reader, mut known) =
        listener.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    // The probes go out and are dropped: no answer, no mark.
    let port = listener.local_addr().unwrap_or_else(|error| panic!("{error}")).port().to_string();
    netns.nft(&["add", "table", "inet", "watch"]);
    netns.nft(&["add", "chain", "inet", "watch", "out", "{ type filter hook output priority 0 ; }"]);
    netns.nft(&["add", "rule", "inet", "watch", "out", "tcp", "dport", &port, "drop"]);
    let (client_end, _) = ends(&client);
    let path = netns.path();
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        // Rounds 2 to 6 of the reader: no walk among them.
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(700));
            let _ = read_into(&mut reader, &mut known);
        }
        let mut full =
            SocketReader::open(PathBuf::from("/proc")).unwrap_or_else(|error| panic!("sock_diag: {error}"));
        let dump = full.read().unwrap_or_else(|error| panic!("full dump: {error}"));
        let probes = |socket: Option<&Socket>| socket.and_then(|s| s.timer).map(|timer| timer.retransmits);
        let dumped = probes(dump.sockets.iter().find(|s| s.local == client_end));
        let watched = probes(known.0.values().find(|s| s.local == client_end));
        assert!(dumped.is_some_and(|probes| probes >= 2), "the kernel sent unanswered probes: {dumped:?}");
        assert_eq!(watched, dumped, "the probes the reader knows against a full dump");
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    drop(client);
}

/// A client bound to `local` with `SO_REUSEADDR`, connected to `to`.
fn reusing(local: SocketAddr, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .unwrap_or_else(|error| panic!("socket: {error}"));
    socket.set_reuse_address(true).unwrap_or_else(|error| panic!("SO_REUSEADDR: {error}"));
    socket.bind(&local.into()).unwrap_or_else(|error| panic!("bind {local}: {error}"));
    socket.connect(&to.into()).unwrap_or_else(|error| panic!("connect: {error}"));
    socket.into()
}

/// A new connection that takes over a time-wait socket's addresses (the kernel allows
/// it on loopback) kills it without a tracepoint or a timer saying so: the watch's
/// table no longer carries it, like a full dump.
#[test]
fn a_time_wait_socket_taken_over_by_a_new_connection_is_gone() {
    in_namespace(|handle| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("listen: {error}"));
        let to = listener.local_addr().unwrap_or_else(|error| panic!("{error}"));
        let (mut reader, mut full) = readers(handle);
        let mut known = Known::default();
        let client = reusing("127.0.0.1:0".parse().unwrap_or_else(|error| panic!("{error}")), to);
        let (mut server, _) = listener.accept().unwrap_or_else(|error| panic!("accept: {error}"));
        let (local, remote) = ends(&client);
        settle();
        let _ = read_into(&mut reader, &mut known);
        // The client closes first: its end lingers in time-wait.
        drop(client);
        let _ = server.read_to_end(&mut Vec::new());
        drop(server);
        settle();
        let _ = read_into(&mut reader, &mut known);
        let lingering = cookie_of(&known.0, local, remote);
        assert_eq!(known.0[&lingering].state, SocketState::TimeWait);
        // Past the walk of the second refresh: from here on, marks only.
        for _ in 0..3 {
            let _ = read_into(&mut reader, &mut known);
        }
        // A new client on the same port to the same server: the time-wait socket goes.
        let again = reusing(local, to);
        let (_accepted, _) = listener.accept().unwrap_or_else(|error| panic!("accept: {error}"));
        settle();
        let table = read_into(&mut reader, &mut known);
        assert!(!table.unchanged.contains(&lingering), "the time-wait socket is not carried over");
        same_as_a_full_dump(&known, &mut full);
        drop(again);
    });
}

/// Run `body` with the socket watch loaded, on a thread inside a namespace of its own
/// with loopback up (nothing when privileged tests are skipped).
fn in_namespace(body: impl FnOnce(WatchHandle) + Send + 'static) {
    let Some(netns) = require_netns() else { return };
    let Some(handle) = load_watch() else { return };
    netns.must(&["link", "set", "lo", "up"]);
    let path = netns.path();
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        body(handle);
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

/// A reader with the watch, and one that dumps the whole table.
fn readers(handle: WatchHandle) -> (SocketReader, SocketReader) {
    let watched = SocketReader::open(PathBuf::from("/proc"))
        .unwrap_or_else(|error| panic!("sock_diag: {error}"))
        .with_watch(Some(handle));
    let full =
        SocketReader::open(PathBuf::from("/proc")).unwrap_or_else(|error| panic!("sock_diag: {error}"));
    (watched, full)
}
