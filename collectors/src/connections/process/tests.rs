//! Process attribution against a fake `/proc` in a temporary directory: processes are
//! directories with `stat`, `cmdline`, `status`, `limits` and an `fd/` of symlinks,
//! exactly the parts [`ProcessIndex`] reads.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use super::procfs::{command_line, effective_uid, open_files_limit, parse_decimal, socket_inode};
use super::*;

/// `unwrap` that names the failure; the workspace lints forbid `unwrap`, tests included.
trait Must<T> {
    /// The value, or a panic at the caller saying what was there instead.
    fn must(self) -> T;
}

impl<T, E: std::fmt::Debug> Must<T> for Result<T, E> {
    #[track_caller]
    fn must(self) -> T {
        match self {
            Ok(value) => value,
            Err(error) => panic!("unexpected error: {error:?}"),
        }
    }
}

impl<T> Must<T> for Option<T> {
    #[track_caller]
    fn must(self) -> T {
        match self {
            Some(value) => value,
            None => panic!("unexpected None"),
        }
    }
}

/// A process to put in the fake tree.
struct Fake<'a> {
    pid: u32,
    name: &'a str,
    start_time: u64,
    uid: u32,
    cmdline: &'a [u8],
    sockets: &'a [u64],
}

impl<'a> Fake<'a> {
    const fn new(pid: u32, name: &'a str, start_time: u64, sockets: &'a [u64]) -> Self {
        Self { pid, name, start_time, uid: 0, cmdline: b"", sockets }
    }
}

struct FakeProc {
    dir: tempfile::TempDir,
}

