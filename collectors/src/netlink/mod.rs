//! Netlink plumbing shared by every source (DESIGN.md §2): [`frame`] splits and
//! builds messages for rtnetlink dumps, route lookups and `sock_diag`; [`route_socket`]
//! and [`dump`] are the rtnetlink notification socket and dump path that only the
//! kernel view ([`crate::kernel_view`]) opens.

pub(crate) mod dump;
pub(crate) mod frame;
pub(crate) mod route_socket;
