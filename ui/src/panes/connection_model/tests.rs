use netlens_collectors::fake;

use super::owner::Unowned;
use super::*;
use crate::conn_filter::ConnFilter;

const SORTS: [ConnectionSort; 10] = [
    ConnectionSort::State,
    ConnectionSort::Local,
    ConnectionSort::Remote,
    ConnectionSort::Process,
    ConnectionSort::Rx,
    ConnectionSort::Tx,
    ConnectionSort::Rtt,
    ConnectionSort::Retransmits,
    ConnectionSort::Age,
    ConnectionSort::Protocol,
];

fn state(sort: ConnectionSort, reversed: bool, grouped: bool, filter: &str) -> ConnectionsState {
    let mut state = ConnectionsState { grouped, show_closed: true, ..ConnectionsState::default() };
    state.table.sort = sort;
    state.table.reversed = reversed;
    state.table.filter = ConnFilter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e:?}"));
    state
}

/// Every display line as `G<pid>` or the cookie, reading the whole model at once.
fn lines(model: &mut Model<'_>) -> Vec<String> {
    let total = model.lines();
    model
        .window(0, total)
        .into_iter()
        .map(|line| match line {
            Line::Group(group) => format!("G{}", group.pid.map_or_else(|| "?".to_owned(), |p| p.to_string())),
            Line::Conn(conn, _) => conn.entry.socket.cookie.to_string(),
        })
        .collect()
}

#[test]
fn default_order_is_by_state_then_owner_then_peer() {
    let store = fake::store();
    let shown = ConnectionsState { show_closed: true, ..ConnectionsState::default() };
    let mut model = Model::build(&store, &shown, fake::NOW);
    assert_eq!(
        lines(&mut model),
        [
            // established: firefox (v4 < v6 peers), node, postgres, rsync, ssh, curl…
            "31", "6", "8", "7", "10", "11", "14", "9",  // estab by process name
            "13", // syn_sent
            "12", // time_wait (no owner: last)
            "4", "3", "1", "2", // listen: node, postgres, sshd v4, v6
            "5", // unconnected udp
            "30", "20", "21", "22", "23", "24", // closed
        ]
    );
}

#[test]
fn windows_ranks_and_rows_agree_with_a_full_sort() {
    let store = fake::store();
    for sort in SORTS {
        for reversed in [false, true] {
            for grouped in [false, true] {
                let state = state(sort, reversed, grouped, "");
                let mut model = Model::build(&store, &state, fake::NOW);
                let full = lines(&mut model);
                let rows: Vec<&String> = full.iter().filter(|l| !l.starts_with('G')).collect();
                assert_eq!(rows.len(), 21, "{sort:?}");
                // Every partial window reads the same lines as the whole.
                for offset in [0, 1, 5, 13, 20] {
                    for count in [1, 3, 8, 40] {
                        let mut fresh = Model::build(&store, &state, fake::NOW);
                        let part: Vec<String> = fresh
                            .window(offset, count)
                            .into_iter()
                            .map(|line| match line {
                                Line::Group(g) => {
                                    format!("G{}", g.pid.map_or_else(|| "?".to_owned(), |p| p.to_string()))
                                }
                                Line::Conn(conn, _) => conn.entry.socket.cookie.to_string(),
                            })
                            .collect();
                        let end = (offset + count).min(full.len());
                        assert_eq!(
                            part,
                            full[offset.min(end)..end],
                            "{sort:?} {reversed} {grouped} {offset}+{count}"
                        );
                    }
                }
                for (index, cookie) in rows.iter().enumerate() {
                    let cookie: u64 = cookie.parse().unwrap_or_default();
                    let mut fresh = Model::build(&store, &state, fake::NOW);
                    assert_eq!(fresh.rank_of(cookie), Some(index), "{sort:?} rank of {cookie}");
                    assert_eq!(
                        fresh.row_at(index).map(|e| e.socket.cookie),
                        Some(cookie),
                        "{sort:?} row {index}"
                    );
                    assert_eq!(full[fresh.line_of(index)], cookie.to_string(), "{sort:?} line of {index}");
                }
            }
        }
    }
}

