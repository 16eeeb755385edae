//! Reading `/proc`: process directory listings, socket links among a process's
//! descriptors, and the `stat`, `status`, `limits` and `cmdline` files, through
//! rustix into reused buffers (no allocation per descriptor).

use std::collections::HashMap;
use std::fs::File;
use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags, RawDir, SeekFrom, openat, readlinkat_raw, seek};

use super::{Identity, SMALL_FILE_LIMIT, due};
use crate::model::ProcessInfo;

/// New accounts are rare: re-read the user list at most this often, on a miss.
const USERS_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// Command lines can be megabytes; a table cell needs the start.
const CMDLINE_LIMIT: u64 = 4096;

/// Room for the longest socket link, `socket:[18446744073709551615]`.
const LINK_BUFFER: usize = 32;

/// The numeric entries of the process directory, in order.
pub(super) fn list_pids(root: &OwnedFd, buffer: &mut Vec<u8>, pids: &mut Vec<u32>) {
    pids.clear();
    // The descriptor is kept between walks: start the listing over.
    if seek(root, SeekFrom::Start(0)).is_err() {
        return;
    }
    let mut entries = RawDir::new(root, buffer.spare_capacity_mut());
    while let Some(Ok(entry)) = entries.next() {
        if let Some(pid) = parse_decimal(entry.file_name().to_bytes()) {
            pids.push(pid);
        }
    }
    // `/proc` lists in pid order already; other trees (the tests') may not.
    pids.sort_unstable();
}

/// Call `each` with the inode of every socket among the descriptors in `fds`;
/// returns how many descriptors there are.
pub(super) fn walk_fds(fds: &OwnedFd, buffer: &mut Vec<u8>, mut each: impl FnMut(u64)) -> u64 {
    let mut count = 0;
    let mut link = [0u8; LINK_BUFFER];
    let mut entries = RawDir::new(fds, buffer.spare_capacity_mut());
    // An error mid-listing means the process exited: what was read stands.
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.file_name();
        if name.to_bytes().first() == Some(&b'.') {
            continue;
        }
        count += 1;
        // A descriptor closed since the listing: skip it.
        if let Ok(length) = readlinkat_raw(fds, name, &mut link[..])
            && let Some(inode) = socket_inode(&link[..length.min(LINK_BUFFER)])
        {
            each(inode);
        }
    }
    count
}

/// The inode of a `socket:[INODE]` link target.
pub(super) fn socket_inode(target: &[u8]) -> Option<u64> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    parse_decimal(digits)
}

/// A non-empty run of ASCII digits, without allocating.
pub(super) fn parse_decimal<T: TryFrom<u64>>(digits: &[u8]) -> Option<T> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))?;
    }
    T::try_from(value).ok()
}

/// Read at most `limit` bytes of `name` under `directory` into `buffer`.
pub(super) fn read_at<P: rustix::path::Arg>(
    directory: &OwnedFd,
    name: P,
    limit: u64,
    buffer: &mut Vec<u8>,
) -> Option<()> {
    let fd = openat(directory, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    buffer.clear();
    File::from(fd).take(limit).read_to_end(buffer).ok()?;
    Some(())
}

/// The parts of `/proc/PID/stat` attribution needs.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Stat {
    /// `comm`, between the first `(` and the last `)` (it may hold either).
    pub(super) name: String,
    pub(super) start_time: u64,
}

pub(super) fn parse_stat(text: &[u8]) -> Option<Stat> {
    let open = text.iter().position(|&byte| byte == b'(')?;
    let close = text.iter().rposition(|&byte| byte == b')')?;
    let name = String::from_utf8_lossy(text.get(open + 1..close)?).into_owned();
    Some(Stat { name, start_time: stat_start_time(text)? })
}

/// Field 22, `starttime`: the 20th field after the parenthesised name (field 2).
pub(super) fn stat_start_time(text: &[u8]) -> Option<u64> {
    let close = text.iter().rposition(|&byte| byte == b')')?;
    let field =
        text.get(close + 1..)?.split(u8::is_ascii_whitespace).filter(|field| !field.is_empty()).nth(19)?;
    parse_decimal(field)
}

/// The effective uid from `/proc/PID/status` (`Uid: real effective saved fs`).
pub(super) fn effective_uid(status: &str) -> Option<u32> {
    status.lines().find_map(|line| line.strip_prefix("Uid:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// The soft `Max open files` limit from `/proc/PID/limits`; `None` when unlimited.
pub(super) fn open_files_limit(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `cmdline` with its NUL separators as spaces; `[name]` when empty (kernel threads,
/// zombies).
pub(super) fn command_line(raw: &[u8], name: &str) -> String {
    let text: String =
        String::from_utf8_lossy(raw).chars().map(|c| if c == '\0' { ' ' } else { c }).collect();
    let text = text.trim_end();
    if text.is_empty() { format!("[{name}]") } else { text.to_owned() }
}

/// Everything else about a newly seen owner, read through its directory.
pub(super) fn read_process(
    process: &OwnedFd,
    identity: Identity,
    name: String,
    open_files: u64,
    users: &mut UserNames,
    now: Instant,
    file: &mut Vec<u8>,
) -> ProcessInfo {
    let cmdline = match read_at(process, c"cmdline", CMDLINE_LIMIT, file) {
        Some(()) => command_line(file, &name),
        None => format!("[{name}]"),
    };
    let uid = read_at(process, c"status", SMALL_FILE_LIMIT, file)
        .and_then(|()| effective_uid(&String::from_utf8_lossy(file)));
    let user = uid.map_or_else(|| "?".to_owned(), |uid| users.name(uid, now));
    let open_files_limit = read_at(process, c"limits", SMALL_FILE_LIMIT, file)
        .and_then(|()| open_files_limit(&String::from_utf8_lossy(file)));
    ProcessInfo {
        pid: identity.pid,
        name,
        cmdline,
        user,
        start_time: identity.start_time,
        open_files: Some(open_files),
        open_files_limit,
    }
}

/// Uid → user name, from sysinfo's user list (which reads the local account
/// database), cached. Accounts sysinfo leaves out (no login shell) show as the uid.
#[derive(Debug, Default)]
pub(super) struct UserNames {
    names: HashMap<u32, String>,
    refreshed: Option<Instant>,
}

impl UserNames {
    pub(super) fn name(&mut self, uid: u32, now: Instant) -> String {
        if let Some(name) = self.names.get(&uid) {
            return name.clone();
        }
        if due(self.refreshed, now, USERS_REFRESH_INTERVAL) {
            self.refreshed = Some(now);
            if let Ok(users) = sysinfo::Users::new_with_refreshed_list() {
                for user in &users {
                    self.names.insert(**user.id(), user.name().to_owned());
                }
            }
        }
        self.names.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }
}
