//! The Landlock write restriction: after set-up, netlens may create, change, rename
//! or remove files only where it writes on purpose.
//!
//! Only write rights are handled; reads, execution, `ioctl` on devices (the terminal)
//! and connecting to Unix sockets (nscd, systemd-resolved's varlink socket, which
//! `getaddrinfo` may use) stay as they were. Landlock applies to the calling thread
//! and the threads it creates later, so, like the capability drop, this runs before
//! the first other thread exists.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use landlock::{
    AccessFs, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr as _, RulesetCreatedAttr as _,
    RulesetStatus, make_bitflags,
};
use netlens_collectors::model::Landlock;

/// The write operations restricted. Landlock's own "write" group would also take
/// `IoctlDev` (the terminal's `ioctl`s once `/dev/tty` is reopened) and `ResolveUnix`
/// (connecting to named Unix sockets): neither writes a file, so neither is handled.
/// `Refer` needs Landlock ABI 2 (Linux 5.19) and `Truncate` ABI 3 (Linux 6.2); on an
/// older kernel they are left out and the status says `partial`.
const WRITES: BitFlags<AccessFs> = make_bitflags!(AccessFs::{
    WriteFile | RemoveDir | RemoveFile | MakeChar | MakeDir | MakeReg | MakeSock | MakeFifo | MakeBlock
        | MakeSym | Refer | Truncate
});

/// What may be written to a single file (a rule on a file takes only file rights).
const FILE_WRITES: BitFlags<AccessFs> = make_bitflags!(AccessFs::{ WriteFile | Truncate });

/// Where writes stay allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writes {
    /// Directories in which anything may be written, beneath them included.
    pub dirs: Vec<PathBuf>,
    /// Single files that may be written (not created, removed or renamed).
    pub files: Vec<PathBuf>,
}

impl Writes {
    /// Allow writing beneath `dir` (made absolute, so the notice names it whatever
    /// the working directory).
    pub fn dir(&mut self, dir: impl Into<PathBuf>) {
        self.dirs.push(absolute(dir.into()));
    }

    /// Allow writing `file`.
    pub fn file(&mut self, file: impl Into<PathBuf>) {
        self.files.push(absolute(file.into()));
    }

    /// Allow what writing a snapshot to `path` (`netlens snapshot -o PATH`) takes, by
    /// what the name is now, as `output::write` decides: a new or regular file is
    /// made in its directory and renamed over it; a symlink or a file with other hard
    /// links is written through, from an unnamed temporary file in the temporary
    /// directory; a device or FIFO is written in place.
    pub fn output(&mut self, path: &Path) {
        let parent = |path: &Path| match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match std::fs::symlink_metadata(path) {
            Err(_) => self.dir(parent(path)),
            Ok(meta) if meta.file_type().is_symlink() => {
                // The link may lead to a name that does not exist yet: allow its directory.
                match std::fs::canonicalize(path) {
                    Ok(target) => self.file(target),
                    Err(_) => {
                        if let Ok(link) = std::fs::read_link(path) {
                            self.dir(parent(&parent(path).join(link)));
                        }
                    }
                }
                self.dir(std::env::temp_dir());
            }
            Ok(meta) if meta.is_file() => {
                use std::os::unix::fs::MetadataExt as _;
                if meta.nlink() > 1 {
                    self.file(path);
                    self.dir(std::env::temp_dir());
                } else {
                    self.dir(parent(path));
                }
            }
            Ok(_) => self.file(path),
        }
    }
}

/// `path` against the working directory, lexically (it may not exist yet).
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

/// How the restriction went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The state the snapshot and the Overview report.
    pub state: Landlock,
    /// One line for the timeline and the log.
    pub detail: String,
}

/// Restrict this thread (and every thread it starts later) to writing only where
/// `writes` allows. A path that does not exist is skipped and named in the detail.
#[must_use]
pub fn restrict_writes(writes: &Writes) -> Outcome {
    let mut missing = Vec::new();
    let result = build_and_restrict(writes, &mut missing);
    let allowed: Vec<String> = writes
        .dirs
        .iter()
        .chain(&writes.files)
        .filter(|path| !missing.contains(path))
        .map(|path| path.display().to_string())
        .collect();
    let mut outcome = match result {
        Ok(RulesetStatus::FullyEnforced) => Outcome {
            state: Landlock::Enforced,
            detail: format!("landlock: writes only to {}", allowed.join(", ")),
        },
        Ok(RulesetStatus::PartiallyEnforced) => Outcome {
            state: Landlock::Partial,
            detail: format!(
                "landlock partial (this kernel's Landlock predates some rights): writes only to {}",
                allowed.join(", ")
            ),
        },
        Ok(RulesetStatus::NotEnforced) => Outcome {
            state: Landlock::Unsupported,
            detail: "landlock unsupported by this kernel: writes are not restricted".to_owned(),
        },
        Err(error) => Outcome {
            state: Landlock::Failed,
            detail: format!("landlock failed, writes are not restricted: {error}"),
        },
    };
    if !missing.is_empty() && outcome.state != Landlock::Unsupported {
        let names: Vec<String> = missing.iter().map(|path| path.display().to_string()).collect();
        let _ = write!(
            outcome.detail,
            "; {} did not exist at start, so nothing can be written there until netlens restarts",
            names.join(", ")
        );
    }
    outcome
}

