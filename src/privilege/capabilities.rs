//! Which capabilities netlens keeps after set-up, and the drop itself.
//!
//! What each one buys (checked on Linux 6.18 with `setpriv --bounding-set`, one
//! capability at a time, and against the kernel's rules):
//!
//! - `CAP_NET_RAW`: `socket(AF_PACKET)` and raw ICMP sockets (`packet_create`,
//!   `inet_create` test it at every `socket()` call, so capture needs it whenever an
//!   interface appears, long after set-up); `SO_MARK` since Linux 5.17 (before: only
//!   `CAP_NET_ADMIN`); `SO_BINDTODEVICE` before Linux 5.7, and to re-bind a bound socket.
//! - `CAP_SYS_PTRACE`: `readlink(/proc/PID/fd/N)` is a ptrace read access
//!   (`ptrace_may_access`): another user's process, and any process whose permitted
//!   capabilities are not a subset of ours (after the drop: every root daemon), are
//!   refused without it.
//! - `CAP_DAC_READ_SEARCH`: `/proc/PID/fd` is a directory of mode 0500 owned by the
//!   process's user; listing another user's needs it (ptrace access alone is not asked
//!   there: the directory's permission check comes first).
//! - `CAP_NET_ADMIN`: joining the `sock_diag` destroy groups on kernels that reserve
//!   them (`NL_CFG_F_NONROOT_RECV` unset); Linux 6.x does not. Kept only when the
//!   kernel refuses the join without it (tried below).
//!
//! Whether `SO_MARK`, `SO_BINDTODEVICE` and the destroy groups still work with a
//! smaller set is asked of the kernel, not of its version: the effective set is
//! lowered for a moment (the permitted set is untouched, so it can be raised again),
//! the operation is tried on a throw-away socket, and the effective set is restored.

use std::io;

use anyhow::{Context as _, bail};
use rustix::thread::{CapabilitySet, CapabilitySets};

/// Every capability netlens may keep after set-up (the README's privileges table;
/// by name in [`netlens_collectors::system::KEPT_AT_MOST`], which the tests read).
/// What is kept in a given run is the part of this the run needs and holds, plus what
/// the BPF attribution says it needs to keep its programs working.
pub const KEPT_AT_MOST: CapabilitySet = CapabilitySet::NET_RAW
    .union(CapabilitySet::NET_ADMIN)
    .union(CapabilitySet::SYS_PTRACE)
    .union(CapabilitySet::DAC_READ_SEARCH);

/// What the process still does after set-up, decided from the command and settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[expect(clippy::struct_excessive_bools, reason = "each is an independent use of a capability")]
pub struct Needs {
    /// Packet rings opened as interfaces appear (UDP rates, passive DNS): `CAP_NET_RAW`.
    pub capture: bool,
    /// Raw ICMP probes: `CAP_NET_RAW`.
    pub icmp_probes: bool,
    /// Probes carrying a firewall mark (`SO_MARK`): `CAP_NET_RAW` or `CAP_NET_ADMIN`.
    pub marks: bool,
    /// Probes bound to an interface (`SO_BINDTODEVICE`): nothing since Linux 5.7.
    pub bound_probes: bool,
    /// Socket owners from every process's `/proc/PID/fd`: `CAP_SYS_PTRACE` and
    /// `CAP_DAC_READ_SEARCH`.
    pub process_owners: bool,
    /// `sock_diag` destroy notifications, joined again whenever the connections source
    /// restarts: nothing on Linux 6.x, `CAP_NET_ADMIN` on older kernels.
    pub destroy_events: bool,
}

/// What the drop did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The effective and permitted set after the drop.
    pub kept: CapabilitySet,
    /// Capabilities that were permitted before and are gone now.
    pub dropped: CapabilitySet,
    /// Whether the bounding set was reduced to `kept` too (needs `CAP_SETPCAP`).
    pub bounding_reduced: bool,
    /// Why each kept capability is kept, one clause each.
    pub reasons: Vec<String>,
}

impl Held {
    /// One line for the timeline and the log.
    #[must_use]
    pub fn summary(&self) -> String {
        if self.kept.is_empty() && self.dropped.is_empty() {
            return "no capabilities held; no_new_privs set".to_owned();
        }
        let dropped = self.dropped.bits().count_ones();
        let mut text = if self.kept.is_empty() {
            format!("dropped all {dropped} capabilities after set-up")
        } else {
            format!(
                "kept {} after set-up ({}); dropped {dropped} others",
                names(self.kept).join(" "),
                self.reasons.join("; ")
            )
        };
        if self.bounding_reduced {
            text.push_str(" (from the bounding set too)");
        }
        text.push_str("; no_new_privs set");
        text
    }
}

