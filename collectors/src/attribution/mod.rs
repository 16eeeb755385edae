//! Attribution at the moment of the act (DESIGN.md §9): BPF programs on the cgroup
//! v2 root record, for every socket a process connects or sends to an address with,
//! the socket cookie, pid, thread name, uid and cgroup id into a ring buffer. The
//! connections source joins them to `sock_diag` by cookie and the DNS capture by the
//! query's bound ends; the `/proc` walk remains for what the book does not know
//! (sockets older than netlens, accepted sockets, records lost to a full ring).
//!
//! - [`loader`]: loads `bpf/attribution.bpf.o` (C compiled by clang and committed,
//!   see `bpf/README.md`) and attaches it with fd-owned links.
//! - [`reader`]: the attribution source, woken by epoll on the ring.
//! - [`book`]: cookie → owner, bounded.
//! - [`cgroup`] and [`naming`]: cgroup id → path → a unit or container.
//!
//! Loading happens once, synchronously, before the async runtime and before
//! capabilities are dropped ([`load`]); the handle is then [`install`]ed for the
//! process and passed to the sources.

pub mod naming;

#[cfg(feature = "runtime")]
pub mod book;
#[cfg(feature = "runtime")]
pub mod cgroup;
#[cfg(feature = "runtime")]
pub mod event;
#[cfg(feature = "runtime")]
pub mod loader;
#[cfg(feature = "runtime")]
pub(crate) mod netns;
#[cfg(feature = "runtime")]
pub mod reader;

pub use naming::cgroup_owner;

#[cfg(feature = "runtime")]
pub use runtime::*;

#[cfg(feature = "runtime")]
mod runtime {
    use std::os::fd::{AsFd as _, OwnedFd};
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
    use std::time::Instant;

    use aya::maps::{Array, MapData, RingBuf};

    use super::book::OwnerBook;
    use super::cgroup::{CgroupPaths, CgroupRoot};
    use super::event::Act;
    use super::loader::{self, LoadError, Loaded};
    use crate::model::Protocol;

