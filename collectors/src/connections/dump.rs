//! One complete `sock_diag` dump — TCP and UDP, IPv4 and IPv6 — on a blocking
//! thread. The kernel fills the next reply datagram while the previous one is being
//! received (and the first while the request is sent), so the reads below almost
//! never have to wait; running them off the async workers keeps a 10,000-socket dump
//! (a few milliseconds of kernel time) from stalling anything else.
//!
//! The kernel's cost of a TCP dump is mostly its walk of the connection hash table,
//! which is sized by memory and shared by every namespace (262,144 buckets on a
//! 24 GiB host: about 4 ms per walk on a small VM, with no socket to list at all). So
//! TCP is asked for once for both families (`TCPDIAG_GETSOCK` with `AF_UNSPEC`; the
//! per-family requests remain the fallback), and not at all when the namespace's own
//! counters (`/proc/thread-self/net/sockstat`, `sockstat6`) say it holds no TCP
//! socket: an idle namespace costs two small reads per refresh, not two walks.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netlink_sys::Socket as NetlinkSocket;
use netlink_sys::constants::NETLINK_SOCK_DIAG;

use crate::model::{AddressFamily, Protocol, Socket};

use crate::netlink::frame::{self, Control};

use super::parse::{self, DumpProgress, Origin, SOCK_DIAG_BY_FAMILY};
use super::watch::Listed;

/// One dump request: one part of [`PARTS`], or TCP of both families at once.
#[derive(Debug, Clone, Copy)]
enum Request {
    /// `SOCK_DIAG_BY_FAMILY` for one family and protocol.
    Part(AddressFamily, Protocol),
    /// `TCPDIAG_GETSOCK`: TCP, both families.
    TcpBoth,
}

/// The four dumps of one table, in the order they are read.
pub(crate) const PARTS: [(AddressFamily, Protocol); 4] = [
    (AddressFamily::Ipv4, Protocol::Tcp),
    (AddressFamily::Ipv6, Protocol::Tcp),
    (AddressFamily::Ipv4, Protocol::Udp),
    (AddressFamily::Ipv6, Protocol::Udp),
];

/// How often a table is read again when the kernel marks part of it inconsistent
/// (`NLM_F_DUMP_INTR`) or a datagram did not fit the buffer.
const ATTEMPTS: u32 = 4;
/// A dump the kernel does not finish in this time is an error, not a hang.
const DUMP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait before looking again when no reply is queued yet (rare: the
/// kernel queues replies synchronously).
const POLL_INTERVAL: Duration = Duration::from_millis(1);
/// Dump datagrams are at most 32 KiB (the kernel caps them there), so twice that
/// never truncates; a bigger one makes the buffer grow.
const INITIAL_BUFFER: usize = 64 * 1024;
/// Exact lookups sent in one datagram: their answers (about 1 KiB of receive buffer
/// each) fit [`RECEIVE_BUFFER`] many times over.
pub(crate) const LOOKUP_BATCH: usize = 64;
/// A datagram larger than this is not something `sock_diag` sends.
const MAX_BUFFER: usize = 4 * 1024 * 1024;
/// `SO_RCVBUF` asked for. The kernel only fills the next datagram while at most half
/// of it is in use, so this bounds how far it can run ahead of the reader.
const RECEIVE_BUFFER: usize = 1024 * 1024;

/// Why a table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// A system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The kernel did not finish a dump in time.
    #[error("sock_diag dump: no reply within {0:?}")]
    Timeout(Duration),
    /// Every attempt was interrupted by changes (or lost replies).
    #[error("sock_diag dump inconsistent after {0} attempts (sockets changed while being read)")]
    Inconsistent(u32),
}

/// What a successful read found besides the sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DumpReport {
    /// Attempts it took (1 when nothing got in the way).
    pub attempts: u32,
    /// Parts the kernel does not support (no IPv6, no `udp_diag`), by [`PARTS`] index.
    pub unavailable: [bool; 4],
    /// Socket messages that did not parse.
    pub skipped: usize,
}

/// How one attempt at one part ended.
enum Part {
    /// All replies read.
    Complete { interrupted: bool },
    /// The kernel has no handler for this family or protocol.
    Unavailable,
    /// A datagram was cut: the buffer has grown, the part must be read again.
    Truncated,
}

