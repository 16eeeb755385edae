//! The cgroup v2 hierarchy: where its root is mounted, and the path of a cgroup id.
//!
//! In cgroup2fs a cgroup's id (what `bpf_get_current_cgroup_id` returns) is the inode
//! number of its directory, so a walk of the hierarchy that notes each directory's
//! inode answers every id at once. The walk is cached and repeated only when an id
//! is missing (a cgroup made since), at most once per [`WALK_INTERVAL`]; the table is
//! bounded by [`MAX_CGROUPS`].

use std::collections::HashMap;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::fs::{Dir, FileType, Mode, OFlags, openat};

/// The shortest time between two walks of the hierarchy.
pub const WALK_INTERVAL: Duration = Duration::from_secs(1);

/// Cgroups remembered at most (a walk stops there).
pub const MAX_CGROUPS: usize = 65_536;

/// Nesting followed at most.
const MAX_DEPTH: usize = 32;

/// The root of the cgroup v2 hierarchy, opened.
#[derive(Debug)]
pub struct CgroupRoot {
    /// Where it is mounted.
    pub path: PathBuf,
    /// The open directory: attach target and walk start (it stays valid when the
    /// mount is hidden later, as `--netns` does by remounting `/sys`).
    pub fd: OwnedFd,
}

impl CgroupRoot {
    /// Find the cgroup2 mount in `/proc/self/mountinfo` and open it.
    pub fn find() -> io::Result<Self> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
        let path = cgroup2_mount(&mountinfo).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no cgroup v2 hierarchy is mounted (/proc/self/mountinfo has no cgroup2 line); \
                 mount one with `mount -t cgroup2 none /sys/fs/cgroup`, or, under `ip netns exec` \
                 (which mounts a fresh /sys without it), run `netlens --netns NAME` instead",
            )
        })?;
        let fd = openat(
            rustix::fs::CWD,
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|error| {
            io::Error::new(io::Error::from(error).kind(), format!("opening {}: {error}", path.display()))
        })?;
        Ok(Self { path, fd })
    }
}

/// The mount point of the first cgroup2 file system whose root is the hierarchy's
/// root (`/` in field 4: not a subtree bind-mounted into a container).
#[must_use]
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (mount, filesystem) = line.split_once(" - ")?;
        if filesystem.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = mount.split_whitespace();
        let root = fields.nth(3)?;
        let point = fields.next()?;
        (root == "/").then(|| PathBuf::from(unescape(point)))
    })
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\'
            && index + 3 < bytes.len()
            && let Ok(code) = u8::from_str_radix(&field[index + 1..index + 4], 8)
        {
            out.push(code);
            index += 4;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Cgroup id → path below the root (`/system.slice/nginx.service`); see the module
/// documentation.
#[derive(Debug)]
pub struct CgroupPaths {
    root: OwnedFd,
    paths: HashMap<u64, Arc<str>>,
    last_walk: Option<Instant>,
    walks: u64,
}

impl CgroupPaths {
    /// Paths under the hierarchy whose root directory `root` is.
    #[must_use]
    pub fn new(root: OwnedFd) -> Self {
        Self { root, paths: HashMap::new(), last_walk: None, walks: 0 }
    }

    /// How many walks so far.
    #[must_use]
    pub const fn walks(&self) -> u64 {
        self.walks
    }

    /// The path of cgroup `id`, walking the hierarchy again if it is unknown and the
    /// last walk is old enough.
    pub fn path(&mut self, id: u64, now: Instant) -> Option<Arc<str>> {
        if let Some(path) = self.paths.get(&id) {
            return Some(Arc::clone(path));
        }
        if self.last_walk.is_some_and(|last| now.saturating_duration_since(last) < WALK_INTERVAL) {
            return None;
        }
        self.walk(now);
        self.paths.get(&id).cloned()
    }

    fn walk(&mut self, now: Instant) {
        self.last_walk = Some(now);
        self.walks += 1;
        let mut paths = HashMap::new();
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        // The root itself: its id is its inode.
        if let Ok(stat) = rustix::fs::fstat(&self.root) {
            paths.insert(stat.st_ino, Arc::from("/"));
        }
        let Ok(root) = openat(&self.root, c".", flags, Mode::empty()) else { return };
        let mut pending: Vec<(OwnedFd, String, usize)> = vec![(root, String::new(), 0)];
        while let Some((directory, prefix, depth)) = pending.pop() {
            let Ok(entries) = Dir::read_from(&directory) else { continue };
            for entry in entries.flatten() {
                if entry.file_type() != FileType::Directory {
                    continue;
                }
                let name = entry.file_name().to_string_lossy();
                if name == "." || name == ".." {
                    continue;
                }
                if paths.len() >= MAX_CGROUPS {
                    break;
                }
                let path = format!("{prefix}/{name}");
                paths.insert(entry.ino(), Arc::from(path.as_str()));
                if depth + 1 < MAX_DEPTH
                    && let Ok(child) = openat(&directory, entry.file_name(), flags, Mode::empty())
                {
                    pending.push((child, path, depth + 1));
                }
            }
        }
        self.paths = paths;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount_whatever_its_place() {
        let hybrid = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                      40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n\
                      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup2_mount(hybrid), Some(PathBuf::from("/sys/fs/cgroup/unified")));
        let unified = "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(cgroup2_mount(unified), Some(PathBuf::from("/sys/fs/cgroup")));
        let subtree = "30 23 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup2_mount(subtree), None, "a container's subtree is not the root");
        let spaced = "30 23 0:26 / /mnt/my\\040cgroups rw - cgroup2 none rw\n";
        assert_eq!(cgroup2_mount(spaced), Some(PathBuf::from("/mnt/my cgroups")));
        assert_eq!(cgroup2_mount("30 23 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"), None);
    }

    #[test]
    fn a_walk_names_every_directory_by_its_inode() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
        let nested = dir.path().join("system.slice/nginx.service");
        std::fs::create_dir_all(&nested).unwrap_or_else(|error| panic!("mkdir: {error}"));
        let ino = std::fs::metadata(&nested).map(|meta| meta.ino()).unwrap_or_default();
        let root = openat(rustix::fs::CWD, dir.path(), OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())
            .unwrap_or_else(|error| panic!("open: {error}"));
        let mut paths = CgroupPaths::new(root);
        let now = Instant::now();
        assert_eq!(paths.path(ino, now).as_deref(), Some("/system.slice/nginx.service"));
        assert_eq!(paths.path(1, now), None, "unknown id");
        assert_eq!(paths.walks(), 1, "a miss within the interval does not walk again");
        std::fs::create_dir(nested.join("child")).unwrap_or_else(|error| panic!("mkdir: {error}"));
        let child = std::fs::metadata(nested.join("child")).map(|meta| meta.ino()).unwrap_or_default();
        let later = now + WALK_INTERVAL;
        assert_eq!(paths.path(child, later).as_deref(), Some("/system.slice/nginx.service/child"));
    }
}