fn build_and_restrict(
    writes: &Writes,
    missing: &mut Vec<PathBuf>,
) -> Result<RulesetStatus, landlock::RulesetError> {
    let mut ruleset = Ruleset::default().handle_access(WRITES)?.create()?;
    for (paths, access) in [(&writes.dirs, WRITES), (&writes.files, FILE_WRITES)] {
        for path in paths {
            match PathFd::new(path) {
                Ok(fd) => ruleset = ruleset.add_rule(PathBeneath::new(fd, access))?,
                Err(_) => missing.push(path.clone()),
            }
        }
    }
    Ok(ruleset.restrict_self()?.ruleset)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

    use super::*;

    /// Where a snapshot's `-o` may write follows what the name is.
    #[test]
    fn output_rules_follow_the_kind_of_name() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        let mut writes = Writes::default();
        writes.output(&new);
        assert_eq!(writes, Writes { dirs: vec![dir.path().to_path_buf()], files: vec![] });

        let linked = dir.path().join("a.json");
        std::fs::write(&linked, "").unwrap();
        std::fs::hard_link(&linked, dir.path().join("b.json")).unwrap();
        let mut writes = Writes::default();
        writes.output(&linked);
        assert_eq!(writes, Writes { dirs: vec![std::env::temp_dir()], files: vec![linked.clone()] });

        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(dir.path().join("elsewhere/missing.json"), &link).unwrap();
        let mut writes = Writes::default();
        writes.output(&link);
        assert_eq!(writes.dirs, [dir.path().join("elsewhere"), std::env::temp_dir()]);

        let mut writes = Writes::default();
        writes.output(Path::new("/dev/null"));
        assert_eq!(writes, Writes { dirs: vec![], files: vec![PathBuf::from("/dev/null")] });

        let mut writes = Writes::default();
        writes.output(Path::new("bare.json"));
        assert_eq!(writes.dirs, [std::env::current_dir().unwrap()], "named absolutely in the notice");
    }

    /// The restriction itself, in a thread of its own (Landlock without `TSYNC` binds
    /// only the calling thread, so the rest of the test process stays free): writes go
    /// through in the allowed directory and file, are refused elsewhere, and reads are
    /// untouched.
    #[test]
    fn writes_only_where_allowed() {
        let allowed = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let log = elsewhere.path().join("netlens.log");
        std::fs::write(&log, "").unwrap();
        std::fs::write(elsewhere.path().join("existing"), "kept").unwrap();
        let missing = elsewhere.path().join("not-yet");
        let writes =
            Writes { dirs: vec![allowed.path().to_path_buf(), missing.clone()], files: vec![log.clone()] };
        let (allowed_dir, elsewhere_dir) = (allowed.path().to_path_buf(), elsewhere.path().to_path_buf());
        let outcome = std::thread::spawn(move || {
            let outcome = restrict_writes(&writes);
            if outcome.state != Landlock::Enforced {
                return outcome;
            }
            std::fs::create_dir(allowed_dir.join("sub")).unwrap();
            std::fs::write(allowed_dir.join("sub/export.json"), "{}").unwrap();
            std::fs::rename(allowed_dir.join("sub/export.json"), allowed_dir.join("sub/moved.json")).unwrap();
            std::fs::OpenOptions::new().append(true).open(&log).unwrap();
            let refused = std::fs::write(elsewhere_dir.join("new"), "x").unwrap_err();
            assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied, "{refused}");
            let refused = std::fs::remove_file(elsewhere_dir.join("existing")).unwrap_err();
            assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied, "{refused}");
            assert_eq!(std::fs::read_to_string(elsewhere_dir.join("existing")).unwrap(), "kept");
            assert!(rustix::thread::no_new_privs().unwrap(), "Landlock requires no_new_privs");
            outcome
        })
        .join()
        .unwrap();
        match outcome.state {
            Landlock::Enforced => {
                assert!(outcome.detail.contains(&allowed.path().display().to_string()), "{}", outcome.detail);
                assert!(outcome.detail.contains("not-yet did not exist at start"), "{}", outcome.detail);
            }
            other => {
                assert!(
                    std::env::var("NETLENS_REQUIRE_NETNS").as_deref() != Ok("1"),
                    "Landlock is {other:?} here ({}), and NETLENS_REQUIRE_NETNS=1 forbids skipping",
                    outcome.detail
                );
                eprintln!("skipping: Landlock is {other:?}: {}", outcome.detail);
            }
        }
        // This thread was never restricted.
        std::fs::write(elsewhere.path().join("free"), "x").unwrap();
    }
}
