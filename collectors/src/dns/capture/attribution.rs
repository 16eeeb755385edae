//! Which process sent a query: from the BPF owner book when the attribution
//! programs are attached (exact: recorded as the process connected its socket,
//! joined by the query's bound end to the socket cookie), else found through its
//! socket while the socket still exists.
//!
//! With BPF, a query is looked up in the book first (the ring is drained before, so
//! nothing waits for a wakeup); only a query the book does not know (a socket older
//! than netlens, a record lost to a full ring) takes the `/proc` path below.
//!
//! A resolver's query socket often lives only as long as its exchange (glibc opens a
//! new UDP socket per query and closes it as soon as the answer is read), so the owner
//! is looked for the moment a new query is seen — not when its exchange is reported.
//! Capture threads hand the socket of each new query from a local address to one
//! attribution thread ([`Owners::request`], through a bounded queue: under a flood,
//! requests beyond it are dropped and those queries stay unattributed). That thread
//! asks `sock_diag` for exactly that socket (one hash lookup in the kernel; an
//! unconnected UDP socket matches too) to learn its inode, and finds the process
//! holding the inode with a focused `/proc` walk ([`OwnerSearch`]: the processes that
//! asked before first, then the newest). Requests queued meanwhile are served together,
//! by one walk. Lookups and walks are paced — at most [`MAX_LOOKUPS_PER_SECOND`] and
//! [`MAX_WALKS_PER_SECOND`], with short bursts allowed so the A and AAAA queries of one
//! lookup are not held up — and requests beyond that are dropped, not delayed: a late
//! lookup finds nothing.
//!
//! Owners are remembered by (transport, local address and port) for [`OWNER_TTL`]: a
//! socket asking 10,000 times a second is looked up once, and checked again (a cheap
//! `sock_diag` lookup, with a walk only for an inode not seen before) at most once per
//! [`RECHECK_INTERVAL`], so a port reused by another process is noticed. Both tables
//! are bounded. An owner that cannot be found stays unknown, never guessed: the socket
//! closed before it was looked up (a resolver answering from the same host within tens
//! of microseconds can beat the lookup), or it belongs to another user's process while
//! unprivileged, or it is bound to a device (the lookup asks without one). netlens's
//! own queries are the exception: the process knows its sockets (`dns::own`), so they
//! are named without a lookup, closed or not.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::attribution::BpfAttribution;
use crate::capture::flows::LocalAddresses;
use crate::connections::dump::Dumper;
use crate::connections::process::search::OwnerSearch;
use crate::model::{Attribution, DnsQuery, DnsTransport, Protocol};

/// How long a found owner is trusted for later queries from the same socket.
pub const OWNER_TTL: Duration = Duration::from_secs(30);

/// A socket's owner is looked up again (by inode) at most this often.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// `sock_diag` lookups a second at most, on average.
pub const MAX_LOOKUPS_PER_SECOND: u32 = 1000;

/// `/proc` walks a second at most, on average.
pub const MAX_WALKS_PER_SECOND: u32 = 50;

/// Lookups and walks allowed at once above the average (a burst of new sockets).
const BURST: u32 = 10;

/// Requests waiting for the attribution thread at most.
const QUEUE: usize = 1024;

/// Requests served by one round (one walk) at most.
const ROUND: usize = 64;

/// Sockets and inodes remembered at most.
const MAX_REMEMBERED: usize = 4096;

/// The socket a query was sent from, as the capture saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuerySocket {
    /// UDP or TCP.
    pub transport: DnsTransport,
    /// The asking side: this host's address and port.
    pub local: SocketAddr,
    /// The server.
    pub remote: SocketAddr,
}

impl QuerySocket {
    const fn key(&self) -> SocketKey {
        (self.transport, self.local)
    }
}

/// Sockets are told apart by transport and local address and port.
type SocketKey = (DnsTransport, SocketAddr);

/// A process holding a query's socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Its pid.
    pub pid: u32,
    /// Its name (`comm`).
    pub name: String,
}

/// A socket's owner as last found.
#[derive(Debug, Clone)]
struct Known {
    owner: Owner,
    checked: Instant,
}

/// What the capture threads, the attribution thread and the flush share.
#[derive(Debug, Default)]
struct Book {
    /// The BPF owner book, when the programs are attached.
    bpf: Option<BpfAttribution>,
    locals: LocalAddresses,
    known: HashMap<SocketKey, Known>,
    /// Requested and not yet answered.
    asked: HashSet<SocketKey>,
    /// Requests dropped: the queue was full, or over the lookup or walk rate.
    dropped: u64,
}