impl FakeProc {
    fn new() -> Self {
        let dir = tempfile::tempdir().must();
        // Non-process entries a real /proc has next to the pids.
        fs::create_dir(dir.path().join("sys")).must();
        fs::write(dir.path().join("uptime"), "1.0 1.0\n").must();
        Self { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn process_dir(&self, pid: u32) -> PathBuf {
        self.dir.path().join(pid.to_string())
    }

    /// Create (or replace) a process.
    fn add(&self, fake: &Fake<'_>) {
        let dir = self.process_dir(fake.pid);
        if dir.exists() {
            fs::remove_dir_all(&dir).must();
        }
        fs::create_dir_all(dir.join("fd")).must();
        let (pid, name, start) = (fake.pid, fake.name, fake.start_time);
        fs::write(
            dir.join("stat"),
            format!(
                "{pid} ({name}) S 1 {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 {start} 1000 100\n"
            ),
        )
        .must();
        fs::write(dir.join("comm"), format!("{name}\n")).must();
        fs::write(dir.join("cmdline"), fake.cmdline).must();
        let uid = fake.uid;
        fs::write(
            dir.join("status"),
            format!("Name:\t{name}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t0\t0\t0\t0\n"),
        )
        .must();
        fs::write(
            dir.join("limits"),
            "Limit                     Soft Limit           Hard Limit           Units     \n\
             Max processes             63431                63431                processes \n\
             Max open files            1024                 524288               files     \n",
        )
        .must();
        // Descriptors that are not sockets are counted but never matched.
        symlink("/dev/null", dir.join("fd/0")).must();
        symlink("pipe:[77]", dir.join("fd/1")).must();
        symlink("anon_inode:[eventpoll]", dir.join("fd/2")).must();
        for (n, inode) in fake.sockets.iter().enumerate() {
            symlink(format!("socket:[{inode}]"), dir.join(format!("fd/{}", n + 3))).must();
        }
    }

    fn remove(&self, pid: u32) {
        fs::remove_dir_all(self.process_dir(pid)).must();
    }
}

fn owners(attribution: &Attribution) -> Vec<(u64, u32)> {
    let mut owners = attribution.owners.clone();
    owners.sort_unstable();
    owners
}

fn process(attribution: &Attribution, pid: u32) -> &ProcessInfo {
    attribution.processes.iter().find(|process| process.pid == pid).must()
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn attributes_socket_inodes_to_their_processes() {
    let tree = FakeProc::new();
    tree.add(&Fake {
        uid: 0,
        cmdline: b"nginx\0-g\0daemon off;\0",
        ..Fake::new(100, "nginx", 5000, &[1001, 1002])
    });
    tree.add(&Fake { uid: 4_242_424, cmdline: b"", ..Fake::new(200, "kworker/0:1", 6000, &[2001]) });
    tree.add(&Fake::new(300, "idle", 7000, &[]));
    let mut index = ProcessIndex::new(tree.root());

    let now = Instant::now();
    let found = index.resolve(&[1001, 2001, 3001, 0, 1002, 1001], now);

    assert_eq!(owners(&found), [(1001, 100), (1002, 100), (2001, 200)]);
    assert!(found.all_owners_visible);
    assert_eq!(found.processes.len(), 2, "one entry per owning process: {:?}", found.processes);
    let nginx = process(&found, 100);
    assert_eq!(nginx.name, "nginx");
    assert_eq!(nginx.cmdline, "nginx -g daemon off;");
    assert_eq!(nginx.user, "root");
    assert_eq!(nginx.start_time, 5000);
    assert_eq!(nginx.open_files, Some(5));
    assert_eq!(nginx.open_files_limit, Some(1024));
    let kernel = process(&found, 200);
    assert_eq!(kernel.cmdline, "[kworker/0:1]", "an empty command line shows the name in brackets");
    assert_eq!(kernel.user, "4242424", "an unknown uid shows as the number");
    assert_eq!(index.scans(), 1);
}

#[test]
fn known_inodes_need_no_walk() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(100, "server", 5000, &[1001, 1002]));
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    let first = index.resolve(&[1001, 1002], start);
    assert_eq!(index.scans(), 1);

    // Within the validation interval: nothing is read at all.
    let again = index.resolve(&[1002, 1001], start + SECOND / 2);
    assert_eq!((index.scans(), index.validations()), (1, 0));
    assert_eq!(owners(&again), owners(&first));

    // Later: only the owners' start times are re-read, no walk.
    for n in 2..5 {
        let later = index.resolve(&[1001, 1002], start + SECOND * n);
        assert_eq!(owners(&later), [(1001, 100), (1002, 100)]);
    }
    assert_eq!(index.scans(), 1, "every inode was known: no /proc walk");
    assert_eq!(index.validations(), 3);
}

#[test]
fn new_inodes_wait_for_the_next_allowed_walk() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(100, "server", 5000, &[1001]));
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    index.resolve(&[1001], start);
    assert_eq!(index.scans(), 1);

    tree.add(&Fake::new(100, "server", 5000, &[1001, 1002]));
    let early = index.resolve(&[1001, 1002], start + SECOND / 10);
    assert_eq!(owners(&early), [(1001, 100)], "rate limited: the new inode is not looked for yet");
    assert_eq!(index.scans(), 1);
    let still = index.resolve(&[1001, 1002], start + SECOND * 9 / 10);
    assert_eq!(owners(&still), [(1001, 100)]);
    assert_eq!(index.scans(), 1);

    let allowed = index.resolve(&[1001, 1002], start + SECOND);
    assert_eq!(owners(&allowed), [(1001, 100), (1002, 100)]);
    assert_eq!(index.scans(), 2);
    assert_eq!(process(&allowed, 100).open_files, Some(5), "a walk refreshes the descriptor count");
}

#[test]
fn inodes_nobody_holds_do_not_cause_walks() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(100, "server", 5000, &[1001]));
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    let first = index.resolve(&[1001, 9999], start);
    assert_eq!(owners(&first), [(1001, 100)]);
    for n in 1..4 {
        index.resolve(&[1001, 9999], start + SECOND * n);
    }
    assert_eq!(index.scans(), 1, "an inode the last walk could not find is not a new inode");

    // Something new appears: that walk looks for the old one again too.
    tree.add(&Fake::new(300, "late", 8000, &[9999, 3001]));
    let found = index.resolve(&[1001, 9999, 3001], start + SECOND * 5);
    assert_eq!(owners(&found), [(1001, 100), (3001, 300), (9999, 300)]);
    assert_eq!(index.scans(), 2);
}