/// A `NETLINK_SOCK_DIAG` socket for dump requests, with its reusable receive buffer.
pub(crate) struct Dumper {
    socket: NetlinkSocket,
    buffer: Vec<u8>,
    sequence: u32,
    /// Whether the kernel answers [`Request::TcpBoth`]; once it refuses, TCP is read
    /// per family.
    tcp_both: bool,
}

impl std::fmt::Debug for Dumper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dumper").field("buffer", &self.buffer.capacity()).finish_non_exhaustive()
    }
}

impl Dumper {
    /// Open and bind the socket (non-blocking: waits are bounded by [`DUMP_TIMEOUT`]).
    pub(crate) fn open() -> io::Result<Self> {
        let mut socket = NetlinkSocket::new(NETLINK_SOCK_DIAG)?;
        socket.bind_auto()?;
        socket.set_non_blocking(true)?;
        // Best effort: the default is enough for correctness, only slower.
        if let Err(error) =
            socket.set_rx_buf_sz(libc::c_int::try_from(RECEIVE_BUFFER).unwrap_or(libc::c_int::MAX))
        {
            tracing::debug!(%error, "could not enlarge the sock_diag receive buffer");
        }
        Ok(Self { socket, buffer: Vec::with_capacity(INITIAL_BUFFER), sequence: 0, tcp_both: true })
    }

    /// Every TCP and UDP socket of both families into `sockets` (cleared first), as
    /// one consistent table: if any part is interrupted, all parts are read again.
    pub(crate) fn read(&mut self, sockets: &mut Vec<Socket>) -> Result<DumpReport, DumpError> {
        self.read_from(sockets, 0)
    }

    /// [`Self::read`] from part `first` of [`PARTS`] on (2: UDP only).
    fn read_from(&mut self, sockets: &mut Vec<Socket>, first: usize) -> Result<DumpReport, DumpError> {
        let mut report = DumpReport::default();
        for attempt in 1..=ATTEMPTS {
            sockets.clear();
            report = DumpReport { attempts: attempt, ..DumpReport::default() };
            if self.read_all(sockets, &mut report, first)? {
                return Ok(report);
            }
            tracing::debug!(attempt, "sock_diag dump interrupted; reading the whole table again");
        }
        sockets.clear();
        Err(DumpError::Inconsistent(report.attempts))
    }

    /// One attempt at the whole table; whether it is consistent.
    fn read_all(
        &mut self,
        sockets: &mut Vec<Socket>,
        report: &mut DumpReport,
        mut first: usize,
    ) -> Result<bool, DumpError> {
        // Index 0 and 1 of PARTS are TCP; they are read together when the kernel can.
        let tcp_wanted = first < 2;
        if tcp_wanted && !tcp_in_use().unwrap_or(true) {
            first = 2;
        } else if tcp_wanted && self.tcp_both {
            match self.part(Request::TcpBoth, sockets, report)? {
                Part::Complete { interrupted } => {
                    if interrupted {
                        return Ok(false);
                    }
                    first = 2;
                }
                Part::Truncated => return Ok(false),
                // An old or trimmed kernel: per family from now on.
                Part::Unavailable => {
                    tracing::debug!("TCPDIAG_GETSOCK refused; dumping TCP per address family");
                    self.tcp_both = false;
                }
            }
        }
        // No UDP socket in the namespace (its own counters): no walk of the UDP table.
        if first >= 2 && !udp_in_use().unwrap_or(true) {
            return Ok(true);
        }
        for (index, (family, protocol)) in PARTS.into_iter().enumerate().skip(first) {
            match self.part(Request::Part(family, protocol), sockets, report)? {
                Part::Complete { interrupted: false } => {}
                Part::Complete { interrupted: true } | Part::Truncated => return Ok(false),
                Part::Unavailable => report.unavailable[index] = true,
            }
        }
        Ok(true)
    }

