//! The connections source against a real kernel, inside throwaway network namespaces:
//! sockets this test opens (on known ports, with known byte counts) must appear with
//! their state, exact counters, an RTT and this process as their owner; a connection
//! opened and closed between two dumps must be reported closed with its final
//! counters; and the whole TCP table must equal what `ss -tanH` lists in the same
//! namespace. Needs root; see `common::netns::require_netns`.

mod common;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::netns::{Netns, require_netns};
use netlens_collectors::connections::{ConnectionsConfig, ConnectionsSource};
use netlens_collectors::model::{Protocol, Socket, SocketState, SocketTable, SourceState};
use netlens_collectors::source::spawn_supervised;
use netlens_collectors::{Event, Payload};
use nix::sched::{CloneFlags, setns};
use tokio::sync::{mpsc, watch};

/// Generous: a slow CI machine, not a performance budget (that is a benchmark).
const TIMEOUT: Duration = Duration::from_secs(15);

/// Run `work` on a thread inside `netns`: every socket it opens belongs there, and
/// stays there whichever thread uses it later.
fn in_netns<T: Send + 'static>(netns: &Netns, work: impl FnOnce() -> T + Send + 'static) -> T {
    let path = netns.path();
    let thread = std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        work()
    });
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// A namespace with loopback up, or `None` when this environment cannot make one.
fn namespace() -> Option<Netns> {
    let netns = require_netns()?;
    netns.must(&["link", "set", "lo", "up"]);
    Some(netns)
}

