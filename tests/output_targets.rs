//! `netlens snapshot -o TARGET` for every kind of target a user (or an attacker
//! preparing names in a shared directory) can put there: the target keeps its type,
//! a reader gets one complete document, and a write that cannot happen exits 2,
//! names the path and leaves nothing behind.

mod support;

use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;

use support::{netlens, run, stderr, stdout, tempdir};

/// `nobody`: the unprivileged user the non-root cases run as.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn require_root(why: &str) -> bool {
    if is_root() {
        return true;
    }
    let required = std::env::var_os("NETLENS_REQUIRE_NETNS").is_some_and(|v| v == "1");
    assert!(!required, "needs root ({why}), and NETLENS_REQUIRE_NETNS=1 forbids skipping");
    eprintln!("skipped: needs root ({why})");
    false
}

fn snapshot_to(home: &Path, target: &Path) -> std::process::Output {
    run(netlens(home).args(["--demo", "snapshot", "-d", "100ms", "-o"]).arg(target))
}

fn parse(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not one JSON document ({error}): {text:.200}"))
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|it| it.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn dash_is_standard_output_and_no_file_named_dash() {
    let home = tempdir();
    let output = run(netlens(home.path())
        .current_dir(home.path())
        .args(["--demo", "snapshot", "-d", "100ms", "-o", "-"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(parse(&stdout(&output))["schema_version"], 1);
    assert!(!home.path().join("-").exists(), "-o - wrote a file named -");
}

#[test]
fn a_fifo_reader_receives_one_complete_document() {
    let home = tempdir();
    let fifo = home.path().join("pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .unwrap_or_else(|e| panic!("{e}"));
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::fs::File::open(&reader_path)
            .and_then(|mut file| file.read_to_string(&mut text))
            .unwrap_or_else(|e| panic!("reading the FIFO: {e}"));
        text
    });
    let output = snapshot_to(home.path(), &fifo);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = reader.join().unwrap_or_else(|_| panic!("reader thread"));
    assert_eq!(parse(&text)["schema_version"], 1);
    assert!(std::fs::symlink_metadata(&fifo).is_ok_and(|m| m.file_type().is_fifo()), "the FIFO was replaced");
}

#[test]
fn a_character_device_keeps_its_type() {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    if !require_root("mknod") {
        return;
    }
    let home = tempdir();
    // /dev/null's twin: the real one is never at stake in a test.
    let null = home.path().join("null");
    mknod(&null, SFlag::S_IFCHR, Mode::from_bits_truncate(0o666), makedev(1, 3))
        .unwrap_or_else(|e| panic!("{e}"));
    let output = snapshot_to(home.path(), &null);
    assert!(output.status.success(), "{}", stderr(&output));
    let meta = std::fs::symlink_metadata(&null).unwrap_or_else(|e| panic!("{e}"));
    assert!(meta.file_type().is_char_device(), "the device was replaced by a regular file");
    assert_eq!((meta.rdev() >> 8) & 0xfff, 1, "same device");
}

#[test]
fn a_directory_is_refused_with_exit_2() {
    let home = tempdir();
    let output = snapshot_to(home.path(), home.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains(&home.path().display().to_string()) && message.contains("is a directory"),
        "{message}"
    );
}

/// The same command as `nobody`: a file in a directory nobody may write is created
/// 0600 and owned by nobody; a directory it may not write gives exit 2 and the path.
#[test]
fn as_an_unprivileged_user() {
    if !require_root("switching to the nobody user") {
        return;
    }
    let home = tempdir();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let own = home.path().join("nobody");
    std::fs::create_dir(&own).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::chown(&own, Some(NOBODY), Some(NOBODY)).unwrap_or_else(|e| panic!("{e}"));
    let as_nobody = |target: &Path| {
        let mut command = netlens(&own);
        command.uid(NOBODY).gid(NOBODY).args(["--demo", "snapshot", "-d", "100ms", "-o"]).arg(target);
        run(&mut command)
    };
    let written = own.join("snap.json");
    let output = as_nobody(&written);
    assert!(output.status.success(), "{}", stderr(&output));
    let meta = std::fs::metadata(&written).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((meta.mode() & 0o777, meta.uid()), (0o600, NOBODY));

    let forbidden = home.path().join("root-only.json");
    let output = as_nobody(&forbidden);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains(&forbidden.display().to_string()) && message.contains("permission denied"),
        "{message}"
    );
    assert!(!forbidden.exists());
}

/// A read-only file system and a full disk (a tiny tmpfs, mounted in a private mount
/// namespace so the machine's mounts are never touched): exit 2, the path and the
/// cause named, and nothing left in the directory.
#[test]
fn read_only_and_full_file_systems() {
    if !require_root("mounting a tmpfs in a private mount namespace") {
        return;
    }
    let home = tempdir();
    let mount_point = home.path().join("mnt");
    std::fs::create_dir(&mount_point).unwrap_or_else(|e| panic!("{e}"));
    let target = mount_point.join("snap.json");
    for (options, cause) in [("ro,size=1m", "read-only"), ("size=8k", "no space left")] {
        let script = format!(
            "mount -t tmpfs -o {options} netlens-test \"$1\" || exit 99; \"$2\" --demo snapshot -d 100ms -o \"$1/snap.json\"; \
             status=$?; echo \"left: $(ls -A \"$1\")\" >&2; exit $status"
        );
        let output = run(Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script, "sh"])
            .arg(&mount_point)
            .arg(env!("CARGO_BIN_EXE_netlens"))
            .env("HOME", home.path())
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("XDG_CONFIG_HOME", home.path().join("config")));
        let message = stderr(&output);
        assert_ne!(output.status.code(), Some(99), "could not mount a tmpfs: {message}");
        assert_eq!(output.status.code(), Some(2), "{options}: {message}");
        assert!(
            message.contains(&target.display().to_string()) && message.contains(cause),
            "{options}: {message}"
        );
        assert!(message.contains("left: \n"), "{options}: files left: {message}");
    }
    assert!(names_in(&mount_point).is_empty(), "the tmpfs leaked out of its mount namespace");
}

/// Restores `fs.protected_symlinks` on drop.
struct ProtectedSymlinks(String);

impl Drop for ProtectedSymlinks {
    fn drop(&mut self) {
        let _ = std::fs::write("/proc/sys/fs/protected_symlinks", &self.0);
    }
}

/// A symlink planted by another user in a sticky world-writable directory (as in
/// /tmp) is opened through the link, so the kernel's `protected_symlinks` rule stops
/// root from writing through it; netlens does not resolve it by hand and rename onto
/// the victim.
#[test]
fn a_planted_symlink_in_a_sticky_directory_is_refused_by_the_kernel() {
    if !require_root("a symlink owned by another user and the protected_symlinks sysctl") {
        return;
    }
    let home = tempdir();
    let shared = home.path().join("shared");
    std::fs::create_dir(&shared).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777))
        .unwrap_or_else(|e| panic!("{e}"));
    let victim = home.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap_or_else(|e| panic!("{e}"));
    let link = shared.join("snap.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap_or_else(|e| panic!("{e}"));

    let old = std::fs::read_to_string("/proc/sys/fs/protected_symlinks").unwrap_or_else(|e| panic!("{e}"));
    let _restore = ProtectedSymlinks(old);
    std::fs::write("/proc/sys/fs/protected_symlinks", "1").unwrap_or_else(|e| panic!("{e}"));
    let output = snapshot_to(home.path(), &link);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains(&link.display().to_string()) && message.contains("protected_symlinks"),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap_or_default(), "precious\n");
    assert!(std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()), "the link stays");
}
