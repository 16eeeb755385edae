#![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::os::unix::net::UnixListener;
use std::path::Path;

use super::*;

const DOC: &str = "{\n  \"schema_version\": 1\n}\n";

fn doc() -> Box<Render<'static>> {
    Box::new(|out: &mut dyn Write| out.write_all(DOC.as_bytes()))
}

fn failing() -> Box<Render<'static>> {
    Box::new(|out: &mut dyn Write| {
        out.write_all(b"{ half")?;
        Err(io::Error::other("render failed"))
    })
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|it| it.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn dash_is_standard_output() {
    assert_eq!(Output::from_arg(OsStr::new("-")), Output::Stdout);
    assert_eq!(Output::from_arg(OsStr::new("./-")), Output::Path(PathBuf::from("./-")));
}

#[test]
fn a_new_file_is_complete_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    write(&Output::Path(path.clone()), doc()).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), DOC);
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    assert_eq!(entries(dir.path()), ["snap.json"], "no temporary file is left");
}

#[test]
fn a_regular_file_is_replaced_keeping_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    std::fs::write(&path, "old contents that are longer than the new document, by a good margin\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let old_inode = std::fs::metadata(&path).unwrap().ino();
    write(&Output::Path(path.clone()), doc()).unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), DOC);
    assert_eq!(meta.mode() & 0o777, 0o640);
    assert_ne!(meta.ino(), old_inode, "replaced by rename, not rewritten");
    assert_eq!(entries(dir.path()), ["snap.json"]);
}

#[test]
fn a_failed_render_leaves_the_old_file_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    std::fs::write(&path, "old\n").unwrap();
    let error = write(&Output::Path(path.clone()), failing()).unwrap_err();
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
    assert!(error.to_string().contains("render failed"), "{error}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
    assert_eq!(entries(dir.path()), ["snap.json"]);
    let new = dir.path().join("new.json");
    assert!(write(&Output::Path(new.clone()), failing()).is_err());
    assert!(!new.exists());
    assert_eq!(entries(dir.path()), ["snap.json"]);
}

#[test]
fn a_hard_linked_file_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    let other = dir.path().join("other-name.json");
    std::fs::write(&path, "old contents, longer than the document that replaces them\n").unwrap();
    std::fs::hard_link(&path, &other).unwrap();
    write(&Output::Path(path.clone()), doc()).unwrap();
    assert_eq!(std::fs::read_to_string(&other).unwrap(), DOC, "every name sees the new document");
    assert_eq!(std::fs::metadata(&path).unwrap().nlink(), 2);
}

#[test]
fn a_symlink_is_written_through_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.json");
    let link = dir.path().join("link.json");
    std::fs::write(&target, "old contents, longer than the document that replaces them\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink("real.json", &link).unwrap();
    write(&Output::Path(link.clone()), doc()).unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("real.json"));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), DOC);
    assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o777, 0o644);
    assert_eq!(entries(dir.path()), ["link.json", "real.json"]);
}

#[test]
fn a_dangling_symlink_creates_its_target_as_a_shell_does() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("made.json", &link).unwrap();
    write(&Output::Path(link.clone()), doc()).unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(dir.path().join("made.json")).unwrap(), DOC);
    assert_eq!(std::fs::metadata(dir.path().join("made.json")).unwrap().mode() & 0o777, 0o600);
}

#[test]
fn a_fifo_reader_receives_one_complete_document_and_the_fifo_stays() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        File::open(&reader_path).unwrap().read_to_string(&mut text).unwrap();
        text
    });
    write(&Output::Path(fifo.clone()), doc()).unwrap();
    assert_eq!(reader.join().unwrap(), DOC);
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(entries(dir.path()), ["pipe"]);
}

#[test]
fn a_socket_is_connected_to_and_stays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sock");
    let listener = UnixListener::bind(&path).unwrap();
    let reader = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    });
    write(&Output::Path(path.clone()), doc()).unwrap();
    assert_eq!(reader.join().unwrap(), DOC);
    assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_socket());
}

