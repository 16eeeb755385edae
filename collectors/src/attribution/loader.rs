//! Loading the BPF object and attaching its programs to the cgroup v2 root.
//!
//! Links are owned by file descriptors (`bpf_link_create`), never pinned: when
//! netlens exits, panics or is killed, the kernel closes its descriptors and the
//! programs detach. A cgroup link always attaches in multi mode (the kernel takes
//! no flags for it: passing `BPF_F_ALLOW_MULTI` is `EINVAL`), so two netlens
//! processes (or parallel tests) can attach at once and neither displaces the other
//! nor another tool's programs. aya uses links on every kernel that can run these
//! programs (ring buffers need Linux 5.8; links came in 5.7), hence
//! [`CgroupAttachMode::Single`] below: it is the flags-zero link attach, not
//! exclusivity.

use std::fmt;

use aya::maps::{Array, MapData, RingBuf};
use aya::programs::{CgroupAttachMode, CgroupSkb, CgroupSkbAttachType, CgroupSockAddr, ProgramError};
use aya::{Ebpf, EbpfError, EbpfLoader};

use super::cgroup::CgroupRoot;

/// The compiled programs (`bpf/attribution.bpf.c`, built by `bpf/build`): embedded,
/// so building netlens needs no clang.
static OBJECT: &[u8] = aya::include_bytes_aligned!("../../../bpf/attribution.bpf.o");

/// The `sock_addr` programs, by name in the object.
const SOCK_ADDR_PROGRAMS: [&str; 4] =
    ["netlens_connect4", "netlens_connect6", "netlens_sendmsg4", "netlens_sendmsg6"];

/// Flags zero: what a cgroup link requires (it is multi-attach by nature).
const LINK_MODE: CgroupAttachMode = CgroupAttachMode::Single;

/// The DNS egress program.
const EGRESS_PROGRAM: &str = "netlens_egress";

/// What loading produced: the object (its programs and their links) and its maps.
pub struct Loaded {
    /// Holds the programs and their fd-owned links: dropping it detaches them.
    pub ebpf: Ebpf,
    /// The event ring.
    pub ring: RingBuf<MapData>,
    /// `[0]`: records lost to a full ring.
    pub counters: Array<MapData, u64>,
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded").finish_non_exhaustive()
    }
}

/// Why the programs are not running, phrased for the source status.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No privilege to load or attach.
    #[error(
        "BPF attribution needs root or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON ({0}); owners come from /proc"
    )]
    Permission(String),
    /// The kernel refused a program (the verifier of an older kernel, a missing helper).
    #[error("the kernel rejected BPF program {program}: {detail}; owners come from /proc")]
    Rejected {
        /// Which program.
        program: String,
        /// The kernel's word.
        detail: String,
    },
    /// Anything else (no cgroup v2, an object that does not parse).
    #[error("{0}; owners come from /proc")]
    Other(String),
}

fn is_permission(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EPERM | libc::EACCES))
}

fn program_error(program: &str, error: &ProgramError) -> LoadError {
    match error {
        ProgramError::SyscallError(syscall) if is_permission(&syscall.io_error) => {
            LoadError::Permission(format!("{}: {}", syscall.call, syscall.io_error))
        }
        ProgramError::LoadError { io_error, .. } if is_permission(io_error) => {
            LoadError::Permission(format!("loading {program}: {io_error}"))
        }
        ProgramError::LoadError { io_error, verifier_log } => {
            let log = verifier_log.to_string();
            let last = log.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("").trim().to_owned();
            LoadError::Rejected {
                program: program.to_owned(),
                detail: if last.is_empty() { io_error.to_string() } else { format!("{io_error} ({last})") },
            }
        }
        ProgramError::SyscallError(syscall) => LoadError::Rejected {
            program: program.to_owned(),
            detail: format!("{}: {}", syscall.call, syscall.io_error),
        },
        _ => LoadError::Rejected { program: program.to_owned(), detail: error.to_string() },
    }
}

/// Load the object for the network namespace `netns_cookie` (0: every namespace)
/// and attach every program to `root`. Synchronous: runs before the async runtime
/// (and before capabilities are dropped).
pub fn load_and_attach(root: &CgroupRoot, netns_cookie: u64) -> Result<Loaded, LoadError> {
    let mut ebpf = EbpfLoader::new()
        .override_global("netns_cookie", &netns_cookie, true)
        .load(OBJECT)
        .map_err(|error| match &error {
            EbpfError::MapError(aya::maps::MapError::CreateError { io_error, .. })
                if is_permission(io_error) =>
            {
                LoadError::Permission(format!("creating maps: {io_error}"))
            }
            _ => LoadError::Other(format!("loading the BPF object: {error}")),
        })?;
    for name in SOCK_ADDR_PROGRAMS {
        let program: &mut CgroupSockAddr = ebpf
            .program_mut(name)
            .ok_or_else(|| LoadError::Other(format!("BPF program {name} missing from the object")))?
            .try_into()
            .map_err(|error| program_error(name, &error))?;
        program.load().map_err(|error| program_error(name, &error))?;
        program.attach(&root.fd, LINK_MODE).map_err(|error| program_error(name, &error))?;
    }
    let egress: &mut CgroupSkb = ebpf
        .program_mut(EGRESS_PROGRAM)
        .ok_or_else(|| LoadError::Other(format!("BPF program {EGRESS_PROGRAM} missing from the object")))?
        .try_into()
        .map_err(|error| program_error(EGRESS_PROGRAM, &error))?;
    egress.load().map_err(|error| program_error(EGRESS_PROGRAM, &error))?;
    egress
        .attach(&root.fd, CgroupSkbAttachType::Egress, LINK_MODE)
        .map_err(|error| program_error(EGRESS_PROGRAM, &error))?;
    let ring = ebpf
        .take_map("events")
        .ok_or_else(|| LoadError::Other("BPF map events missing from the object".to_owned()))
        .and_then(|map| {
            RingBuf::try_from(map).map_err(|error| LoadError::Other(format!("BPF map events: {error}")))
        })?;
    let counters = ebpf
        .take_map("counters")
        .ok_or_else(|| LoadError::Other("BPF map counters missing from the object".to_owned()))
        .and_then(|map| {
            Array::try_from(map).map_err(|error| LoadError::Other(format!("BPF map counters: {error}")))
        })?;
    Ok(Loaded { ebpf, ring, counters })
}
