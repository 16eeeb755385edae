//! The mark a finding leaves on its subject's row, on the subject's own tab: a `◆` in
//! the severity's colour on the table's left border, so the row a finding is about
//! stands out where the user looks at it.
//!
//! Rules name their subject by the words the tables show (DESIGN.md §10): an
//! interface by its name (`eth0`, `eth0 fe80::1`, `veth0 ↔ veth1`), a target by its
//! text, a nameserver as `nameserver 10.0.0.53`, a socket by an end (`tcp
//! 10.0.0.2:443`, `udp 0.0.0.0:5140`), a peer as `peer 192.0.2.7` and a gateway as
//! `gateway 192.168.1.1`. A row is marked
//! when a word of an open finding's subject is the row's key.

use std::net::{IpAddr, SocketAddr};

use netlens_collectors::Store;
use netlens_collectors::model::Severity;
use ratatui::buffer::Buffer;

use super::findings::mark;
use crate::theme::Theme;

/// The words of a subject: split at blanks and `↔`.
fn words(subject: &str) -> impl Iterator<Item = &str> {
    subject.split([' ', '↔']).filter(|word| !word.is_empty())
}

/// The most severe open finding whose subject has a word `matches` accepts.
pub(crate) fn worst(store: &Store, matches: impl Fn(&str) -> bool) -> Option<Severity> {
    store
        .findings()
        .open()
        .into_iter()
        .filter(|finding| words(&finding.subject).any(&matches) || matches(&finding.subject))
        .map(|finding| finding.severity)
        .max()
}

/// The worst finding about the interface `name`.
pub(crate) fn interface(store: &Store, name: &str) -> Option<Severity> {
    worst(store, |word| word == name)
}

/// The worst finding about the watched target written `target`.
pub(crate) fn target(store: &Store, target: &str) -> Option<Severity> {
    store.findings().open().into_iter().filter(|f| f.subject == target).map(|f| f.severity).max()
}

/// The worst finding naming `address` (a nameserver, a gateway, a neighbour); a
/// link-local address may carry its interface (`fe80::1%eth0`).
pub(crate) fn address(store: &Store, address: IpAddr) -> Option<Severity> {
    worst(store, |word| {
        let bare = word.split_once('%').map_or(word, |(ip, _)| ip);
        bare.parse::<IpAddr>().is_ok_and(|ip| ip == address)
    })
}

/// The worst finding about a socket between `local` and `remote`: either end, or the
/// remote's address alone (a peer).
pub(crate) fn socket(store: &Store, local: SocketAddr, remote: SocketAddr) -> Option<Severity> {
    worst(store, |word| {
        word.parse::<SocketAddr>().is_ok_and(|end| end == local || end == remote)
            || (!remote.ip().is_unspecified() && word.parse::<IpAddr>().is_ok_and(|ip| ip == remote.ip()))
    })
}

/// Draw the mark of `severity` (if any) at `(x, y)`: the border cell left of a row.
pub(crate) fn draw(buf: &mut Buffer, x: u16, y: u16, severity: Option<Severity>, theme: &Theme) {
    let Some(severity) = severity else { return };
    if !buf.area.contains(ratatui::layout::Position { x, y }) {
        return;
    }
    let (_, style) = mark(severity, theme);
    buf[(x, y)].set_char('◆').set_style(style);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_blanks_and_arrows() {
        let split: Vec<&str> = words("veth0 ↔ veth1").collect();
        assert_eq!(split, ["veth0", "veth1"]);
        let split: Vec<&str> = words("tcp 10.0.0.2:443").collect();
        assert_eq!(split, ["tcp", "10.0.0.2:443"]);
    }

    #[test]
    fn an_empty_store_marks_nothing() {
        let store = Store::default();
        assert_eq!(interface(&store, "eth0"), None);
        let any: SocketAddr = "0.0.0.0:0".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(socket(&store, any, any), None);
    }
}