/// The connections source running on its own thread inside a namespace, every event
/// it sends kept in order.
struct Recorder {
    events: Arc<Mutex<Vec<Event>>>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    fn start(netns: &Netns, config: ConnectionsConfig) -> Self {
        let events = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stop_rx) = watch::channel(false);
        let path = netns.path();
        let kept = Arc::clone(&events);
        let thread = std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|error| panic!("tokio runtime: {error}"));
            runtime.block_on(async move {
                let (tx, mut rx) = mpsc::channel(64);
                let task = spawn_supervised(ConnectionsSource::new(config), tx);
                loop {
                    tokio::select! {
                        _ = stop_rx.changed() => break,
                        event = rx.recv() => match event {
                            Some(event) => kept.lock().unwrap_or_else(PoisonError::into_inner).push(event),
                            None => break,
                        },
                    }
                }
                task.abort();
                let _ = task.await;
            });
        });
        Self { events, stop, thread: Some(thread) }
    }

    /// How many events arrived so far.
    fn len(&self) -> usize {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Poll until `look` finds something in the events from index `from` on.
    fn wait_for<T>(&self, what: &str, from: usize, mut look: impl FnMut(&[Event]) -> Option<T>) -> T {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            {
                let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(found) = look(events.get(from..).unwrap_or(&[])) {
                    return found;
                }
                if Instant::now() > deadline {
                    let summary: Vec<String> = events.iter().rev().take(10).map(summarise).collect();
                    panic!(
                        "timed out after {TIMEOUT:?} waiting for {what}; newest events:\n{}",
                        summary.join("\n")
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The first complete table from event `from` on for which `accept` holds.
    fn table_where(
        &self,
        what: &str,
        from: usize,
        mut accept: impl FnMut(&SocketTable) -> bool,
    ) -> SocketTable {
        self.wait_for(what, from, |events| {
            events.iter().rev().find_map(|event| match &event.payload {
                Payload::Sockets(table) if accept(table) => Some(table.clone()),
                _ => None,
            })
        })
    }

    /// The latest status the source reported.
    fn status(&self) -> (SourceState, String) {
        self.wait_for("a status", 0, |events| {
            events.iter().rev().find_map(|event| match &event.payload {
                Payload::Status(status) => Some((status.status, status.detail.clone())),
                _ => None,
            })
        })
    }

    /// Every socket reported destroyed so far.
    fn closed(&self) -> Vec<Socket> {
        closed_in(&self.events.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
            && !std::thread::panicking()
        {
            panic!("the source thread panicked");
        }
    }
}

fn summarise(event: &Event) -> String {
    match &event.payload {
        Payload::Sockets(table) => {
            format!("  Sockets: {} sockets, {} owners", table.sockets.len(), table.owners.len())
        }
        Payload::SocketsClosed(sockets) => format!("  SocketsClosed: {sockets:?}"),
        other => format!("  {other:?}"),
    }
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn find(sockets: &[Socket], protocol: Protocol, local: SocketAddr, remote: SocketAddr) -> Option<&Socket> {
    sockets
        .iter()
        .find(|socket| socket.protocol == protocol && socket.local == local && socket.remote == remote)
}

fn config() -> ConnectionsConfig {
    ConnectionsConfig { refresh: Duration::from_millis(100), ..ConnectionsConfig::default() }
}

/// Connect to `listener`, then move `up` bytes one way and `down` bytes back, each
/// read completely so nothing stays queued. Returns (client, server).
fn transfer(listener: &TcpListener, up: usize, down: usize) -> (TcpStream, TcpStream) {
    let target = listener.local_addr().unwrap_or_else(|error| panic!("{error}"));
    let mut client = TcpStream::connect(target).unwrap_or_else(|error| panic!("connect {target}: {error}"));
    let (mut server, _) = listener.accept().unwrap_or_else(|error| panic!("accept: {error}"));
    client.write_all(&vec![b'u'; up]).unwrap_or_else(|error| panic!("send: {error}"));
    server.read_exact(&mut vec![0; up]).unwrap_or_else(|error| panic!("receive: {error}"));
    server.write_all(&vec![b'd'; down]).unwrap_or_else(|error| panic!("send: {error}"));
    client.read_exact(&mut vec![0; down]).unwrap_or_else(|error| panic!("receive: {error}"));
    (client, server)
}

/// Read `server` until the client's FIN arrives (end of stream), so that its own
/// close comes second, whatever the scheduling.
fn read_until_fin(mut server: TcpStream) -> TcpStream {
    server.set_read_timeout(Some(TIMEOUT)).unwrap_or_else(|error| panic!("{error}"));
    let mut buffer = [0; 4096];
    while server.read(&mut buffer).unwrap_or_else(|error| panic!("waiting for the client's FIN: {error}")) > 0
    {
    }
    server
}

/// The (client, server) endpoints of a connection, as the client sees them.
fn ends(client: &TcpStream) -> (SocketAddr, SocketAddr) {
    let local = client.local_addr().unwrap_or_else(|error| panic!("{error}"));
    let remote = client.peer_addr().unwrap_or_else(|error| panic!("{error}"));
    (local, remote)
}

/// The test's own short process name, as `/proc/PID/comm` has it.
fn own_name() -> String {
    std::fs::read_to_string("/proc/self/comm").unwrap_or_default().trim_end().to_owned()
}

/// Sockets kept open for the length of a test.
struct Held {
    tcp: Vec<(TcpStream, TcpStream)>,
    _listeners: Vec<TcpListener>,
    _udp: Vec<UdpSocket>,
}

/// Connections to the known listeners: the client sends `1000 * (i + 1)` bytes, the
/// server answers `300 * (i + 1) + 7`.
const CONNECTIONS: usize = 6;
const fn up(i: usize) -> usize {
    1000 * (i + 1)
}
const fn down(i: usize) -> usize {
    300 * (i + 1) + 7
}

/// The sockets destroyed in `events`, in order.
fn closed_in(events: &[Event]) -> Vec<Socket> {
    events
        .iter()
        .filter_map(|event| match &event.payload {
            Payload::SocketsClosed(sockets) => Some(sockets.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn connections_appear_with_exact_counters_rtt_and_their_process() {
    let Some(netns) = namespace() else { return };
    let held = in_netns(&netns, || {
        let v4 = TcpListener::bind("127.0.0.1:7100").unwrap_or_else(|error| panic!("bind: {error}"));
        let v6 = TcpListener::bind("[::1]:7101").unwrap_or_else(|error| panic!("bind: {error}"));
        let tcp =
            (0..CONNECTIONS).map(|i| transfer(if i % 2 == 0 { &v4 } else { &v6 }, up(i), down(i))).collect();
        let unconnected = UdpSocket::bind("127.0.0.1:7102").unwrap_or_else(|error| panic!("bind: {error}"));
        let connected = UdpSocket::bind("[::1]:0").unwrap_or_else(|error| panic!("bind: {error}"));
        connected.connect("[::1]:7103").unwrap_or_else(|error| panic!("connect: {error}"));
        Held { tcp, _listeners: vec![v4, v6], _udp: vec![unconnected, connected] }
    });
    let pairs: Vec<(SocketAddr, SocketAddr)> = held.tcp.iter().map(|(client, _)| ends(client)).collect();
    assert_eq!(pairs[0].1, addr("127.0.0.1:7100"));
    assert_eq!(pairs[1].1, addr("[::1]:7101"));
    let recorder = Recorder::start(&netns, config());
    // Delayed ACKs may take a moment to reach the counters: wait for the exact values.
    let table = recorder.table_where("every connection with its exact counters", 0, |table| {
        pairs.iter().enumerate().all(|(i, &(client, server))| {
            let client_side =
                find(&table.sockets, Protocol::Tcp, client, server).and_then(|socket| socket.tcp);
            let server_side =
                find(&table.sockets, Protocol::Tcp, server, client).and_then(|socket| socket.tcp);
            // bytes_acked counts the SYN on the connecting side; the accepted side starts after it.
            client_side.is_some_and(|tcp| tcp.bytes_acked == Some(up(i) as u64 + 1))
                && server_side.is_some_and(|tcp| tcp.bytes_acked == Some(down(i) as u64))
        })
    });
    let pid = std::process::id();
    for (i, &(client, server)) in pairs.iter().enumerate() {
        for (local, remote, received, sent) in
            [(client, server, down(i), up(i)), (server, client, up(i), down(i))]
        {
            let case = format!("{local} -> {remote}");
            let socket = find(&table.sockets, Protocol::Tcp, local, remote)
                .unwrap_or_else(|| panic!("{case} missing"));
            assert_eq!(socket.state, SocketState::Established, "{case}");
            let tcp = socket.tcp.unwrap_or_else(|| panic!("{case}: no tcp_info"));
            assert_eq!(tcp.bytes_received, Some(received as u64), "{case}");
            assert_eq!(tcp.bytes_sent, Some(sent as u64), "{case}");
            assert_eq!(tcp.bytes_retrans, Some(0), "{case}");
            assert!(tcp.rtt_ms > 0.0 && tcp.rtt_ms < 1000.0, "{case}: rtt {}", tcp.rtt_ms);
            assert!(tcp.min_rtt_ms.is_some_and(|rtt| rtt > 0.0), "{case}");
            assert!(socket.inode != 0, "{case}");
            assert_eq!((socket.recv_queue, socket.send_queue), (0, 0), "{case}");
            let owner = table.owners.iter().find(|(inode, _)| *inode == socket.inode).map(|(_, pid)| *pid);
            assert_eq!(owner, Some(pid), "{case}: owner");
        }
    }
    let process = table.processes.iter().find(|process| process.pid == pid);
    assert_eq!(process.map(|process| process.name.clone()), Some(own_name()), "{:?}", table.processes);
    assert!(table.all_owners_visible, "root sees every owner");

    // Listeners and UDP sockets.
    let (any_v4, any_v6) = (addr("0.0.0.0:0"), addr("[::]:0"));
    let listener = find(&table.sockets, Protocol::Tcp, addr("127.0.0.1:7100"), any_v4);
    assert_eq!(listener.map(|socket| socket.state), Some(SocketState::Listen));
    let listener = find(&table.sockets, Protocol::Tcp, addr("[::1]:7101"), any_v6);
    assert_eq!(listener.map(|socket| socket.state), Some(SocketState::Listen));
    let udp = find(&table.sockets, Protocol::Udp, addr("127.0.0.1:7102"), any_v4);
    assert_eq!(udp.map(|socket| socket.state), Some(SocketState::Unconnected));
    let udp = table
        .sockets
        .iter()
        .find(|socket| socket.protocol == Protocol::Udp && socket.remote == addr("[::1]:7103"));
    assert_eq!(
        udp.map(|socket| (socket.state, socket.tcp.is_none())),
        Some((SocketState::Established, true))
    );
    let udp_owner = udp.and_then(|socket| table.owners.iter().find(|(inode, _)| *inode == socket.inode));
    assert_eq!(udp_owner.map(|(_, owner)| *owner), Some(pid));

    let (state, detail) = recorder.status();
    assert_eq!(state, SourceState::Ok, "{detail}");
    assert!(detail.contains("destroy events"), "{detail}");
    drop(held);
}

#[test]
fn a_connection_closed_between_dumps_is_reported_closed_with_final_counters() {
    let Some(netns) = namespace() else { return };
    let listener =
        in_netns(&netns, || TcpListener::bind("127.0.0.1:7200").unwrap_or_else(|error| panic!("{error}")));
    // One dump at the start, then none for an hour: whatever is seen afterwards came
    // from destroy notifications.
    let recorder =
        Recorder::start(&netns, ConnectionsConfig { refresh: Duration::from_secs(3600), ..config() });
    recorder.table_where("the first dump", 0, |table| !table.sockets.is_empty());
    let (listener, (client, server)) = in_netns(&netns, move || {
        let pair = transfer(&listener, 1234, 4321);
        (listener, pair)
    });
    let (client_addr, server_addr) = ends(&client);
    // The client closes first: once its FIN is acknowledged its full socket is freed
    // (a time-wait entry stays) and reported destroyed; only then does the server
    // close, so the client's final counters cannot include the server's FIN.
    drop(client);
    recorder.wait_for("the client end reported destroyed", 0, |events| {
        find(&closed_in(events), Protocol::Tcp, client_addr, server_addr).map(drop)
    });
    drop(server);
    let (client_side, server_side) = recorder.wait_for("both ends reported destroyed", 0, |events| {
        let closed = closed_in(events);
        let pick = |local, remote| find(&closed, Protocol::Tcp, local, remote).cloned();
        Some((pick(client_addr, server_addr)?, pick(server_addr, client_addr)?))
    });
    // (case, socket, bytes received, bytes sent): the server's count includes the
    // client's FIN, which takes one sequence number.
    for (case, socket, received, sent) in
        [("client", client_side, 4321, 1234), ("server", server_side, 1234 + 1, 4321)]
    {
        assert_eq!(socket.state, SocketState::Close, "{case}");
        let tcp = socket.tcp.unwrap_or_else(|| panic!("{case}: no final tcp_info"));
        assert_eq!(tcp.bytes_received, Some(received), "{case}");
        assert_eq!(tcp.bytes_sent, Some(sent), "{case}");
        assert!(tcp.rtt_ms > 0.0, "{case}");
    }
    // These sockets were never in a table: only the first dump happened.
    let tables = recorder.wait_for("the events so far", 0, |events| {
        Some(events.iter().filter(|event| matches!(event.payload, Payload::Sockets(_))).count())
    });
    assert_eq!(tables, 1);
    drop(listener);
}

#[test]
fn without_destroy_events_closes_show_up_as_missing_from_the_next_dump() {
    let Some(netns) = namespace() else { return };
    let listener =
        in_netns(&netns, || TcpListener::bind("127.0.0.1:7300").unwrap_or_else(|error| panic!("{error}")));
    let recorder = Recorder::start(&netns, ConnectionsConfig { destroy_events: false, ..config() });
    let (listener, (client, server)) = in_netns(&netns, move || {
        let pair = transfer(&listener, 10, 20);
        (listener, pair)
    });
    let (client_addr, server_addr) = ends(&client);
    recorder.table_where("the connection", 0, |table| {
        find(&table.sockets, Protocol::Tcp, server_addr, client_addr).is_some()
    });
    // The client closes first, so its end lingers in TIME-WAIT; the server's end,
    // closing second, leaves the table.
    drop(client);
    let server = read_until_fin(server);
    drop(server);
    let from = recorder.len();
    recorder.table_where("a dump without the server end", from, |table| {
        find(&table.sockets, Protocol::Tcp, server_addr, client_addr).is_none()
    });
    assert!(recorder.closed().is_empty(), "no destroy events were asked for");
    let (state, detail) = recorder.status();
    assert_eq!(state, SourceState::Degraded);
    assert!(detail.contains("short-lived connections between dumps are missed"), "{detail}");
    drop(listener);
}

/// `ss`'s name for a TCP state.
fn ss_state(state: SocketState) -> &'static str {
    match state {
        SocketState::Established => "ESTAB",
        SocketState::SynSent => "SYN-SENT",
        SocketState::SynRecv | SocketState::NewSynRecv => "SYN-RECV",
        SocketState::FinWait1 => "FIN-WAIT-1",
        SocketState::FinWait2 => "FIN-WAIT-2",
        SocketState::TimeWait => "TIME-WAIT",
        SocketState::Close | SocketState::BoundInactive | SocketState::Unconnected => "UNCONN",
        SocketState::CloseWait => "CLOSE-WAIT",
        SocketState::LastAck => "LAST-ACK",
        SocketState::Listen => "LISTEN",
        SocketState::Closing => "CLOSING",
    }
}

/// `ss -tanH` in the namespace: (state, local, remote) of every TCP socket.
fn ss_tcp(netns: &Netns) -> BTreeSet<(String, String, String)> {
    let output = Command::new("ip")
        .args(["netns", "exec", netns.name(), "ss", "-tanH"])
        .output()
        .unwrap_or_else(|error| panic!("ss: {error}"));
    assert!(output.status.success(), "ss: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 5).then(|| (fields[0].to_owned(), fields[3].to_owned(), fields[4].to_owned()))
        })
        .collect()
}

/// An endpoint as `ss -n` prints it: `ip:port`, IPv6 in brackets, port 0 as `*`.
fn ss_endpoint(address: SocketAddr) -> String {
    let port = if address.port() == 0 { "*".to_owned() } else { address.port().to_string() };
    match address {
        SocketAddr::V4(v4) => format!("{}:{port}", v4.ip()),
        SocketAddr::V6(v6) => format!("[{}]:{port}", v6.ip()),
    }
}

#[test]
fn the_tcp_table_equals_ss_in_the_same_namespace() {
    let Some(netns) = namespace() else { return };
    let held = in_netns(&netns, || {
        let v4 = TcpListener::bind("127.0.0.1:7400").unwrap_or_else(|error| panic!("{error}"));
        let v6 = TcpListener::bind("[::1]:7401").unwrap_or_else(|error| panic!("{error}"));
        let mut tcp = Vec::new();
        for i in 0..40 {
            let (client, server) = transfer(if i % 4 == 3 { &v6 } else { &v4 }, 100 + i, 50);
            match i % 5 {
                // Client closes, server does not: FIN-WAIT-2 and CLOSE-WAIT.
                1 => {
                    drop(client);
                    tcp.push((None, Some(server)));
                }
                // Both close, client first: the client end waits in TIME-WAIT.
                2 => {
                    drop(client);
                    drop(read_until_fin(server));
                }
                _ => tcp.push((Some(client), Some(server))),
            }
        }
        (v4, v6, tcp)
    });
    let recorder = Recorder::start(&netns, config());
    // Settled: no closing handshake is still under way, so the states hold still
    // (TIME-WAIT and the orphaned FIN-WAIT-2 last a minute).
    let deadline = Instant::now() + TIMEOUT;
    let settled = loop {
        let now = ss_tcp(&netns);
        if !now.iter().any(|(state, _, _)| ["FIN-WAIT-1", "CLOSING", "LAST-ACK"].contains(&state.as_str())) {
            break now;
        }
        assert!(Instant::now() < deadline, "the closing handshakes did not finish: {now:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    // The first table after this point may come from a dump begun before the states
    // settled; the one after it was begun after.
    let from = recorder.len();
    let _ = recorder.table_where("a table in flight", from, |_| true);
    let from = recorder.len();
    let table = recorder.table_where("a dump after the sockets settled", from, |_| true);
    let from_ss = ss_tcp(&netns);
    assert_eq!(from_ss, settled, "the states moved while the dump was taken");
    let ours: BTreeSet<(String, String, String)> = table
        .sockets
        .iter()
        .filter(|socket| socket.protocol == Protocol::Tcp)
        .map(|socket| {
            (ss_state(socket.state).to_owned(), ss_endpoint(socket.local), ss_endpoint(socket.remote))
        })
        .collect();
    assert_eq!(ours, from_ss, "netlens vs ss -tanH");
    let states: BTreeSet<&str> = ours.iter().map(|(state, _, _)| state.as_str()).collect();
    for state in ["LISTEN", "ESTAB", "TIME-WAIT", "FIN-WAIT-2", "CLOSE-WAIT"] {
        assert!(states.contains(state), "the comparison covers {state}: {states:?}");
    }
    assert_eq!(ours.len(), table.sockets.iter().filter(|socket| socket.protocol == Protocol::Tcp).count());
    drop(held);
}

/// Set (to anything) in the unprivileged child's environment.
const CHILD_ENV: &str = "NETLENS_CONNECTIONS_UNPRIVILEGED_CHILD";

#[test]
fn unprivileged_dumps_work_and_the_status_says_what_is_missing() {
    let Some(netns) = namespace() else { return };
    let listener =
        in_netns(&netns, || TcpListener::bind("127.0.0.1:7500").unwrap_or_else(|error| panic!("{error}")));
    let exe = std::env::current_exe().unwrap_or_else(|error| panic!("{error}"));
    // This test binary again, as nobody with no capabilities, inside the namespace,
    // running only the child below.
    let output = Command::new("ip")
        .args(["netns", "exec", netns.name(), "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args(["--exact", "unprivileged_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap_or_else(|error| panic!("running the child: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let line = |prefix: &str| {
        stdout
            .lines()
            .find_map(|line| line.split_once(prefix).map(|(_, rest)| rest))
            .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{stdout}"))
            .to_owned()
    };
    let status = line("STATUS ");
    assert!(status.starts_with("Degraded "), "{status}");
    assert!(status.contains("processes owning other users' sockets are unknown"), "{status}");
    // Whether an unprivileged process may join the destroy groups depends on the
    // kernel (6.18 allows it); either way the status must say what is true.
    if status.contains("destroy events catch short-lived connections") {
        assert_eq!(line("CLOSED "), "reported", "{status}");
    } else {
        assert!(status.contains("(destroy events need CAP_NET_ADMIN)"), "{status}");
        assert_eq!(line("CLOSED "), "not reported", "{status}");
    }
    // Root's listener is listed (dumps need no privilege) but has no known owner.
    assert_eq!(line("LISTENER "), "listed, owner unknown");
    drop(listener);
}

/// The unprivileged half of the test above, which runs it as `nobody` inside its
/// namespace; ignored in a normal run, where it would have nothing to test.
#[test]
#[ignore = "run by unprivileged_dumps_work_and_the_status_says_what_is_missing, as nobody"]
fn unprivileged_child() {
    assert!(
        std::env::var_os(CHILD_ENV).is_some(),
        "run by unprivileged_dumps_work_and_the_status_says_what_is_missing, not on its own"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("tokio runtime: {error}"));
    runtime.block_on(async {
        let (tx, mut rx) = mpsc::channel(16);
        let task = spawn_supervised(ConnectionsSource::new(config()), tx);
        let mut status = None;
        let mut closing = None;
        let mut reported = false;
        let deadline = tokio::time::Instant::now() + TIMEOUT / 3;
        loop {
            let Ok(Some(event)) = tokio::time::timeout_at(deadline, rx.recv()).await else { break };
            match event.payload {
                Payload::Status(line) => status = Some(format!("{:?} {}", line.status, line.detail)),
                Payload::Sockets(table) if closing.is_none() => {
                    let listener =
                        find(&table.sockets, Protocol::Tcp, addr("127.0.0.1:7500"), addr("0.0.0.0:0"));
                    let owner = listener
                        .and_then(|socket| table.owners.iter().find(|(inode, _)| *inode == socket.inode));
                    let described = match (listener, owner) {
                        (None, _) => "missing",
                        (Some(_), None) => "listed, owner unknown",
                        (Some(_), Some(_)) => "listed, owner known",
                    };
                    println!("STATUS {}", status.take().unwrap_or_default());
                    println!("LISTENER {described}");
                    // A connection of our own, opened and closed at once.
                    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"));
                    let (client, server) = transfer(&listener, 10, 10);
                    closing = Some(ends(&client));
                    drop((client, server, listener));
                }
                Payload::SocketsClosed(sockets) => {
                    if let Some((client, server)) = closing
                        && find(&sockets, Protocol::Tcp, client, server).is_some()
                    {
                        reported = true;
                        break;
                    }
                }
                _ => {}
            }
        }
        println!("CLOSED {}", if reported { "reported" } else { "not reported" });
        task.abort();
    });
}
