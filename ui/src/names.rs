//! Which reverse-DNS names the screen is waiting for. Names are resolved lazily: the
//! app asks for exactly the peers on screen after each draw, so a table of 100,000
//! sockets costs a page of lookups, not 100,000.

use std::net::IpAddr;

use netlens_collectors::Store;

use crate::panes::{connection_model, overview};
use crate::state::{Tab, UiState};

/// Remote addresses of the rows the Connections tab shows now (or of its open details,
/// or of the Overview's top talkers) whose name has not been looked up yet, without
/// duplicates; unspecified, loopback and link-local addresses are never asked for
/// (they have no useful public name).
#[must_use]
pub fn wanted_names(store: &Store, ui: &UiState) -> Vec<IpAddr> {
    let remotes: Vec<IpAddr> = match ui.tab() {
        Tab::Connections => connection_model::on_screen(store, &ui.tabs.connections)
            .into_iter()
            .map(|entry| entry.socket.remote.ip())
            .collect(),
        Tab::Overview => overview::talker_remotes(store),
        Tab::Interfaces | Tab::Paths | Tab::Dns | Tab::Routes | Tab::Events => Vec::new(),
    };
    let names = store.connections();
    let mut wanted: Vec<IpAddr> = Vec::new();
    for ip in remotes {
        if worth_asking(ip) && names.name_of(ip).is_none() && !wanted.contains(&ip) {
            wanted.push(ip);
        }
    }
    wanted
}

/// Whether a reverse lookup of `ip` could say anything: not unspecified, loopback or
/// link-local (IPv4-mapped IPv6 judged as IPv4).
fn worth_asking(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_loopback() || v4.is_link_local()),
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_loopback() || v6.is_unicast_link_local()),
    }
}

#[cfg(test)]
mod tests {
    use netlens_collectors::Payload;
    use netlens_collectors::fake;
    use netlens_collectors::model::SourceId;

    use super::*;
    use crate::action::Action;
    use crate::testing::update;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn only_real_peers_are_worth_asking() {
        for (address, expected) in [
            ("93.184.215.14", true),
            ("2606:4700::6812:1a2b", true),
            ("0.0.0.0", false),
            ("::", false),
            ("127.0.0.53", false),
            ("::1", false),
            ("169.254.1.1", false),
            ("fe80::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.1.2.3", true),
        ] {
            assert_eq!(worth_asking(ip(address)), expected, "{address}");
        }
    }

    #[test]
    fn asks_for_the_unnamed_peers_on_screen() {
        let store = fake::store();
        let mut ui = UiState::new();
        update(&mut ui, &store, Action::Resize(160, 48));
        // The overview's talkers: curl's busiest peer has not been looked up.
        assert_eq!(wanted_names(&store, &ui), [ip("198.51.100.7")]);
        update(&mut ui, &store, Action::SelectTab(Tab::Connections));
        let mut wanted = wanted_names(&store, &ui);
        wanted.sort_unstable();
        // Named or answered already: 93.184.215.14, 2606:…, 142.250.185.78, 10.8.0.7,
        // 198.51.100.20, 203.0.113.50 (no name). Loopback and wildcards are skipped, and
        // so are the peers of closed connections, folded off the screen.
        let mut expected = vec![ip("151.101.1.69"), ip("198.51.100.7")];
        expected.sort_unstable();
        assert_eq!(wanted, expected);

        // Once answered, they are not asked again.
        let mut answered = store.clone();
        let answers = expected.iter().map(|ip| (*ip, None)).collect();
        answered.apply(fake::event(fake::NOW, SourceId::Connections, Payload::Names(answers)));
        assert_eq!(wanted_names(&answered, &ui), Vec::<IpAddr>::new());

        // A short screen shows fewer rows, and asks for fewer names.
        update(&mut ui, &store, Action::Resize(80, 12));
        assert!(wanted_names(&store, &ui).len() < expected.len());
        update(&mut ui, &store, Action::SelectTab(Tab::Routes));
        assert_eq!(wanted_names(&store, &ui), Vec::<IpAddr>::new());
    }
}