/// Names of the capabilities in `set`, as the kernel spells them, sorted.
#[must_use]
pub fn names(set: CapabilitySet) -> Vec<String> {
    netlens_collectors::system::capability_names(set.bits())
}

/// Threads of this process: the drop changes only the calling thread's sets, so it
/// must run while this is one.
fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// Keep only what `needs` (and `extra`, what set-up code such as the BPF loader says
/// it still needs) asks for of what is held, drop the rest from the effective,
/// permitted, inheritable, ambient and (where allowed) bounding sets, and set
/// `no_new_privs`. Must run before any other thread starts.
pub fn drop_to(needs: Needs, extra: CapabilitySet) -> anyhow::Result<Held> {
    // Without /proc the count is unknown; the drop goes ahead (nothing in netlens
    // starts a thread before it, and the privileges test checks every thread).
    if let Ok(threads) = thread_count()
        && threads != 1
    {
        // A thread started earlier would keep every capability: refuse rather than
        // pretend.
        bail!(
            "cannot drop capabilities: {threads} threads exist already, and capabilities belong to each \
             thread (this is a netlens bug: set-up must not start threads)"
        );
    }
    let before = rustix::thread::capabilities(None).context("reading this process's capabilities")?;
    let (kept, reasons) = decide(needs, extra, before);
    let mut bounding_reduced = false;
    if before.effective.contains(CapabilitySet::SETPCAP) {
        reduce_bounding_set(kept).context("reducing the capability bounding set")?;
        bounding_reduced = true;
    }
    // The ambient set needs Linux 4.3; an older kernel has none to clear (EINVAL).
    match rustix::thread::clear_ambient_capability_set() {
        Ok(()) | Err(rustix::io::Errno::INVAL) => {}
        Err(errno) => return Err(io::Error::from(errno)).context("clearing the ambient capability set"),
    }
    let sets = CapabilitySets { effective: kept, permitted: kept, inheritable: CapabilitySet::empty() };
    rustix::thread::set_capabilities(None, sets).context("dropping capabilities (capset)")?;
    rustix::thread::set_no_new_privs(true).context("setting no_new_privs")?;
    let after = rustix::thread::capabilities(None).context("reading capabilities after the drop")?;
    if after.effective != kept || after.permitted != kept {
        bail!(
            "capabilities after the drop are {:?}, not the {:?} asked for",
            names(after.effective),
            names(kept)
        );
    }
    Ok(Held { kept, dropped: before.permitted.difference(kept), bounding_reduced, reasons })
}

/// The set to keep: what the needs ask for, within what is permitted, with the
/// kernel asked where its rules changed between versions.
fn decide(needs: Needs, extra: CapabilitySet, before: CapabilitySets) -> (CapabilitySet, Vec<String>) {
    let held = before.permitted;
    let mut kept = CapabilitySet::empty();
    let mut reasons = Vec::new();
    let mut keep = |kept: &mut CapabilitySet, set: CapabilitySet, why: &str| {
        let new = set.intersection(held).difference(*kept);
        if !new.is_empty() {
            *kept |= new;
            reasons.push(format!("{}: {why}", names(new).join(" ")));
        }
    };
    if needs.capture {
        keep(
            &mut kept,
            CapabilitySet::NET_RAW,
            "packet capture opens a ring on every interface that appears",
        );
    }
    if needs.icmp_probes {
        keep(&mut kept, CapabilitySet::NET_RAW, "raw ICMP probes");
    }
    if needs.process_owners {
        keep(
            &mut kept,
            CapabilitySet::SYS_PTRACE | CapabilitySet::DAC_READ_SEARCH,
            "socket owners from every process's /proc/PID/fd",
        );
    }
    keep(&mut kept, extra, "BPF attribution");
    debug_assert!(KEPT_AT_MOST.union(extra).contains(kept), "an undocumented capability kept");
    // Where the rule depends on the kernel version, try the operation with what is
    // kept so far, then with one more capability — only when there is one to add.
    let addable =
        |kept: CapabilitySet, set: CapabilitySet| !set.intersection(held).difference(kept).is_empty();
    if needs.marks && addable(kept, CapabilitySet::NET_RAW | CapabilitySet::NET_ADMIN) {
        for more in [CapabilitySet::empty(), CapabilitySet::NET_RAW, CapabilitySet::NET_ADMIN] {
            if works_with(before, kept | more.intersection(held), set_mark) {
                keep(&mut kept, more, "probes with mark= (SO_MARK)");
                break;
            }
        }
    }
    if needs.bound_probes
        && addable(kept, CapabilitySet::NET_RAW)
        && !works_with(before, kept, bind_to_device)
    {
        keep(&mut kept, CapabilitySet::NET_RAW, "probes with via= (SO_BINDTODEVICE on this kernel)");
    }
    if needs.destroy_events
        && addable(kept, CapabilitySet::NET_ADMIN)
        && !works_with(before, kept, join_destroy_groups)
    {
        keep(&mut kept, CapabilitySet::NET_ADMIN, "sock_diag destroy events (this kernel reserves them)");
    }
    (kept, reasons)
}