#[test]
fn measures_sort_busiest_first_and_unknown_last() {
    let store = fake::store();
    let mut model = Model::build(&store, &state(ConnectionSort::Rx, false, false, "!closed"), fake::NOW);
    let order = lines(&mut model);
    assert_eq!(order[..3], ["6", "8", "7"], "1.45 MB/s, 820 KB/s (UDP, from capture), 310 KB/s");
    let unknown = ["1", "2", "3", "4", "12"];
    assert!(order[order.len() - 5..].iter().all(|c| unknown.contains(&c.as_str())), "{order:?}");
    // Reversed: quietest known first, unknown still last.
    let mut model = Model::build(&store, &state(ConnectionSort::Rx, true, false, "!closed"), fake::NOW);
    let order = lines(&mut model);
    assert_eq!(order[..2], ["13", "14"], "the unanswered SYN and the stalled upload receive nothing");
    assert!(order[order.len() - 5..].iter().all(|c| unknown.contains(&c.as_str())), "{order:?}");
}

#[test]
fn groups_total_per_process() {
    let store = fake::store();
    let model = Model::build(&store, &state(ConnectionSort::Rx, false, true, ""), fake::NOW);
    let groups = model.groups();
    let owners: Vec<Option<u32>> = groups.iter().map(|g| g.pid).collect();
    assert_eq!(owners[0], Some(2210), "firefox receives the most");
    assert_eq!(*owners.last().unwrap_or(&None), None, "unknown owners last");
    let firefox = &groups[0];
    assert_eq!(firefox.rows.len(), 3, "the time_wait socket has no owner");
    assert_eq!(firefox.rx.map(f64::round), Some(2_580_000.0), "TCP and UDP (captured) rates summed");
    assert_eq!(firefox.worst_rtt, Some(23.4));
    let rsync = groups.iter().find(|g| g.pid == Some(4022)).map(|g| (g.retransmits, g.warned));
    assert_eq!(rsync, Some((Some(37), 1)));
    let lines_total = model.lines();
    assert_eq!(lines_total, 21 + groups.len());
}

#[test]
fn offset_brings_the_group_heading_along() {
    let store = fake::store();
    let model = Model::build(&store, &state(ConnectionSort::State, false, true, ""), fake::NOW);
    // Scrolled past the top, the cursor on the first row of the second group: its
    // heading shows above it.
    let first = model.groups()[0].rows.len();
    let offset = model.offset_for(first, 10, 5);
    assert_eq!(offset, model.line_of(first) - 1);
}

#[test]
fn large_tables_window_in_place() {
    let store = fake::large_connection_store(2_000);
    let state = state(ConnectionSort::Rtt, false, false, "");
    let mut model = Model::build(&store, &state, fake::NOW);
    assert_eq!(model.rows(), 2_000);
    let window: Vec<f64> = model
        .window(1_000, 40)
        .into_iter()
        .filter_map(|line| match line {
            Line::Conn(conn, _) => conn.rtt(),
            Line::Group(_) => None,
        })
        .collect();
    assert_eq!(window.len(), 40);
    assert!(window.windows(2).all(|w| w[0] >= w[1]), "slowest first: {window:?}");
}

#[test]
fn closed_rows_fold_into_a_count_until_shown() {
    let store = fake::store();
    let folded = ConnectionsState::default();
    let mut model = Model::build(&store, &folded, fake::NOW);
    assert_eq!(model.rows(), 15, "the open rows only");
    assert_eq!(model.folded().count, 6);
    let first_closed = store.connections().iter().filter_map(|e| e.closed_at).min();
    assert_eq!(model.folded().since, first_closed);
    assert!(
        lines(&mut model)
            .iter()
            .all(|cookie| !["20", "21", "22", "23", "24", "30"].contains(&cookie.as_str()))
    );
    // `c` lists them; the counts are the same either way.
    let shown = ConnectionsState { show_closed: true, ..ConnectionsState::default() };
    let model_shown = Model::build(&store, &shown, fake::NOW);
    assert_eq!((model_shown.rows(), model_shown.folded().count), (21, 0));
    assert_eq!(model_shown.matched(), model.matched());
    assert_eq!(model.matched(), store.connections().counts(), "no filter: the whole table's counts");
}