#[test]
fn a_reused_pid_is_not_mistaken_for_the_old_process() {
    let tree = FakeProc::new();
    tree.add(&Fake { cmdline: b"old\0", ..Fake::new(100, "old", 5000, &[1001]) });
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    assert_eq!(owners(&index.resolve(&[1001], start)), [(1001, 100)]);

    // The old process exits; a new one gets its pid with other sockets. The old socket
    // is still being asked about (a dump taken before it closed).
    tree.add(&Fake { cmdline: b"new\0", ..Fake::new(100, "new", 9000, &[1005]) });
    let found = index.resolve(&[1001, 1005], start + SECOND * 2);
    assert_eq!(owners(&found), [(1005, 100)], "1001 belonged to the old process 100");
    let new = process(&found, 100);
    assert_eq!((new.name.as_str(), new.cmdline.as_str(), new.start_time), ("new", "new", 9000));
}

#[test]
fn a_reused_pid_is_caught_without_new_inodes() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(100, "old", 5000, &[1001]));
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    assert_eq!(owners(&index.resolve(&[1001], start)), [(1001, 100)]);

    // Only the start time changes: the validation notices, drops the cached owner and
    // walks again, which finds nobody holding 1001.
    tree.add(&Fake::new(100, "new", 9000, &[]));
    let found = index.resolve(&[1001], start + SECOND * 2);
    assert!(found.owners.is_empty(), "{:?}", found.owners);
    assert!(found.processes.is_empty());
    assert_eq!((index.validations(), index.scans()), (1, 2));
}

#[test]
fn a_vanished_process_loses_its_sockets() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(100, "gone", 5000, &[1001]));
    tree.add(&Fake::new(200, "stays", 6000, &[2001]));
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    assert_eq!(owners(&index.resolve(&[1001, 2001], start)), [(1001, 100), (2001, 200)]);

    tree.remove(100);
    let found = index.resolve(&[1001, 2001], start + SECOND * 2);
    assert_eq!(owners(&found), [(2001, 200)]);
    assert_eq!(found.processes.len(), 1);
    assert_eq!(index.scans(), 2, "the orphaned inode was looked for once");
    index.resolve(&[1001, 2001], start + SECOND * 4);
    assert_eq!(index.scans(), 2);
}

#[test]
fn a_process_gone_between_listing_and_reading_is_skipped() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(100, "half", 5000, &[1001]));
    // A process directory whose files are already gone, as after exit mid-walk.
    fs::remove_file(tree.process_dir(100).join("stat")).must();
    tree.add(&Fake::new(200, "whole", 6000, &[2001]));
    let mut index = ProcessIndex::new(tree.root());
    let found = index.resolve(&[1001, 2001], Instant::now());
    assert_eq!(owners(&found), [(2001, 200)]);
    assert!(found.all_owners_visible, "an exited process is not a hidden one");
}

#[test]
fn unreadable_descriptors_are_reported_once_not_guessed() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(100, "mine", 5000, &[1001]));
    tree.add(&Fake::new(200, "theirs", 6000, &[]));
    // Root reads any directory, so an `fd` that cannot be opened as one stands in for
    // another user's EACCES: every error but "gone" means "hidden".
    let fd = tree.process_dir(200).join("fd");
    fs::remove_dir_all(&fd).must();
    fs::write(&fd, "").must();
    let mut index = ProcessIndex::new(tree.root());
    let found = index.resolve(&[1001, 2001], Instant::now());
    assert_eq!(owners(&found), [(1001, 100)]);
    assert!(!found.all_owners_visible);
}

#[test]
fn shared_sockets_go_to_the_lowest_pid() {
    let tree = FakeProc::new();
    for pid in [400, 120, 300] {
        tree.add(&Fake::new(pid, "worker", u64::from(pid) * 10, &[1001]));
    }
    let mut index = ProcessIndex::new(tree.root());
    let found = index.resolve(&[1001], Instant::now());
    assert_eq!(owners(&found), [(1001, 120)]);
    assert_eq!(found.processes.len(), 1);
}