/// The attribution of query sockets to processes; see the module documentation.
/// Cloned handles share one thread, which ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Owners {
    book: Arc<Mutex<Book>>,
    requests: SyncSender<QuerySocket>,
}

impl Owners {
    /// Start the attribution thread over the processes under `proc_root`. Its
    /// `sock_diag` socket is opened here, in the caller's network namespace.
    pub fn start(proc_root: PathBuf) -> io::Result<Self> {
        let dumper = Dumper::open()?;
        let (requests, queue) = mpsc::sync_channel(QUEUE);
        let bpf = crate::attribution::installed_attribution();
        let book = Arc::new(Mutex::new(Book { bpf, ..Book::default() }));
        let shared = Arc::clone(&book);
        // Outside the Landlock domain: the search reads other processes' /proc/PID/fd.
        crate::unconfined::spawn("dns-owners", move || {
            serve(&shared, &queue, dumper, OwnerSearch::new(proc_root));
        })?;
        Ok(Self { book, requests })
    }

    /// Handles that never find an owner: for when `sock_diag` is unavailable, so the
    /// capture still runs, with processes unknown.
    #[must_use]
    pub fn unavailable() -> Self {
        // The receiving end is dropped at once: every request finds the queue closed.
        let (requests, _) = mpsc::sync_channel(1);
        Self { book: Arc::new(Mutex::new(Book::default())), requests }
    }

    /// This host's addresses: queries from elsewhere (seen in transit) are not looked up.
    pub fn set_locals(&self, locals: LocalAddresses) {
        self.lock().locals = locals;
    }

    /// Look for the owner of the socket a new query left from, unless it is known and
    /// was checked recently, or already asked about. Never blocks.
    pub fn request(&self, socket: QuerySocket, now: Instant) {
        let key = socket.key();
        // netlens's own sockets are known without a lookup (`dns::own`).
        if crate::dns::own::owner_of(socket.transport, socket.local, socket.remote).is_some() {
            return;
        }
        let mut book = self.lock();
        if !book.locals.is_local(socket.local.ip()) || book.asked.contains(&key) {
            return;
        }
        // Known to the BPF book: exact, and no /proc walk needed.
        if let Some(bpf) = &book.bpf
            && bpf.dns_owner(protocol_of(socket.transport), socket.local).is_some()
        {
            return;
        }
        if book
            .known
            .get(&key)
            .is_some_and(|known| now.saturating_duration_since(known.checked) < RECHECK_INTERVAL)
        {
            return;
        }
        book.asked.insert(key);
        match self.requests.try_send(socket) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                book.asked.remove(&key);
                book.dropped += 1;
            }
            // The thread is gone (its sock_diag socket failed): owners stay unknown.
            Err(TrySendError::Disconnected(_)) => {
                book.asked.remove(&key);
            }
        }
    }

    /// Fill in the owners of `held` (queries held back at the last flush; they go out
    /// now either way) and of `drained`. Returns the queries ready to send, and those
    /// of `drained` whose owner is still being looked for: hold them back one flush.
    pub fn attribute(
        &self,
        held: Vec<DnsQuery>,
        drained: Vec<DnsQuery>,
        now: Instant,
    ) -> (Vec<DnsQuery>, Vec<DnsQuery>) {
        let book = self.lock();
        let mut ready = held;
        let mut waiting = Vec::new();
        for query in &mut ready {
            book.fill(query, now);
        }
        for mut query in drained {
            if !book.fill(&mut query, now) && book.asked.contains(&(query.transport, query.client)) {
                waiting.push(query);
            } else {
                ready.push(query);
            }
        }
        (ready, waiting)
    }

    /// Requests dropped so far because the attribution thread was behind or over its
    /// pace.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Book {
    /// Set the query's owner when known; whether it was.
    fn fill(&self, query: &mut DnsQuery, now: Instant) -> bool {
        if self.locals.is_local(query.client.ip())
            && let Some((pid, name)) = crate::dns::own::owner_of(query.transport, query.client, query.server)
        {
            query.pid = Some(pid);
            query.process = Some(name);
            query.attribution = Some(Attribution::Proc);
            return true;
        }
        if let Some(bpf) = &self.bpf
            && self.locals.is_local(query.client.ip())
            && let Some(owner) = bpf.dns_owner(protocol_of(query.transport), query.client)
        {
            query.pid = Some(owner.pid);
            query.process = Some(owner.comm.to_string());
            query.attribution = Some(Attribution::Bpf);
            query.cgroup = owner.cgroup.as_deref().map(str::to_owned);
            return true;
        }
        let Some(known) = self.known.get(&(query.transport, query.client)) else { return false };
        if now.saturating_duration_since(known.checked) >= OWNER_TTL {
            return false;
        }
        query.pid = Some(known.owner.pid);
        query.process = Some(known.owner.name.clone());
        query.attribution = Some(Attribution::Proc);
        true
    }
}