    /// The one socket of `protocol` with these endpoints (`remote` unspecified matches
    /// an unconnected UDP socket), if it exists now. One request, one hash lookup in
    /// the kernel: cheap enough to ask about every new socket seen on the wire.
    pub(crate) fn find_socket(
        &mut self,
        protocol: Protocol,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<Option<Socket>, DumpError> {
        let sequence = self.next_sequence();
        let request = parse::socket_request(sequence, protocol, local, remote);
        self.socket
            .send(&request, 0)
            .map_err(|source| DumpError::Io { context: "sending a sock_diag socket request", source })?;
        let deadline = Instant::now() + DUMP_TIMEOUT;
        loop {
            self.buffer.clear();
            match self.socket.recv(&mut self.buffer, 0) {
                Ok(_) => {
                    for message in frame::messages(&self.buffer) {
                        if message.sequence != sequence {
                            continue;
                        }
                        match message.control() {
                            Control::Data if message.kind == SOCK_DIAG_BY_FAMILY => {
                                return Ok(parse::socket(message.body(), Some(protocol), Origin::Dump).ok());
                            }
                            // ENOENT: no such socket (any more).
                            Control::Error(libc::ENOENT) | Control::Done => return Ok(None),
                            Control::Error(code) => {
                                return Err(DumpError::Io {
                                    context: "sock_diag socket request",
                                    source: io::Error::from_raw_os_error(code),
                                });
                            }
                            Control::Ack | Control::Data => {}
                        }
                    }
                }
                // The kernel answers while the request is sent; this is the rare case.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err(DumpError::Timeout(DUMP_TIMEOUT));
                    }
                    std::thread::sleep(POLL_INTERVAL);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(DumpError::Io { context: "reading a sock_diag reply", source }),
            }
        }
    }

    /// Read each of `listed` again by exact lookup (cookie and ends), appending the
    /// sockets still there to `sockets`; one closed since is skipped (the kernel
    /// answers `ENOENT` or, when its ends were reused, `ESTALE`). Requests go
    /// [`LOOKUP_BATCH`] to a datagram: the kernel answers each while the datagram is
    /// sent. `Ok(false)` when an answer went missing (the receive buffer overflowed):
    /// the caller reads the whole table instead.
    pub(crate) fn look_up(
        &mut self,
        listed: &[Listed],
        sockets: &mut Vec<Socket>,
    ) -> Result<bool, DumpError> {
        let mut request = Vec::with_capacity(LOOKUP_BATCH * parse::REQUEST_LEN);
        for batch in listed.chunks(LOOKUP_BATCH) {
            request.clear();
            let first = self.sequence.wrapping_add(1).max(1);
            for socket in batch {
                let sequence = self.next_sequence();
                request.extend_from_slice(&parse::tcp_lookup_request(
                    sequence,
                    socket.local,
                    socket.remote,
                    socket.interface,
                    socket.cookie,
                ));
            }
            let asked = |sequence: u32| sequence.wrapping_sub(first) < batch.len() as u32;
            self.socket
                .send(&request, 0)
                .map_err(|source| DumpError::Io { context: "sending sock_diag socket requests", source })?;
            let mut answered = 0;
            while answered < batch.len() {
                self.buffer.clear();
                match self.socket.recv(&mut self.buffer, 0) {
                    Ok(_) => {
                        for message in frame::messages(&self.buffer) {
                            if !asked(message.sequence) {
                                continue;
                            }
                            match message.control() {
                                Control::Data if message.kind == SOCK_DIAG_BY_FAMILY => {
                                    answered += 1;
                                    if let Ok(socket) =
                                        parse::socket(message.body(), Some(Protocol::Tcp), Origin::Dump)
                                    {
                                        sockets.push(socket);
                                    }
                                }
                                Control::Error(libc::ENOENT | libc::ESTALE) => answered += 1,
                                Control::Error(code) => {
                                    return Err(DumpError::Io {
                                        context: "sock_diag socket request",
                                        source: io::Error::from_raw_os_error(code),
                                    });
                                }
                                Control::Ack | Control::Done | Control::Data => {}
                            }
                        }
                    }
                    // Every answer is queued before the send returns: one missing
                    // was dropped by a full receive buffer.
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(source) => {
                        return Err(DumpError::Io { context: "reading sock_diag replies", source });
                    }
                }
            }
        }
        Ok(true)
    }