#[test]
fn counts_and_the_closed_line_follow_the_filter() {
    let store = fake::store();
    let mut state = state(ConnectionSort::State, false, false, "proc:curl");
    state.show_closed = false;
    let model = Model::build(&store, &state, fake::NOW);
    let matched = model.matched();
    // curl: one established, one connecting, one closed; nmap's closed ones are not
    // counted although they are closed too.
    assert_eq!((matched.established, matched.connecting, matched.closed), (1, 1, 1));
    assert_eq!((model.rows(), model.folded().count), (2, 1));
    assert_eq!(matched.tcp + matched.udp + matched.closed, model.rows() + model.folded().count);
}

#[test]
fn a_filter_that_asks_for_closed_rows_shows_them_though_folded() {
    let store = fake::store();
    for (text, rows) in [("closed", 6), ("state:closed", 6), ("proc:curl closed", 1)] {
        let mut state = state(ConnectionSort::State, false, false, text);
        state.show_closed = false;
        let model = Model::build(&store, &state, fake::NOW);
        assert_eq!((model.rows(), model.folded().count), (rows, 0), "{text}");
    }
    // Negated, it asks for the open ones: the closed stay folded (and filtered out).
    let mut state = state(ConnectionSort::State, false, false, "!closed");
    state.show_closed = false;
    let model = Model::build(&store, &state, fake::NOW);
    assert_eq!((model.rows(), model.folded().count), (15, 0));
}

#[test]
fn grouped_folded_rows_leave_their_groups() {
    let store = fake::store();
    let mut state = state(ConnectionSort::Process, false, true, "");
    state.show_closed = false;
    let model = Model::build(&store, &state, fake::NOW);
    assert!(model.groups().iter().all(|g| g.rows.iter().all(|c| c.entry.closed_at.is_none())));
    assert!(!model.groups().iter().any(|g| g.process.is_some_and(|p| p.name == "nmap")), "nmap only closed");
}

/// The scripted table with one owner each way unknown: no pid found, a pid whose
/// process is gone, and (optionally) other users' sockets hidden.
fn unowned_store(all_visible: bool) -> netlens_collectors::Store {
    use netlens_collectors::Payload;
    use netlens_collectors::model::SourceId;
    let mut table = fake::connection_table(30);
    let by_inode = |cookie: u64| table.sockets.iter().find(|s| s.cookie == cookie).map(|s| s.inode);
    let firefox = by_inode(6).unwrap_or_default();
    let curl = by_inode(31).unwrap_or_default();
    table.owners.retain(|(inode, _)| *inode != firefox);
    for owner in &mut table.owners {
        if owner.0 == curl {
            owner.1 = 26_070;
        }
    }
    table.all_owners_visible = all_visible;
    let mut store = fake::store();
    store.apply(fake::event(fake::NOW, SourceId::Connections, Payload::Sockets(table)));
    store
}

#[test]
fn every_unknown_owner_has_one_spelling_and_its_own_reason() {
    let store = unowned_store(true);
    let connections = store.connections();
    let reason = |cookie: u64| {
        let entry = connections.get(cookie).unwrap_or_else(|| panic!("cookie {cookie}"));
        match owner(entry, connections) {
            Owner::Unknown(why) => Some(why),
            Owner::Process(_) => None,
        }
    };
    assert_eq!(reason(12), Some(Unowned::Kernel), "time_wait has no inode");
    assert_eq!(reason(6), Some(Unowned::NotFound));
    assert_eq!(reason(31), Some(Unowned::Exited(26_070)));
    assert_eq!(reason(7), None, "firefox's other socket is still known");
    assert!(reason(6).map(|why| why.reason(false)).unwrap_or_default().contains("/proc"));
    assert!(Unowned::Exited(26_070).reason(false).contains("pid 26070 exited"));
    let hidden = unowned_store(false);
    let entry = hidden.connections().get(6);
    let why = entry.map(|e| owner(e, hidden.connections()));
    assert!(matches!(why, Some(Owner::Unknown(Unowned::OtherUser))), "{why:?}");
    // Grouped, every unknown owner is one group, whatever the reason.
    let model = Model::build(&store, &state(ConnectionSort::Process, false, true, ""), fake::NOW);
    let unknown: Vec<&Group<'_>> = model.groups().iter().filter(|g| g.process.is_none()).collect();
    assert_eq!(unknown.len(), 1);
    let cookies: Vec<u64> = unknown[0].rows.iter().map(|c| c.entry.socket.cookie).collect();
    assert!(cookies.contains(&6) && cookies.contains(&31) && cookies.contains(&12), "{cookies:?}");
}