    /// The owner of a socket as the BPF hook saw it act, with its cgroup's path.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ActOwner {
        /// The process id.
        pub pid: u32,
        /// The acting thread's name.
        pub comm: Arc<str>,
        /// The actor's uid.
        pub uid: u32,
        /// Its cgroup's path below the root, when the id could be named.
        pub cgroup: Option<Arc<str>>,
        /// When it acted, `CLOCK_BOOTTIME` nanoseconds.
        pub at_ns: u64,
    }

    /// How far behind the ring the book was when records were folded: from each
    /// record's BPF timestamp to its arrival in the book.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Delay {
        /// Records folded.
        pub records: u64,
        /// Sum of their delays, nanoseconds.
        pub total_ns: u64,
        /// The longest delay, nanoseconds.
        pub max_ns: u64,
        /// Records that took longer than 5 ms (the budget at 10,000 connects/s).
        pub over_5ms: u64,
    }

    struct State {
        ring: RingBuf<MapData>,
        book: OwnerBook,
        cgroups: CgroupPaths,
        delay: Delay,
    }

    struct Shared {
        state: Mutex<State>,
        counters: Mutex<Array<MapData, u64>>,
        /// A duplicate of the ring's descriptor, for the reader's epoll registration.
        ring_fd: OwnedFd,
        root: PathBuf,
        /// The programs and their links: kept for the life of the process.
        _ebpf: Mutex<aya::Ebpf>,
    }

    /// The loaded programs and their owner book. Clones share one.
    #[derive(Clone)]
    pub struct BpfAttribution {
        shared: Arc<Shared>,
    }

    /// Two handles are equal when they share the same loaded programs.
    impl PartialEq for BpfAttribution {
        fn eq(&self, other: &Self) -> bool {
            Arc::ptr_eq(&self.shared, &other.shared)
        }
    }

    impl Eq for BpfAttribution {}

    impl std::fmt::Debug for BpfAttribution {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("BpfAttribution").field("root", &self.shared.root).finish_non_exhaustive()
        }
    }

    /// The outcome of [`load`]: attached, or why not (for the source status).
    #[derive(Debug, Clone)]
    pub enum Availability {
        /// Programs attached.
        Attached(BpfAttribution),
        /// Not loaded; the sentence says why and that `/proc` is used.
        Unavailable(String),
    }

    impl Availability {
        /// The handle, when attached.
        #[must_use]
        pub fn attribution(&self) -> Option<BpfAttribution> {
            match self {
                Self::Attached(attribution) => Some(attribution.clone()),
                Self::Unavailable(_) => None,
            }
        }
    }

    static INSTALLED: OnceLock<Availability> = OnceLock::new();

    /// Make `availability` the process's: what the DNS capture's owner lookup and
    /// the attribution source find. The first call wins (returns false after).
    pub fn install(availability: Availability) -> bool {
        INSTALLED.set(availability).is_ok()
    }

    /// What [`install`] was given, if it was called.
    #[must_use]
    pub fn installed() -> Option<&'static Availability> {
        INSTALLED.get()
    }

    /// The installed handle, when programs are attached.
    #[must_use]
    pub fn installed_attribution() -> Option<BpfAttribution> {
        installed().and_then(Availability::attribution)
    }

    /// Load the programs for the calling thread's network namespace and attach
    /// them to the cgroup v2 root found by `root` (opened earlier: `--netns`
    /// remounts `/sys`). Never fails: what goes wrong is said in the result.
    #[must_use]
    pub fn load(root: std::io::Result<CgroupRoot>) -> Availability {
        let root = match root {
            Ok(root) => root,
            Err(error) => return Availability::Unavailable(format!("{error}; owners come from /proc")),
        };
        let cookie = match super::netns::current() {
            Ok(cookie) => cookie,
            Err(error) => {
                return Availability::Unavailable(format!(
                    "the kernel has no network namespace cookies (SO_NETNS_COOKIE, Linux 5.14): {error}; \
                     owners come from /proc"
                ));
            }
        };
        match loader::load_and_attach(&root, cookie) {
            Ok(loaded) => match BpfAttribution::new(loaded, root) {
                Ok(attribution) => Availability::Attached(attribution),
                Err(error) => Availability::Unavailable(format!("{error}; owners come from /proc")),
            },
            Err(error @ (LoadError::Permission(_) | LoadError::Rejected { .. } | LoadError::Other(_))) => {
                tracing::info!(%error, "BPF attribution unavailable");
                Availability::Unavailable(error.to_string())
            }
        }
    }

    /// `CLOCK_BOOTTIME` now, nanoseconds: the clock of the records' timestamps.
    #[must_use]
    pub fn boot_ns() -> u64 {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        (now.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(now.tv_nsec as u64)
    }

    impl BpfAttribution {
        fn new(loaded: Loaded, root: CgroupRoot) -> std::io::Result<Self> {
            let Loaded { ebpf, ring, counters } = loaded;
            let ring_fd = ring.as_fd().try_clone_to_owned()?;
            let cgroups = CgroupPaths::new(root.fd);
            let state = State { ring, book: OwnerBook::default(), cgroups, delay: Delay::default() };
            Ok(Self {
                shared: Arc::new(Shared {
                    state: Mutex::new(state),
                    counters: Mutex::new(counters),
                    ring_fd,
                    root: root.path,
                    _ebpf: Mutex::new(ebpf),
                }),
            })
        }

        fn lock(&self) -> MutexGuard<'_, State> {
            self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// Where the programs are attached (the cgroup v2 root's mount point).
        #[must_use]
        pub fn root(&self) -> &std::path::Path {
            &self.shared.root
        }

        /// The ring's descriptor, for epoll.
        pub(crate) fn ring_fd(&self) -> &OwnedFd {
            &self.shared.ring_fd
        }

        /// Fold every record waiting in the ring into the book; how many. Consumers
        /// call it before they join, so nothing waits for a wakeup.
        #[expect(clippy::must_use_candidate, reason = "draining is the point; the count is for tests")]
        pub fn drain(&self) -> usize {
            let mut state = self.lock();
            drain_locked(&mut state)
        }

        /// The owners of these sockets the book knows, after draining the ring.
        pub fn owners_of(&self, cookies: impl IntoIterator<Item = u64>) -> Vec<(u64, ActOwner)> {
            let mut state = self.lock();
            drain_locked(&mut state);
            let now = Instant::now();
            let State { book, cgroups, .. } = &mut *state;
            cookies
                .into_iter()
                .filter_map(|cookie| {
                    let owner = book.owner(cookie)?;
                    Some((
                        cookie,
                        ActOwner {
                            pid: owner.pid,
                            comm: Arc::clone(&owner.comm),
                            uid: owner.uid,
                            cgroup: cgroups.path(owner.cgroup_id, now),
                            at_ns: owner.at_ns,
                        },
                    ))
                })
                .collect()
        }

        /// The owner of the DNS socket bound to `local`, after draining the ring.
        #[must_use]
        pub fn dns_owner(&self, protocol: Protocol, local: std::net::SocketAddr) -> Option<ActOwner> {
            let cookie = {
                let mut state = self.lock();
                drain_locked(&mut state);
                state.book.cookie_of(protocol, local)?
            };
            self.owners_of([cookie]).pop().map(|(_, owner)| owner)
        }

        /// Forget owners of sockets gone from `live` (the latest dump's cookies,
        /// sorted) and older than the book's recent window.
        pub fn retain_live(&self, live: &[u64]) {
            self.lock().book.retain_live(live, boot_ns());
        }

        /// Records lost because the ring was full (their sockets fall back to /proc).
        #[must_use]
        pub fn lost(&self) -> u64 {
            let counters = self.shared.counters.lock().unwrap_or_else(PoisonError::into_inner);
            counters.get(&0, 0).unwrap_or(0)
        }

        /// Delays from the BPF event to the book so far, and reset them.
        #[must_use]
        pub fn take_delay(&self) -> Delay {
            std::mem::take(&mut self.lock().delay)
        }

        /// Owners held now.
        #[must_use]
        pub fn owners_held(&self) -> usize {
            self.lock().book.len()
        }
    }

    fn drain_locked(state: &mut State) -> usize {
        let mut count = 0;
        let mut acts = Vec::new();
        while let Some(item) = state.ring.next() {
            if let Some(act) = Act::parse(&item) {
                acts.push(act);
            }
            count += 1;
        }
        if acts.is_empty() {
            return count;
        }
        let now = boot_ns();
        for act in acts {
            let delay = now.saturating_sub(act.at_ns);
            state.delay.records += 1;
            state.delay.total_ns = state.delay.total_ns.saturating_add(delay);
            state.delay.max_ns = state.delay.max_ns.max(delay);
            state.delay.over_5ms += u64::from(delay > 5_000_000);
            state.book.record(act);
        }
        count
    }
}