    /// Every UDP socket of both families into `sockets` (cleared first), as
    /// [`Self::read`] does for the whole table.
    pub(crate) fn read_udp(&mut self, sockets: &mut Vec<Socket>) -> Result<DumpReport, DumpError> {
        self.read_from(sockets, 2)
    }

    fn next_sequence(&mut self) -> u32 {
        self.sequence = self.sequence.wrapping_add(1).max(1);
        self.sequence
    }

    /// One dump request and all its replies.
    fn part(
        &mut self,
        request: Request,
        sockets: &mut Vec<Socket>,
        report: &mut DumpReport,
    ) -> Result<Part, DumpError> {
        let sequence = self.next_sequence();
        let (sent, protocol) = match request {
            Request::Part(family, protocol) => {
                (self.socket.send(&parse::dump_request(sequence, family, protocol), 0), protocol)
            }
            Request::TcpBoth => (self.socket.send(&parse::tcp_dump_request(sequence), 0), Protocol::Tcp),
        };
        sent.map_err(|source| DumpError::Io { context: "sending a sock_diag dump request", source })?;

        let deadline = Instant::now() + DUMP_TIMEOUT;
        let mut progress = DumpProgress::default();
        let mut truncated = false;
        while !progress.finished {
            self.buffer.clear();
            // MSG_TRUNC: the return value is the datagram's real length, so a cut is seen.
            match self.socket.recv(&mut self.buffer, libc::MSG_TRUNC) {
                Ok(length) if length > self.buffer.capacity() => {
                    // The rest of this dump is still read (and dropped) so the next
                    // request starts on a quiet socket.
                    truncated = true;
                    let wanted = length.next_power_of_two().min(MAX_BUFFER);
                    parse::dump_datagram(&self.buffer, sequence, protocol, sockets, &mut progress);
                    self.buffer.clear();
                    self.buffer.reserve(wanted);
                }
                Ok(_) => {
                    let skipped = progress.skipped;
                    parse::dump_datagram(&self.buffer, sequence, protocol, sockets, &mut progress);
                    report.skipped += progress.skipped - skipped;
                }
                // After a cut datagram the end of the dump may have been in the lost
                // part; with nothing more queued, the dump is over.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock && truncated => break,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err(DumpError::Timeout(DUMP_TIMEOUT));
                    }
                    std::thread::sleep(POLL_INTERVAL);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(DumpError::Io { context: "reading sock_diag replies", source }),
            }
        }
        match progress.error {
            // No handler for this family/protocol (module missing, IPv6 disabled).
            Some(libc::ENOENT | libc::EAFNOSUPPORT | libc::EOPNOTSUPP | libc::EPROTONOSUPPORT) => {
                Ok(Part::Unavailable)
            }
            // A kernel that no longer takes the old request type.
            Some(libc::EINVAL) if matches!(request, Request::TcpBoth) => Ok(Part::Unavailable),
            Some(code) => Err(DumpError::Io {
                context: "sock_diag dump request",
                source: io::Error::from_raw_os_error(code),
            }),
            None if truncated => Ok(Part::Truncated),
            None => Ok(Part::Complete { interrupted: progress.interrupted }),
        }
    }
}

/// Whether the calling thread's network namespace holds any TCP socket a dump would
/// list, from the kernel's own counters: `inuse` of `TCP:` (`sockstat`) and `TCP6:`
/// (`sockstat6`), and `tw` (time-wait, both families). Request sockets need a
/// listener, which is in use. `None` when the counters cannot be read: then dump.
pub(crate) fn tcp_in_use() -> Option<bool> {
    let v4 = std::fs::read_to_string("/proc/thread-self/net/sockstat").ok()?;
    let (inuse, tw) = sockstat_tcp(&v4, "TCP:")?;
    if inuse > 0 || tw.is_some_and(|tw| tw > 0) {
        return Some(true);
    }
    // No IPv6 in this kernel: no IPv6 socket either.
    let Ok(v6) = std::fs::read_to_string("/proc/thread-self/net/sockstat6") else { return Some(false) };
    Some(sockstat_tcp(&v6, "TCP6:")?.0 > 0)
}