#[test]
fn inodes_and_processes_no_longer_asked_about_are_forgotten() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(100, "a", 5000, &[1001]));
    tree.add(&Fake::new(200, "b", 6000, &[2001]));
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    index.resolve(&[1001, 2001], start);
    assert_eq!((index.inodes.len(), index.processes.len()), (2, 2));
    let found = index.resolve(&[1001], start + SECOND / 2);
    assert_eq!(owners(&found), [(1001, 100)]);
    assert_eq!((index.inodes.len(), index.processes.len()), (1, 1));
    let none = index.resolve(&[], start + SECOND);
    assert_eq!(none, Attribution { all_owners_visible: true, ..Attribution::default() });
    assert_eq!((index.inodes.len(), index.processes.len()), (0, 0));
}

#[test]
fn a_missing_proc_is_not_a_crash() {
    let mut index = ProcessIndex::new(PathBuf::from("/nonexistent/proc"));
    let found = index.resolve(&[1001], Instant::now());
    assert!(found.owners.is_empty());
    assert!(!found.all_owners_visible);
}

#[test]
fn stat_parsing_survives_awkward_names() {
    let text = b"42 (a) (b) c) R 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 123456 0 0\n";
    let stat = parse_stat(text).must();
    assert_eq!(stat.name, "a) (b) c");
    assert_eq!(stat.start_time, 123_456);
    assert_eq!(parse_stat(b"42 (short) R 1 2"), None);
    assert_eq!(parse_stat(b""), None);
    assert_eq!(stat_start_time(b"no parenthesis"), None);
}

#[test]
fn small_parsers() {
    assert_eq!(socket_inode(b"socket:[12345]"), Some(12_345));
    assert_eq!(socket_inode(b"socket:[]"), None);
    assert_eq!(socket_inode(b"socket:[12a]"), None);
    assert_eq!(socket_inode(b"socket:[99999999999999999999999]"), None);
    assert_eq!(socket_inode(b"pipe:[12345]"), None);
    assert_eq!(socket_inode(b"socket:[123"), None);
    assert_eq!(parse_decimal::<u32>(b"4294967296"), None, "too big for a pid");
    assert_eq!(effective_uid("Name:\tx\nUid:\t1000\t0\t1000\t1000\n"), Some(0));
    assert_eq!(effective_uid("garbage"), None);
    assert_eq!(
        open_files_limit("Max open files            unlimited            unlimited            files"),
        None
    );
    assert_eq!(command_line(b"a\0b c\0\0", "x"), "a b c");
    assert_eq!(command_line(b"\0", "x"), "[x]");
    assert_eq!(command_line(b"bad\xff\0", "x"), "bad\u{fffd}");
}

#[test]
fn a_walk_stops_once_every_new_inode_is_found() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(300, "server", 5000, &[3001]));
    tree.add(&Fake::new(500, "hidden", 6000, &[]));
    // Unreadable descriptors (see `unreadable_descriptors_are_reported_once_not_guessed`).
    let fd = tree.process_dir(500).join("fd");
    fs::remove_dir_all(&fd).must();
    fs::write(&fd, "").must();
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    let first = index.resolve(&[3001], start);
    assert_eq!(owners(&first), [(3001, 300)]);
    assert!(first.all_owners_visible, "found before reaching the hidden process");

    tree.add(&Fake::new(300, "server", 5000, &[3001, 3002]));
    let second = index.resolve(&[3001, 3002], start + SECOND);
    assert_eq!(owners(&second), [(3001, 300), (3002, 300)]);
    assert!(second.all_owners_visible);
    assert_eq!(process(&second, 300).open_files, Some(5), "walked processes get a fresh count");

    // An inode nobody visible holds makes the walk go all the way.
    let third = index.resolve(&[3001, 3002, 9999], start + SECOND * 2);
    assert_eq!(owners(&third), [(3001, 300), (3002, 300)]);
    assert!(!third.all_owners_visible);
    assert_eq!(index.scans(), 3);
}

#[test]
fn a_walk_looks_at_known_owners_first() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(300, "server", 5000, &[3001]));
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    index.resolve(&[3001], start);
    // A new socket shared with a lower pid (inherited by a helper, say): the process
    // already known to own sockets is asked first.
    tree.add(&Fake::new(300, "server", 5000, &[3001, 3002]));
    tree.add(&Fake::new(100, "helper", 4000, &[3002]));
    let found = index.resolve(&[3001, 3002], start + SECOND);
    assert_eq!(owners(&found), [(3001, 300), (3002, 300)]);
}

