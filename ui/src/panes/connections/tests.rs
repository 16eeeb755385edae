//! Cells of the Connections table: the port is never cut, families are told apart.

use super::*;

fn cell(address: &str, host: Host<'_>, max: u16) -> String {
    let mut buf = Buffer::empty(Rect::new(0, 0, max, 1));
    let address: SocketAddr = address.parse().unwrap_or_else(|e| panic!("{address}: {e}"));
    endpoint(&mut buf, 0, 0, max, address, host, Style::new(), Style::new());
    (0..max).map(|x| buf[(x, 0)].symbol().to_owned()).collect::<String>().trim_end().to_owned()
}

#[test]
fn the_port_is_never_cut() {
    for max in 6..30 {
        let own = cell("[2001:db8:10:0:5054:ff:fe12:3456]:40022", Host::Own, max);
        assert!(own.ends_with(":40022"), "{max}: {own}");
        let peer = cell("198.51.100.7:443", Host::Named("backup.example.net"), max);
        assert!(peer.ends_with(":443"), "{max}: {peer}");
    }
    assert_eq!(cell("192.168.1.23:52002", Host::Own, 18), "192.168.1.23:52002", "whole when it fits");
    assert_eq!(cell("192.168.1.23:52002", Host::Own, 12), "…:52002", "own address gives way whole");
    assert_eq!(cell("198.51.100.7:443", Host::Peer, 12), "198.51.…:443");
}

#[test]
fn dual_stack_listeners_show_their_family() {
    assert_eq!(cell("0.0.0.0:22", Host::Own, 20), "0.0.0.0:22");
    assert_eq!(cell("[::]:22", Host::Own, 20), "[::]:22");
    assert_eq!(cell("0.0.0.0:0", Host::Peer, 20), "*", "no peer yet");
    assert_eq!(endpoint_width("0.0.0.0:22".parse().unwrap_or_else(|_| unreachable!()), None), 10);
}

#[test]
fn the_closed_line_says_how_many_since_when_and_the_key() {
    let folded = Folded { count: 83, since: Some(fake_now() - time::Duration::seconds(9)) };
    assert_eq!(folded_text(folded, fake_now(), "c"), "83 closed in the last 9s — c shows them");
}

fn fake_now() -> Timestamp {
    netlens_collectors::fake::NOW
}