/// `/dev/null`'s twin (major 1, minor 3) in a temporary directory, so the real one
/// is never at stake; needs `CAP_MKNOD`.
fn null_device(dir: &Path) -> Option<PathBuf> {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    let path = dir.join("null");
    match mknod(&path, SFlag::S_IFCHR, Mode::from_bits_truncate(0o666), makedev(1, 3)) {
        Ok(()) => Some(path),
        Err(errno) => {
            skip_or_fail(&format!("mknod needs CAP_MKNOD: {errno}"));
            None
        }
    }
}

fn skip_or_fail(why: &str) {
    assert!(std::env::var_os("NETLENS_REQUIRE_NETNS").is_none_or(|v| v != "1"), "cannot run: {why}");
    eprintln!("skipped: {why}");
}

#[test]
fn a_character_device_is_written_in_place_and_keeps_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let Some(null) = null_device(dir.path()) else { return };
    let mode = std::fs::symlink_metadata(&null).unwrap().mode();
    check(&Output::Path(null.clone())).unwrap();
    write(&Output::Path(null.clone()), doc()).unwrap();
    let meta = std::fs::symlink_metadata(&null).unwrap();
    assert!(meta.file_type().is_char_device(), "still a character device");
    assert_eq!(meta.mode(), mode, "mode untouched");
    assert_eq!(entries(dir.path()), ["null"]);
    // And through a symlink to it, as `-o /dev/stdout`-style links are.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&null, &link).unwrap();
    write(&Output::Path(link), doc()).unwrap();
    assert!(std::fs::symlink_metadata(&null).unwrap().file_type().is_char_device());
}

#[test]
fn a_block_device_and_a_directory_are_refused() {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    let dir = tempfile::tempdir().unwrap();
    let error = write(&Output::Path(dir.path().to_owned()), doc()).unwrap_err().to_string();
    assert!(error.contains("is a directory"), "{error}");
    assert!(check(&Output::Path(dir.path().to_owned())).is_err());
    if !is_root() {
        return skip_or_fail("a block device needs root to make");
    }
    // A loop device number that is never opened: only its type matters.
    let disk = dir.path().join("disk");
    mknod(&disk, SFlag::S_IFBLK, Mode::from_bits_truncate(0o600), makedev(7, 250)).unwrap();
    let error = write(&Output::Path(disk.clone()), doc()).unwrap_err().to_string();
    assert!(error.contains("block device"), "{error}");
    assert!(check(&Output::Path(disk.clone())).is_err());
    assert!(std::fs::symlink_metadata(&disk).unwrap().file_type().is_block_device());
}

#[test]
fn a_missing_directory_is_named_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/snap.json");
    for error in [
        check(&Output::Path(path.clone())).unwrap_err(),
        write(&Output::Path(path.clone()), doc()).unwrap_err(),
    ] {
        let text = error.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("directory does not exist"), "{text}");
    }
    assert_eq!(entries(dir.path()), Vec::<String>::new());
}

#[test]
fn create_new_never_follows_or_replaces_a_prepared_name() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    // An attacker's link at the name netlens will pick, and a dangling one at the next.
    std::os::unix::fs::symlink(&victim, dir.path().join("snap.json")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("snap-2.json")).unwrap();
    let written = create_new(dir.path(), "snap.json", doc()).unwrap();
    assert_eq!(written, dir.path().join("snap-3.json"));
    assert_eq!(std::fs::read_to_string(&written).unwrap(), DOC);
    assert_eq!(std::fs::metadata(&written).unwrap().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(!dir.path().join("elsewhere").exists());
    assert_eq!(entries(dir.path()), ["snap-2.json", "snap-3.json", "snap.json", "victim"]);
}

#[test]
fn create_new_in_a_missing_directory_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let error = create_new(&dir.path().join("gone"), "snap.json", doc()).unwrap_err().to_string();
    assert!(error.contains("gone"), "{error}");
}

/// A directory that takes no new files (procfs): the kernel's word, without the name
/// of the temporary file the check tried.
#[test]
fn a_refused_probe_names_no_temporary_file() {
    let error = check(&Output::from_arg(std::ffi::OsStr::new("/proc/version"))).err();
    let text = error.map(|error| error.to_string()).unwrap_or_default();
    assert!(text.starts_with("cannot write /proc/version: "), "{text}");
    assert!(!text.contains("netlens-check") && !text.contains("at path"), "{text}");
}