#[test]
fn a_socket_handed_to_a_child_follows_it() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(300, "server", 5000, &[3001]));
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    assert_eq!(owners(&index.resolve(&[3001], start)), [(3001, 300)]);
    // The server accepts another connection (a new inode starts a walk) and hands the
    // first one to a worker it forked, closing its own copy.
    tree.add(&Fake::new(300, "server", 5000, &[3002]));
    tree.add(&Fake::new(400, "worker", 5100, &[3001]));
    let handed = index.resolve(&[3001, 3002], start + SECOND);
    assert!(!owners(&handed).contains(&(3001, 300)), "no longer the server's: {:?}", owners(&handed));
    let found = index.resolve(&[3001, 3002], start + SECOND * 2);
    assert_eq!(owners(&found), [(3001, 400), (3002, 300)], "the next walk finds the worker");
}

#[test]
fn a_socket_its_owner_closed_is_unowned_after_the_next_walk() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(300, "client", 5000, &[3001, 3002]));
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    assert_eq!(owners(&index.resolve(&[3001, 3002], start)), [(3001, 300), (3002, 300)]);
    // 3002 closed, 3003 opened; a dump taken meanwhile still lists 3002.
    tree.add(&Fake::new(300, "client", 5000, &[3001, 3003]));
    let found = index.resolve(&[3001, 3002, 3003], start + SECOND);
    assert_eq!(owners(&found), [(3001, 300), (3003, 300)]);
}

/// After pids wrap, the newest process is the one just below the last pid handed out
/// (`/proc/loadavg`), not the highest pid: a walk for a socket two processes share
/// reaches the young asker first and names it.
#[test]
fn owner_search_looks_at_the_newest_process_first_after_pids_wrap() {
    let fake = FakeProc::new();
    // 30000 is from before the wrap; 12 and 7 are from after it; 12 is the newest.
    fake.add(&Fake::new(30000, "old-daemon", 10, &[500]));
    fake.add(&Fake::new(7, "older", 900, &[500]));
    fake.add(&Fake::new(12, "getent", 990, &[500]));
    fs::write(fake.root().join("loadavg"), "0.10 0.20 0.30 1/99 12\n").must();
    let mut search = search::OwnerSearch::new(fake.root());
    let owners = search.find(&[500]);
    assert_eq!(
        owners.iter().map(|owner| (owner.pid, owner.name.as_str())).collect::<Vec<_>>(),
        [(12, "getent")]
    );

    // Without loadavg (no pid counter to go by), the highest pid counts as newest.
    fs::remove_file(fake.root().join("loadavg")).must();
    let owners = search::OwnerSearch::new(fake.root()).find(&[500]);
    assert_eq!(owners.iter().map(|owner| owner.pid).collect::<Vec<_>>(), [30000]);
}

/// The socket watch asks about a few sockets each refresh and keeps the rest: what is
/// known of the kept ones stays, so asking about them later needs no walk; what is
/// neither asked about nor kept is forgotten.
#[test]
fn kept_inodes_are_remembered_without_being_asked_about() {
    let tree = FakeProc::new();
    tree.add(&Fake::new(100, "server", 5000, &[1001, 1002, 1003]));
    let mut index = ProcessIndex::new(tree.root());
    let start = Instant::now();
    let _ = index.resolve(&[1001, 1002, 1003], start);
    assert_eq!(index.scans(), 1);
    let some = index.resolve_keeping(&[1001], &[1002], start + SECOND * 2);
    assert_eq!(owners(&some), [(1001, 100)], "kept inodes are not reported");
    let later = index.resolve(&[1002], start + SECOND * 4);
    assert_eq!(owners(&later), [(1002, 100)]);
    assert_eq!(index.scans(), 1, "the kept inode was still known: no walk");
    let forgotten = index.resolve(&[1003], start + SECOND * 6);
    assert_eq!(index.scans(), 2, "1003 was neither asked about nor kept: walked again");
    assert_eq!(owners(&forgotten), [(1003, 100)]);
}
