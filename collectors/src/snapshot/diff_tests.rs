use super::*;
use crate::fake;
use crate::model::{AddressFlags, AddressScope, InterfaceAddress};

fn doc() -> Snapshot {
    Snapshot::from_store(&fake::store(), fake::NOW)
}

#[test]
fn identical_snapshots_have_no_change() {
    assert_eq!(diff(&doc(), &doc()), []);
}

#[test]
fn an_address_added_and_a_route_removed_are_exactly_those_changes() {
    let before = doc();
    let mut after = before.clone();
    let eth0 =
        after.interfaces.iter_mut().find(|i| i.interface.name == "eth0").unwrap_or_else(|| panic!("eth0"));
    eth0.interface.addresses.push(InterfaceAddress {
        address: "192.168.1.77".parse().unwrap_or_else(|e| panic!("{e}")),
        prefix_len: 24,
        family: crate::model::AddressFamily::Ipv4,
        scope: AddressScope::Global,
        flags: AddressFlags::PERMANENT,
        valid_lifetime_s: None,
        preferred_lifetime_s: None,
        label: None,
    });
    let removed = after.routes.remove(0);
    let changes = diff(&before, &after);
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert_eq!(
        (changes[0].section.as_str(), changes[0].subject.as_str(), changes[0].change),
        ("addresses", "eth0 192.168.1.77/24", ChangeKind::Added)
    );
    assert_eq!(changes[0].after.as_deref(), Some("global · permanent"));
    assert_eq!((changes[1].section.as_str(), changes[1].change), ("routes", ChangeKind::Removed));
    assert!(changes[1].subject.contains(&removed.destination_text()), "{:?}", changes[1]);
    assert_eq!(changes[1].after, None);
}

#[test]
fn a_path_verdict_and_a_listener_change_are_named() {
    let before = doc();
    let mut after = before.clone();
    after.paths[0].status = crate::model::PathStatus::Unsatisfied;
    after.connections.retain(|c| !(c.state == SocketState::Listen && c.local.port() == 22));
    let changes = diff(&before, &after);
    let kinds: Vec<(&str, ChangeKind)> = changes.iter().map(|c| (c.section.as_str(), c.change)).collect();
    assert!(kinds.contains(&("paths", ChangeKind::Changed)), "{changes:#?}");
    assert!(
        changes.iter().any(|c| c.section == "listening"
            && c.subject.ends_with(":22")
            && c.change == ChangeKind::Removed),
        "{changes:#?}"
    );
}