/// Whether `trial` succeeds with only `effective` effective. The effective set is
/// restored afterwards (it stays within the permitted set, so it can be). Errors
/// other than a refusal (a missing `lo`, say) say nothing about capabilities: they
/// count as success.
fn works_with(before: CapabilitySets, effective: CapabilitySet, trial: fn() -> io::Result<()>) -> bool {
    let lowered = CapabilitySets { effective: effective.intersection(before.permitted), ..before };
    if rustix::thread::set_capabilities(None, lowered).is_err() {
        return false;
    }
    let result = trial();
    if let Err(error) = rustix::thread::set_capabilities(None, before) {
        // Cannot happen (raising within the permitted set); keeping the lowered set
        // only means the drop below starts from less.
        tracing::warn!(%error, "could not restore the effective capabilities after a trial");
    }
    !matches!(result, Err(error) if matches!(error.raw_os_error(), Some(libc::EPERM | libc::EACCES)))
}

fn set_mark() -> io::Result<()> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    socket.set_mark(1)
}

fn bind_to_device() -> io::Result<()> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    socket.bind_device(Some(b"lo"))
}

/// Bind a `NETLINK_SOCK_DIAG` socket to the four destroy groups
/// (`SKNLGRP_INET{,6}_{TCP,UDP}_DESTROY`, bits 0–3): the same permission check as
/// `NETLINK_ADD_MEMBERSHIP`.
fn join_destroy_groups() -> io::Result<()> {
    use rustix::net::{AddressFamily, SocketType, netlink};
    let socket = rustix::net::socket(AddressFamily::NETLINK, SocketType::RAW, Some(netlink::SOCK_DIAG))?;
    rustix::net::bind(&socket, &netlink::SocketAddrNetlink::new(0, 0b1111))?;
    Ok(())
}

