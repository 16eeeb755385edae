//! `--netns NAME`: move the whole process into a network namespace before any
//! socket or thread exists, the way `ip netns exec` does.

use std::fs::File;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

/// Why a namespace could not be entered; each is a usage problem (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// `/run/netns/NAME` does not exist.
    #[error("no network namespace named `{name}`: {path} does not exist (list them with `ip netns list`)")]
    NotFound {
        /// The name given.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Not allowed to enter it.
    #[error("entering network namespace `{name}` needs root (CAP_SYS_ADMIN): run netlens with sudo")]
    Permission {
        /// The name given.
        name: String,
    },
    /// Anything else.
    #[error("cannot enter network namespace `{name}` ({path}): {source}")]
    Other {
        /// The name given.
        name: String,
        /// The namespace file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The namespace file for a name (`/run/netns/NAME`) or an explicit path.
#[must_use]
pub fn path_of(name: &str) -> PathBuf {
    if name.contains('/') { PathBuf::from(name) } else { Path::new("/run/netns").join(name) }
}

/// Enter the network namespace `name`. Must run while the process is single-threaded
/// (before the tokio runtime starts): threads created later inherit it.
///
/// Also gives the process a private mount namespace with a fresh `/sys`, so sysfs
/// (used to tell Wi-Fi from Ethernet) describes the namespace's interfaces, not the
/// host's, and with each file of `/etc/netns/NAME/` bind-mounted over its `/etc`
/// namesake, as `ip netns exec` arranges: the namespace's own resolv.conf, hosts and
/// nsswitch.conf are the ones read — by netlens and by getaddrinfo alike. That part is
/// best effort: without it kind detection and the resolver files are the host's.
pub fn enter(name: &str) -> Result<(), NetnsError> {
    let path = path_of(name);
    let file = File::open(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => NetnsError::NotFound { name: name.to_owned(), path: path.clone() },
        std::io::ErrorKind::PermissionDenied => NetnsError::Permission { name: name.to_owned() },
        _ => NetnsError::Other { name: name.to_owned(), path: path.clone(), source },
    })?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|errno| match errno {
        Errno::EPERM => NetnsError::Permission { name: name.to_owned() },
        other => NetnsError::Other { name: name.to_owned(), path: path.clone(), source: other.into() },
    })?;
    if let Err(error) = private_mounts() {
        tracing::warn!(%error, "no private mount namespace: sysfs and the resolver files are the host's");
        return Ok(());
    }
    if let Err(error) = remount_sysfs(name) {
        tracing::warn!(%error, "could not mount the namespace's sysfs; interface kinds may be less precise");
    }
    // Only a named namespace has /etc/netns files (a path given directly has no name).
    if !name.contains('/') {
        bind_etc_files(name);
    }
    Ok(())
}

/// A mount namespace of our own whose mounts do not propagate back to the host.
fn private_mounts() -> nix::Result<()> {
    unshare(CloneFlags::CLONE_NEWNS)?;
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>)
}

/// Bind `/etc/netns/NAME/FILE` over `/etc/FILE` for every such file, as
/// `ip netns exec` does; a file that cannot be bound is logged and left alone.
fn bind_etc_files(name: &str) {
    let dir = Path::new("/etc/netns").join(name);
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries.flatten() {
        let source = entry.path();
        let target = Path::new("/etc").join(entry.file_name());
        if !target.exists() {
            tracing::debug!(file = %target.display(), "no /etc file to bind over");
            continue;
        }
        if let Err(error) = mount(Some(&source), &target, None::<&str>, MsFlags::MS_BIND, None::<&str>) {
            tracing::warn!(from = %source.display(), to = %target.display(), %error, "could not bind the namespace's file");
        }
    }
}

/// A fresh sysfs for this namespace. An unmount that fails because nothing is
/// mounted on `/sys` (EINVAL) is fine, as it is for `ip netns exec`.
fn remount_sysfs(name: &str) -> nix::Result<()> {
    match umount2("/sys", MntFlags::MNT_DETACH) {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(error) => return Err(error),
    }
    mount(Some(name), "/sys", Some("sysfs"), MsFlags::empty(), None::<&str>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(path_of("lab"), PathBuf::from("/run/netns/lab"));
        assert_eq!(path_of("/proc/1/ns/net"), PathBuf::from("/proc/1/ns/net"));
    }

    #[test]
    fn missing_namespace_is_named() {
        let error = enter("netlens-no-such-namespace").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("netlens-no-such-namespace") && error.contains("ip netns list"), "{error}");
    }
}
