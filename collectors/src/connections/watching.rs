//! How a [`super::SocketReader`] uses the socket watch: which TCP sockets one refresh
//! reads again, and what it knows of the others.
//!
//! The reader keeps a list of every TCP socket of the namespace ([`Watching::listed`]),
//! from the last walk, kept current between walks by the tracepoint marks and the
//! answers to its lookups. A refresh reads again:
//! - the sockets marked since the last refresh (the kernel changed them), and those
//!   marked at the last refresh (a mark is taken once per refresh, so a change right
//!   after the lookup is only seen by the next read; a delayed ACK sent by a timer too);
//! - a thirtieth of the rest, by cookie ([`super::REREAD_EVERY`]);
//! - every listener (a connection accepted moves its queue without any tracepoint) and
//!   every request socket (short-lived, and never marked);
//! - sockets whose timer ran out since they were read (a keepalive or zero-window
//!   probe, a delayed ACK, a time-wait socket's end: what a timer does no tracepoint
//!   announces).
//!
//! Every [`WALK_EVERY`] refreshes, and whenever marks were lost or are unavailable, it
//! walks instead: every socket's fingerprint against the last walk's. That catches
//! what neither a tracepoint nor a timer announces (a time-wait socket killed early, a
//! request socket).

use std::time::{Duration, Instant};

use super::dump;
use super::watch::{self, Listed, WatchHandle};
use crate::model::{Protocol, Socket, SocketState};
use crate::store::{CounterHash, CounterMap};

/// With tracepoint marks, the sockets are walked every this many refreshes (and
/// after marks were lost): what neither a tracepoint nor a timer announces is seen
/// within that many, like what only the re-read of every socket catches
/// ([`super::REREAD_EVERY`]).
pub const WALK_EVERY: u64 = 30;

/// A socket is looked at again this long after its timer said it would fire.
const EXPIRY_SLACK: Duration = Duration::from_millis(200);

/// The socket watch's state in a reader.
pub(super) struct Watching {
    pub(super) handle: WatchHandle,
    /// Every TCP socket of the namespace as last known, `changed` set on those the
    /// current refresh reads.
    pub(super) listed: Vec<Listed>,
    /// Position of each socket in `listed`, by cookie.
    index: CounterMap<u64, usize>,
    /// Whether the next refresh must read the whole table: at the start, and after
    /// a refresh that did not complete (its changes were taken but never delivered).
    pub(super) needs_full: bool,
    /// Refreshes so far: which thirtieth of the sockets is read again regardless, and
    /// when the next walk is due.
    round: u64,
    /// Whether the last table came from the watch (its TCP sockets are `listed`).
    pub(super) last_was_delta: bool,
    /// Why the watch stopped, when a walk failed: full dumps from then on.
    pub(super) failed: Option<String>,
    /// Why there are no marks (a walk every refresh), once known.
    pub(super) unmarked: Option<String>,
    /// Inode of each TCP socket read so far, by cookie: what the `/proc` index must
    /// keep knowing of sockets not read again (else it forgets their owners, and
    /// the next re-read of them walks `/proc`).
    pub(super) inodes: CounterMap<u64, u64>,
    /// The cookie of the namespace watched (learned at the first refresh, in the
    /// reading thread).
    netns: Option<u64>,
    /// The sockets marked at the last refresh.
    marked_last: Vec<u64>,
    /// When each socket's timer fires, as of its last read.
    expiries: CounterMap<u64, Instant>,
    /// The earliest of `expiries`: until then, no socket is due.
    next_due: Option<Instant>,
    /// Scratch for the marks of one refresh.
    marks: Vec<Listed>,
}

impl Watching {
    pub(super) fn new(handle: WatchHandle) -> Self {
        Self {
            handle,
            listed: Vec::new(),
            index: CounterMap::default(),
            needs_full: true,
            round: 0,
            last_was_delta: false,
            failed: None,
            unmarked: None,
            inodes: CounterMap::default(),
            netns: None,
            marked_last: Vec::new(),
            expiries: CounterMap::default(),
            next_due: None,
            marks: Vec::new(),
        }
    }

