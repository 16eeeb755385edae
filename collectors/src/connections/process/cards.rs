//! What netlens shows about a process it did not find by walking `/proc`: one named
//! by a BPF record (pid, thread name, uid). Its card is read from `/proc/PID` once
//! and cached; a process that has exited since it acted (or whose pid now names a
//! younger process) is described from the record alone. For owners the walk found,
//! the process's cgroup is read from `/proc/PID/cgroup` (BPF records carry theirs).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rustix::fs::{CWD, Mode, OFlags, openat};

use super::procfs::{UserNames, parse_stat, read_at, read_process};
use super::{Identity, SMALL_FILE_LIMIT, VALIDATE_INTERVAL};
use crate::model::ProcessInfo;

/// Cards kept at most; past it the cache starts over (re-reading is cheap).
const MAX_CARDS: usize = 8192;

/// Clock ticks per second of `/proc/PID/stat` start times (`USER_HZ`, 100 on every
/// Linux architecture that matters).
const TICKS_PER_SECOND: u64 = 100;

#[derive(Debug, Clone)]
struct Card {
    info: ProcessInfo,
    checked: Instant,
}

/// Process cards by pid; see the module documentation.
#[derive(Debug)]
pub struct ProcessCards {
    proc_root: PathBuf,
    root: Option<OwnedFd>,
    cards: HashMap<u32, Card>,
    /// Cgroups of `/proc`-found owners, by (pid, start time).
    cgroups: HashMap<(u32, u64), Option<Arc<str>>>,
    users: UserNames,
    file: Vec<u8>,
    path: String,
}

/// What a BPF record says about the actor, for when `/proc` cannot.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// Process id.
    pub pid: u32,
    /// The acting thread's name.
    pub comm: &'a str,
    /// Its uid.
    pub uid: u32,
    /// When it acted, `CLOCK_BOOTTIME` nanoseconds.
    pub at_ns: u64,
}

impl ProcessCards {
    /// Cards read under `proc_root`.
    #[must_use]
    pub fn new(proc_root: PathBuf) -> Self {
        Self {
            proc_root,
            root: None,
            cards: HashMap::new(),
            cgroups: HashMap::new(),
            users: UserNames::default(),
            file: Vec::new(),
            path: String::new(),
        }
    }

    fn open_root(&mut self) {
        if self.root.is_none() {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            self.root = openat(CWD, &self.proc_root, flags, Mode::empty()).ok();
        }
    }

    /// The card of the process a BPF record names.
    pub fn actor(&mut self, actor: Actor<'_>, now: Instant) -> ProcessInfo {
        if let Some(card) = self.cards.get(&actor.pid)
            && now.saturating_duration_since(card.checked) < VALIDATE_INTERVAL
        {
            return card.info.clone();
        }
        match self.read(actor.pid, now) {
            // Started after the act: the pid was reused, the actor is gone.
            Some(card)
                if card.info.start_time.saturating_mul(1_000_000_000 / TICKS_PER_SECOND) <= actor.at_ns =>
            {
                let info = card.info.clone();
                self.keep(actor.pid, card);
                info
            }
            _ => {
                let user = self.users.name(actor.uid, now);
                ProcessInfo {
                    pid: actor.pid,
                    name: actor.comm.to_owned(),
                    cmdline: format!("[{}]", actor.comm),
                    user,
                    start_time: 0,
                    open_files: None,
                    open_files_limit: None,
                }
            }
        }
    }

    /// The cgroup path of a process the `/proc` walk found (its `0::` line): one
    /// read per process, remembered by (pid, start time). A process that moves to
    /// another cgroup later keeps the first path (rare: a unit's processes stay).
    pub fn cgroup(&mut self, process: &ProcessInfo) -> Option<Arc<str>> {
        let key = (process.pid, process.start_time);
        if let Some(cgroup) = self.cgroups.get(&key) {
            return cgroup.clone();
        }
        if self.cgroups.len() >= MAX_CARDS {
            self.cgroups.clear();
        }
        self.open_root();
        let root = self.root.as_ref()?;
        self.path.clear();
        let _ = write!(self.path, "{}/cgroup", process.pid);
        let cgroup = read_at(root, self.path.as_str(), SMALL_FILE_LIMIT, &mut self.file)
            .and_then(|()| unified_cgroup(&String::from_utf8_lossy(&self.file)));
        self.cgroups.insert(key, cgroup.clone());
        cgroup
    }

    fn keep(&mut self, pid: u32, card: Card) {
        if self.cards.len() >= MAX_CARDS && !self.cards.contains_key(&pid) {
            self.cards.clear();
        }
        self.cards.insert(pid, card);
    }

    fn read(&mut self, pid: u32, now: Instant) -> Option<Card> {
        self.open_root();
        let root = self.root.as_ref()?;
        self.path.clear();
        let _ = write!(self.path, "{pid}");
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let process = openat(root, self.path.as_str(), flags, Mode::empty()).ok()?;
        read_at(&process, c"stat", SMALL_FILE_LIMIT, &mut self.file)?;
        let stat = parse_stat(&self.file)?;
        if let Some(card) = self.cards.get_mut(&pid)
            && card.info.start_time == stat.start_time
        {
            card.checked = now;
            return Some(card.clone());
        }
        let identity = Identity { pid, start_time: stat.start_time };
        let info = read_process(&process, identity, stat.name, 0, &mut self.users, now, &mut self.file);
        Some(Card { info: ProcessInfo { open_files: None, ..info }, checked: now })
    }
}

/// The cgroup v2 path from `/proc/PID/cgroup` (the `0::/path` line).
fn unified_cgroup(text: &str) -> Option<Arc<str>> {
    text.lines().find_map(|line| line.strip_prefix("0::")).map(|path| Arc::from(path.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unified_line_is_the_cgroup() {
        let hybrid = "12:pids:/user.slice\n1:name=systemd:/user.slice/session-2.scope\n0::/user.slice/session-2.scope\n";
        assert_eq!(unified_cgroup(hybrid).as_deref(), Some("/user.slice/session-2.scope"));
        assert_eq!(unified_cgroup("1:cpu:/\n"), None, "cgroup v1 only");
    }

    #[test]
    fn a_live_actor_is_read_from_proc_and_a_gone_one_from_its_record() {
        let mut cards = ProcessCards::new(PathBuf::from("/proc"));
        let now = Instant::now();
        let me = std::process::id();
        let live = cards.actor(Actor { pid: me, comm: "thread", uid: 0, at_ns: u64::MAX }, now);
        assert_eq!(live.pid, me);
        assert_ne!(live.start_time, 0, "read from /proc/{me}/stat");
        let later = now + VALIDATE_INTERVAL;
        let reused = cards.actor(Actor { pid: me, comm: "gone", uid: 0, at_ns: 0 }, later);
        assert_eq!((reused.name.as_str(), reused.start_time), ("gone", 0), "this process started after boot");
    }
}