/// The attribution thread: serve requests in rounds until every handle is gone.
fn serve(book: &Mutex<Book>, queue: &Receiver<QuerySocket>, mut dumper: Dumper, mut search: OwnerSearch) {
    let mut inodes: HashMap<u64, (Owner, Instant)> = HashMap::new();
    let start = Instant::now();
    let mut lookups = Pace::new(MAX_LOOKUPS_PER_SECOND, BURST, start);
    let mut walks = Pace::new(MAX_WALKS_PER_SECOND, BURST, start);
    // Blocks until a request comes; ends when every sender has been dropped.
    while let Ok(first) = queue.recv() {
        let mut round = vec![first];
        round.extend(queue.try_iter().take(ROUND - 1));
        let mut skipped = 0;
        let found: Vec<(QuerySocket, Option<u64>)> = round
            .into_iter()
            .map(|socket| {
                if lookups.allow(Instant::now()) {
                    (socket, inode_of(&mut dumper, socket))
                } else {
                    skipped += 1;
                    (socket, None)
                }
            })
            .collect();

        let now = Instant::now();
        let mut unknown: Vec<u64> = found
            .iter()
            .filter_map(|&(_, inode)| inode)
            .filter(|inode| {
                inodes.get(inode).is_none_or(|(_, at)| now.saturating_duration_since(*at) >= OWNER_TTL)
            })
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        if !unknown.is_empty() {
            if walks.allow(now) {
                let owners = search.find(&unknown);
                let now = Instant::now();
                for owner in owners {
                    let entry = (Owner { pid: owner.pid, name: owner.name }, now);
                    remember(&mut inodes, owner.inode, entry, |entry| entry.1);
                }
            } else {
                skipped += unknown.len() as u64;
            }
        }

        let now = Instant::now();
        let mut book = book.lock().unwrap_or_else(PoisonError::into_inner);
        book.dropped += skipped;
        for (socket, inode) in found {
            let key = socket.key();
            book.asked.remove(&key);
            match inode.and_then(|inode| inodes.get(&inode)).map(|(owner, _)| owner.clone()) {
                Some(owner) => {
                    remember(&mut book.known, key, Known { owner, checked: now }, |known| known.checked);
                }
                None => {
                    book.known.remove(&key);
                }
            }
        }
    }
}

/// The socket protocol of a DNS transport.
const fn protocol_of(transport: DnsTransport) -> Protocol {
    match transport {
        DnsTransport::Udp => Protocol::Udp,
        DnsTransport::Tcp => Protocol::Tcp,
    }
}

/// The inode of the socket `query` left from, if it is still open.
fn inode_of(dumper: &mut Dumper, query: QuerySocket) -> Option<u64> {
    match dumper.find_socket(protocol_of(query.transport), query.local, query.remote) {
        // 0: a socket on its way out (time-wait), with no owner left.
        Ok(socket) => socket.map(|socket| socket.inode).filter(|&inode| inode != 0),
        Err(error) => {
            tracing::debug!(%error, socket = %query.local, "sock_diag lookup of a DNS query socket");
            None
        }
    }
}

/// A token bucket: `per_second` events a second on average, `burst` at once.
#[derive(Debug, Clone, Copy)]
struct Pace {
    tokens: f64,
    burst: f64,
    per_second: f64,
    last: Instant,
}

impl Pace {
    fn new(per_second: u32, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self { tokens: burst, burst, per_second: f64::from(per_second), last: now }
    }

    /// Whether one more event is allowed at `now` (and count it if so).
    fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// Insert into a bounded map: when full, forget entries older than [`OWNER_TTL`], then
/// (if still full) the oldest.
fn remember<K: Eq + Hash + Copy, V>(map: &mut HashMap<K, V>, key: K, value: V, time: impl Fn(&V) -> Instant) {
    if map.len() >= MAX_REMEMBERED && !map.contains_key(&key) {
        let now = Instant::now();
        map.retain(|_, value| now.saturating_duration_since(time(value)) < OWNER_TTL);
        if map.len() >= MAX_REMEMBERED
            && let Some(oldest) = map.iter().min_by_key(|(_, value)| time(value)).map(|(key, _)| *key)
        {
            map.remove(&oldest);
        }
    }
    map.insert(key, value);
}

#[cfg(test)]
mod tests;