    /// The indexes (in `listed`) of the sockets this refresh reads, or `None` when the
    /// whole table must be dumped: the watch failed, a full read is due, or so many
    /// changed that one dump is cheaper than their lookups.
    pub(super) fn plan(&mut self, needs_full: bool) -> Option<Vec<usize>> {
        if self.failed.is_some() {
            return None;
        }
        // Like the dump, no walk of the kernel's whole connection table (about a
        // millisecond with no socket to list) when the namespace's own counters say it
        // holds no TCP socket: an idle namespace costs two small reads.
        if !dump::tcp_in_use().unwrap_or(true) {
            self.forget();
            // Marks taken all the same: the generation moves on, the ring empties.
            let _ = self.take_marks();
            return (!needs_full).then(Vec::new);
        }
        self.round += 1;
        let complete = self.take_marks();
        let walk = needs_full || !complete || self.round % WALK_EVERY == 1;
        if walk {
            if let Err(why) = watch::with(&self.handle.0, |program| program.walk(&mut self.listed)) {
                tracing::warn!(%why, "socket watch failed; reading the whole socket table every refresh");
                self.failed = Some(why);
                self.forget();
                return None;
            }
            self.index.clear();
            self.index.extend(self.listed.iter().enumerate().map(|(at, listed)| (listed.cookie, at)));
            self.expiries.retain(|cookie, _| self.index.contains_key(cookie));
        } else {
            for listed in &mut self.listed {
                listed.changed = false;
            }
        }
        self.apply_marks(walk);
        self.apply_expiries(Instant::now());
        let turn = self.round % super::REREAD_EVERY;
        let mut changed = Vec::new();
        for (at, listed) in self.listed.iter_mut().enumerate() {
            listed.changed |= listed.cookie % super::REREAD_EVERY == turn
                || matches!(listed.state, Some(SocketState::Listen | SocketState::NewSynRecv) | None);
            if listed.changed {
                changed.push(at);
            }
        }
        // Lookups cost more per socket than a dump's share: past a quarter of the
        // table, one dump is cheaper.
        let few = changed.len() <= (self.listed.len() / 4).max(64);
        (!needs_full && few).then_some(changed)
    }

    /// Take the marks since the last refresh into `self.marks`; whether none were lost
    /// (false also when there are none to take: walk).
    fn take_marks(&mut self) -> bool {
        if self.unmarked.is_some() {
            return false;
        }
        let netns = match self.netns {
            Some(netns) => netns,
            None => match crate::attribution::netns::current() {
                Ok(netns) => *self.netns.insert(netns),
                Err(error) => {
                    self.unmarked = Some(format!("the namespace's cookie: {error}"));
                    return false;
                }
            },
        };
        match watch::with(&self.handle.0, |program| program.marked(netns, &mut self.marks)) {
            Ok(complete) => complete,
            Err(why) => {
                self.unmarked = Some(why);
                self.marks.clear();
                false
            }
        }
    }

    /// Mark the sockets marked now or at the last refresh as changed, adding those
    /// not listed yet (opened since) unless `walked` (the walk listed every socket:
    /// one it did not list closed since).
    fn apply_marks(&mut self, walked: bool) {
        for &cookie in &self.marked_last {
            if let Some(&at) = self.index.get(&cookie) {
                self.listed[at].changed = true;
            }
        }
        self.marked_last.clear();
        for mark in self.marks.drain(..) {
            self.marked_last.push(mark.cookie);
            match self.index.get(&mark.cookie) {
                Some(&at) => self.listed[at].changed = true,
                None if !walked => {
                    self.index.insert(mark.cookie, self.listed.len());
                    self.listed.push(mark);
                }
                None => {}
            }
        }
    }

