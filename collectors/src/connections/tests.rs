//! The source's pure parts: configuration defaults, the status line in every
//! combination of privileges, and notification batches from the committed fixture.

use super::*;
use crate::model::SocketState;

const DESTROY: &[u8] = include_bytes!("fixtures/destroy.bin");

#[test]
fn defaults_follow_the_contract() {
    let config = ConnectionsConfig::default();
    assert_eq!(config.refresh, Duration::from_secs(1));
    assert_eq!(config.proc_root, PathBuf::from("/proc"));
    assert!(config.destroy_events);
    assert_eq!(ConnectionsSource::new(config).id(), SourceId::Connections);
}

#[test]
fn periods_read_naturally() {
    let cases = [(1_000, "1 s"), (2_000, "2 s"), (500, "500 ms"), (50, "50 ms"), (1_500, "1.5 s")];
    for (millis, text) in cases {
        assert_eq!(period_text(Duration::from_millis(millis)), text);
    }
}

/// (case, destroy, all owners visible, unavailable parts, state, detail)
type StatusCase = (&'static str, Destroy, bool, Vec<(AddressFamily, Protocol)>, SourceState, &'static str);

#[test]
fn the_status_names_what_is_active_and_each_limitation_once() {
    let second = Duration::from_secs(1);
    let none = || std::iter::empty();
    let denied = || Destroy::Unavailable(io::Error::from_raw_os_error(libc::EPERM));
    let cases: Vec<StatusCase> = vec![
        (
            "root",
            Destroy::Active,
            true,
            vec![],
            SourceState::Ok,
            "sock_diag: TCP and UDP every 1 s; destroy events catch short-lived connections",
        ),
        (
            "unprivileged",
            denied(),
            false,
            vec![],
            SourceState::Degraded,
            "sock_diag: dumps every 1 s; short-lived connections between dumps are missed \
             (destroy events need CAP_NET_ADMIN); processes owning other users' sockets are unknown \
             (needs root or CAP_SYS_PTRACE)",
        ),
        (
            "CAP_NET_ADMIN only",
            Destroy::Active,
            false,
            vec![],
            SourceState::Degraded,
            "sock_diag: TCP and UDP every 1 s; destroy events catch short-lived connections; \
             processes owning other users' sockets are unknown (needs root or CAP_SYS_PTRACE)",
        ),
        (
            "switched off",
            Destroy::Configured,
            true,
            vec![],
            SourceState::Degraded,
            "sock_diag: dumps every 1 s; short-lived connections between dumps are missed \
             (destroy events off in the configuration)",
        ),
        (
            "other failure",
            Destroy::Unavailable(io::Error::from_raw_os_error(libc::ENOENT)),
            true,
            vec![],
            SourceState::Degraded,
            "sock_diag: dumps every 1 s; short-lived connections between dumps are missed \
             (destroy events unavailable: No such file or directory (os error 2))",
        ),
        (
            "no IPv6, no udp_diag",
            Destroy::Active,
            true,
            vec![(AddressFamily::Ipv6, Protocol::Tcp), (AddressFamily::Ipv6, Protocol::Udp)],
            SourceState::Degraded,
            "sock_diag: TCP and UDP every 1 s; destroy events catch short-lived connections; \
             the kernel cannot list IPv6 TCP or IPv6 UDP sockets",
        ),
    ];
    for (case, destroy, visible, unavailable, state, detail) in cases {
        let (got_state, got_detail) =
            status_line(second, &destroy, Watch::Off, visible, unavailable.into_iter());
        assert_eq!((got_state, got_detail.as_str()), (state, detail), "{case}");
    }
    let (_, detail) = status_line(Duration::from_millis(250), &Destroy::Active, Watch::Off, true, none());
    assert!(detail.starts_with("sock_diag: TCP and UDP every 250 ms;"), "{detail}");
}

#[test]
fn a_batch_of_notifications_becomes_closed_sockets() {
    let mut sockets = Vec::new();
    destroy::take(DESTROY, &mut sockets);
    let summary: Vec<(Protocol, SocketState, String, Option<u64>)> = sockets
        .iter()
        .map(|socket| {
            (
                socket.protocol,
                socket.state,
                socket.local.to_string(),
                socket.tcp.and_then(|tcp| tcp.bytes_received),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Protocol::Tcp, SocketState::Close, "127.0.0.1:5001".to_owned(), Some(500)),
            (Protocol::Tcp, SocketState::Close, "127.0.0.1:40006".to_owned(), Some(701)),
            (Protocol::Udp, SocketState::Unconnected, "[::1]:40007".to_owned(), None),
        ]
    );
    // Dump replies and garbage in the same datagram are skipped, not fatal.
    let mut mixed = include_bytes!("fixtures/udp6.bin").to_vec();
    mixed.extend_from_slice(&[0xff; 9]);
    let mut none = Vec::new();
    destroy::take(&mixed, &mut none);
    assert!(none.is_empty(), "dump replies carry no protocol attribute: {none:?}");
}

#[test]
fn the_overrun_notice_says_what_was_lost() {
    let notice = overrun_notice();
    assert_eq!(notice.kind, TimelineKind::Notice);
    assert!(notice.detail.contains("short-lived connections were missed"));
}