/// Whether the calling thread's network namespace holds any UDP socket, from `inuse`
/// of `UDP:` (`sockstat`) and `UDP6:` (`sockstat6`). `None` when unreadable: then dump.
fn udp_in_use() -> Option<bool> {
    let v4 = std::fs::read_to_string("/proc/thread-self/net/sockstat").ok()?;
    if sockstat_tcp(&v4, "UDP:")?.0 > 0 {
        return Some(true);
    }
    let Ok(v6) = std::fs::read_to_string("/proc/thread-self/net/sockstat6") else { return Some(false) };
    Some(sockstat_tcp(&v6, "UDP6:")?.0 > 0)
}

/// `inuse` and `tw` (absent from `sockstat6`) of the line that starts with `label`.
fn sockstat_tcp(text: &str, label: &str) -> Option<(u64, Option<u64>)> {
    let line = text.lines().find(|line| line.starts_with(label))?;
    let mut words = line.split_whitespace().skip(1);
    let (mut inuse, mut tw) = (None, None);
    while let (Some(key), Some(value)) = (words.next(), words.next()) {
        match key {
            "inuse" => inuse = value.parse().ok(),
            "tw" => tw = value.parse().ok(),
            _ => {}
        }
    }
    Some((inuse?, tw))
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::{Dumper, sockstat_tcp, tcp_in_use, udp_in_use};
    use crate::model::{AddressFamily, SocketState};

    #[test]
    fn reads_tcp_counters_of_both_files() {
        let v4 = "sockets: used 12\nTCP: inuse 3 orphan 0 tw 7 alloc 5 mem 1\nUDP: inuse 1 mem 0\n";
        assert_eq!(sockstat_tcp(v4, "TCP:"), Some((3, Some(7))));
        let v6 = "TCP6: inuse 2\nUDP6: inuse 0\n";
        assert_eq!(sockstat_tcp(v6, "TCP6:"), Some((2, None)));
        assert_eq!(sockstat_tcp("UDP: inuse 1\n", "TCP:"), None);
        assert_eq!(sockstat_tcp("TCP: inuse x\n", "TCP:"), None);
    }

    /// In a namespace of its own (a thread that unshared its network namespace): no
    /// socket means no TCP walk and an empty table; a lone listener of either family
    /// is counted by `sockstat` or `sockstat6` and listed by the one both-family dump.
    #[test]
    fn an_empty_namespace_is_not_walked_and_a_lone_listener_of_either_family_is_listed() {
        let outcome = std::thread::spawn(|| -> Result<(), String> {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|error| format!("unshare(CLONE_NEWNET) needs root: {error}"))?;
            let mut dumper = Dumper::open().map_err(|error| format!("sock_diag socket: {error}"))?;
            let mut sockets = Vec::new();
            assert_eq!(tcp_in_use(), Some(false), "a new namespace holds no TCP socket");
            assert_eq!(udp_in_use(), Some(false), "nor any UDP socket");
            let udp = std::net::UdpSocket::bind("[::]:0").map_err(|error| format!("UDP socket: {error}"))?;
            assert_eq!(udp_in_use(), Some(true), "a UDP socket of either family is counted");
            dumper.read(&mut sockets).unwrap_or_else(|error| panic!("dump: {error}"));
            assert_eq!(sockets.len(), 1, "and listed: {sockets:?}");
            drop(udp);
            dumper.read(&mut sockets).unwrap_or_else(|error| panic!("dump: {error}"));
            assert!(sockets.is_empty(), "{sockets:?}");
            for (address, family) in
                [("0.0.0.0:7410", AddressFamily::Ipv4), ("[::]:7411", AddressFamily::Ipv6)]
            {
                // The wildcard address needs no interface up.
                let listener =
                    TcpListener::bind(address).map_err(|error| format!("listening on {address}: {error}"))?;
                assert_eq!(tcp_in_use(), Some(true), "{address} is counted");
                dumper.read(&mut sockets).unwrap_or_else(|error| panic!("dump: {error}"));
                let listed: Vec<_> = sockets.iter().map(|s| (s.state, s.family, s.local.port())).collect();
                let port = listener.local_addr().map_err(|error| error.to_string())?.port();
                assert_eq!(listed, [(SocketState::Listen, family, port)], "{address}");
            }
            Ok(())
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if let Err(why) = outcome {
            crate::test_policy::cannot_run(&why);
        }
    }
}