    /// Mark as changed the sockets whose timer fired by `now` (their read forgets the
    /// expiry, and notes the next one).
    fn apply_expiries(&mut self, now: Instant) {
        if self.next_due.is_none_or(|due| due > now) {
            return;
        }
        let (listed, index) = (&mut self.listed, &self.index);
        self.expiries.retain(|cookie, due| {
            let fired = *due <= now;
            if fired && let Some(&at) = index.get(cookie) {
                listed[at].changed = true;
            }
            !fired
        });
        self.next_due = self.expiries.values().min().copied();
    }

    /// After the lookups of the sockets at `read` (indexes in `listed`), which found
    /// the TCP sockets in `found`: those not found are gone, the others take the
    /// state they were found in, and those with a timer note when it fires.
    pub(super) fn settle(&mut self, read: &[usize], found: &[Socket]) {
        let now = Instant::now();
        let mut seen: std::collections::HashSet<u64, CounterHash> = std::collections::HashSet::default();
        for socket in found.iter().filter(|socket| socket.protocol == Protocol::Tcp) {
            seen.insert(socket.cookie);
            if let Some(&at) = self.index.get(&socket.cookie) {
                self.listed[at].state = Some(socket.state);
            }
            match socket.timer {
                Some(timer) => {
                    let due = now + Duration::from_millis(u64::from(timer.expires_ms)) + EXPIRY_SLACK;
                    self.expiries.insert(socket.cookie, due);
                    self.next_due = Some(self.next_due.map_or(due, |next| next.min(due)));
                }
                None => {
                    self.expiries.remove(&socket.cookie);
                }
            }
        }
        let mut gone: Vec<usize> =
            read.iter().copied().filter(|&at| !seen.contains(&self.listed[at].cookie)).collect();
        // A connection that took over a time-wait socket's addresses (the kernel lets a
        // loopback client reuse them: `tcp_tw_reuse`) killed it, and no tracepoint or
        // timer says so: gone, though not read.
        let taken: std::collections::HashSet<Ends> = found
            .iter()
            .filter(|socket| socket.protocol == Protocol::Tcp)
            // Two sockets never share both ends: whatever state the new one is in
            // by now (time-wait again, after a short connection), the old one went.
            .filter(|socket| socket.state != SocketState::Listen)
            .map(|socket| ends(socket.local, socket.remote))
            .collect();
        if !taken.is_empty() {
            gone.extend(self.listed.iter().enumerate().filter_map(|(at, listed)| {
                let replaced = listed.state == Some(SocketState::TimeWait)
                    && !seen.contains(&listed.cookie)
                    && taken.contains(&ends(listed.local, listed.remote));
                replaced.then_some(at)
            }));
        }
        // Removed from the back, so the indexes still to remove stay valid.
        gone.sort_unstable_by(|a, b| b.cmp(a));
        gone.dedup();
        for at in gone {
            let removed = self.listed.swap_remove(at);
            self.index.remove(&removed.cookie);
            self.expiries.remove(&removed.cookie);
            if let Some(moved) = self.listed.get(at) {
                self.index.insert(moved.cookie, at);
            }
        }
    }

    /// After a full dump, `listed` is what the dump found (in walk order): the walk
    /// before it may have listed sockets closed since.
    pub(super) fn settle_dump(&mut self, sockets: &[Socket]) {
        let read: Vec<usize> = (0..self.listed.len()).collect();
        self.settle(&read, sockets);
    }

    /// Forget every socket: the namespace holds none, or the watch failed.
    fn forget(&mut self) {
        self.listed.clear();
        self.index.clear();
        self.expiries.clear();
        self.next_due = None;
        self.marked_last.clear();
    }
}

/// A connection's two ends, IPv4-mapped addresses as IPv4.
type Ends = (std::net::IpAddr, u16, std::net::IpAddr, u16);

/// `local` and `remote` as [`Ends`].
fn ends(local: std::net::SocketAddr, remote: std::net::SocketAddr) -> Ends {
    (local.ip().to_canonical(), local.port(), remote.ip().to_canonical(), remote.port())
}