/// Remove from the bounding set every capability not in `kept`, up to the last one
/// this kernel knows (`PR_CAPBSET_DROP` answers `EINVAL` past it).
fn reduce_bounding_set(kept: CapabilitySet) -> io::Result<()> {
    for bit in 0..64u32 {
        let capability = CapabilitySet::from_bits_retain(1 << bit);
        if kept.contains(capability) {
            continue;
        }
        match rustix::thread::remove_capability_from_bounding_set(capability) {
            Ok(()) => {}
            Err(rustix::io::Errno::INVAL) => break,
            Err(errno) => return Err(errno.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(permitted: CapabilitySet) -> CapabilitySets {
        CapabilitySets { effective: permitted, permitted, inheritable: CapabilitySet::empty() }
    }

    /// Without any capability nothing is kept, whatever is needed: the needs are
    /// intersected with what is held, and the trials never run with more.
    #[test]
    fn nothing_held_nothing_kept() {
        let all = Needs {
            capture: true,
            icmp_probes: true,
            marks: true,
            bound_probes: true,
            process_owners: true,
            destroy_events: true,
        };
        let (kept, reasons) = decide(all, CapabilitySet::BPF, sets(CapabilitySet::empty()));
        assert_eq!(kept, CapabilitySet::empty());
        assert!(reasons.is_empty(), "{reasons:?}");
    }

    /// The trials ask this kernel (Linux 6.x): a mark needs only `CAP_NET_RAW`, binding
    /// a fresh socket to an interface and joining the destroy groups need nothing. Run
    /// in a thread of its own, as the trials change the calling thread's effective set
    /// for a moment; skipped where this test does not hold the capabilities.
    #[test]
    fn trials_ask_the_kernel() {
        std::thread::spawn(|| {
            let before = rustix::thread::capabilities(None).unwrap_or_else(|e| panic!("{e}"));
            if !before.permitted.contains(CapabilitySet::NET_RAW | CapabilitySet::NET_ADMIN) {
                assert!(
                    std::env::var("NETLENS_REQUIRE_NETNS").as_deref() != Ok("1"),
                    "needs CAP_NET_RAW and CAP_NET_ADMIN, and NETLENS_REQUIRE_NETNS=1 forbids skipping"
                );
                eprintln!("skipping: needs CAP_NET_RAW and CAP_NET_ADMIN");
                return;
            }
            let needs = Needs { marks: true, bound_probes: true, destroy_events: true, ..Needs::default() };
            let (kept, reasons) = decide(needs, CapabilitySet::empty(), before);
            assert_eq!(kept, CapabilitySet::NET_RAW, "{reasons:?}");
            assert_eq!(reasons, ["cap_net_raw: probes with mark= (SO_MARK)"]);
            let after = rustix::thread::capabilities(None).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(after, before, "the trials restore the effective set");
        })
        .join()
        .unwrap_or_else(|_| panic!("the trial thread panicked"));
    }

    /// A test runs beside libtest's main thread: the drop must refuse, before it
    /// changes anything, rather than leave the other threads their capabilities.
    #[test]
    fn refuses_while_other_threads_exist() {
        let before = rustix::thread::capabilities(None).unwrap_or_else(|e| panic!("{e}"));
        let Err(error) = drop_to(Needs::default(), CapabilitySet::empty()) else {
            panic!("dropped capabilities with other threads running")
        };
        assert!(error.to_string().contains("threads exist already"), "{error}");
        assert_eq!(rustix::thread::capabilities(None).unwrap_or_else(|e| panic!("{e}")), before);
    }

    /// A `trace` or `config` run needs nothing: everything held is dropped.
    #[test]
    fn no_needs_keep_nothing() {
        let (kept, _) = decide(Needs::default(), CapabilitySet::empty(), sets(CapabilitySet::all()));
        assert_eq!(kept, CapabilitySet::empty());
    }

    /// Each need maps to its documented capability, within [`KEPT_AT_MOST`], and says why.
    #[test]
    fn needs_map_to_documented_capabilities() {
        let held = CapabilitySet::NET_RAW | CapabilitySet::SYS_PTRACE | CapabilitySet::DAC_READ_SEARCH;
        let needs = Needs { capture: true, process_owners: true, ..Needs::default() };
        let (kept, reasons) = decide(needs, CapabilitySet::empty(), sets(held));
        assert_eq!(kept, held);
        assert!(KEPT_AT_MOST.contains(kept));
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].starts_with("cap_net_raw: packet capture"), "{reasons:?}");
        assert!(reasons[1].starts_with("cap_dac_read_search cap_sys_ptrace: socket owners"), "{reasons:?}");
    }

    /// The set the code keeps at most is the one the collectors document by name (and
    /// the README's table and the privileges test read).
    #[test]
    fn kept_at_most_matches_the_documented_names() {
        assert_eq!(names(KEPT_AT_MOST), netlens_collectors::system::KEPT_AT_MOST);
    }

    #[test]
    fn summary_names_what_is_kept_and_counts_the_rest() {
        let held = Held {
            kept: CapabilitySet::NET_RAW,
            dropped: CapabilitySet::SYS_ADMIN | CapabilitySet::CHOWN,
            bounding_reduced: true,
            reasons: vec!["cap_net_raw: packet capture".to_owned()],
        };
        assert_eq!(
            held.summary(),
            "kept cap_net_raw after set-up (cap_net_raw: packet capture); dropped 2 others (from the \
             bounding set too); no_new_privs set"
        );
        let all = Held { kept: CapabilitySet::empty(), reasons: Vec::new(), ..held.clone() };
        assert_eq!(
            all.summary(),
            "dropped all 2 capabilities after set-up (from the bounding set too); no_new_privs set"
        );
        let none = Held { kept: CapabilitySet::empty(), dropped: CapabilitySet::empty(), ..held };
        assert_eq!(none.summary(), "no capabilities held; no_new_privs set");
    }
}
