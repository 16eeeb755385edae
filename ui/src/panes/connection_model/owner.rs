//! Who owns a socket, and when nobody can be named, why: the table spells every
//! unknown owner the same way and the details give the reason.

use netlens_collectors::model::ProcessInfo;
use netlens_collectors::{ConnectionEntry, Connections};

/// Why a socket has no known owner. The table spells every one of them `–`; the
/// details say which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unowned {
    /// No inode: the kernel holds it (`time_wait` and request sockets have no process).
    Kernel,
    /// The kernel named a pid, but the process was gone before its name was read.
    Exited(u32),
    /// Another user's socket, and netlens may not look into other users' processes.
    OtherUser,
    /// No process had it open when `/proc` was searched: it closed first, or its
    /// process exited.
    NotFound,
}

impl Unowned {
    /// The reason, as the details show it.
    pub(crate) fn reason(self, closed: bool) -> String {
        match self {
            Self::Kernel => {
                "none: the kernel holds this socket (time_wait and request sockets have no process)"
                    .to_owned()
            }
            Self::Exited(pid) => format!("unknown: pid {pid} exited before its name was read"),
            Self::OtherUser => {
                "unknown: another user's socket; owners need root or CAP_SYS_PTRACE".to_owned()
            }
            Self::NotFound if closed => {
                "unknown: the socket closed before /proc was searched for its owner".to_owned()
            }
            Self::NotFound => {
                "unknown: no process had it open when /proc was searched (it may have exited)".to_owned()
            }
        }
    }
}

/// Who owns a socket, as far as netlens knows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner<'s> {
    /// A process, with its name.
    Process(&'s ProcessInfo),
    /// Nobody netlens can name, and why.
    Unknown(Unowned),
}

/// The owner of `entry`.
pub(crate) fn owner<'s>(entry: &ConnectionEntry, connections: &'s Connections) -> Owner<'s> {
    match entry.pid {
        Some(pid) => connections.process(pid).map_or(Owner::Unknown(Unowned::Exited(pid)), Owner::Process),
        None if entry.socket.inode == 0 => Owner::Unknown(Unowned::Kernel),
        None if !connections.all_owners_visible() => Owner::Unknown(Unowned::OtherUser),
        None => Owner::Unknown(Unowned::NotFound),
    }
}
