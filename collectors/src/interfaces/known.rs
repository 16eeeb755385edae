//! The last known state, kept so every notification can be phrased as what it
//! changed (`eth0 mtu 1500 → 9000`) instead of what it contains.
//!
//! Why it is fed the way it is: dump replies and notifications travel on separate
//! sockets, so a re-read may already show a change whose notification is still
//! queued. If re-reads added or updated entries here, that notification would then
//! look like "no change" and never reach the timeline. So entries are added and
//! updated by notifications only; a re-read only *removes* what the kernel dropped
//! without saying so, and removal notifications are phrased, known or not — except
//! routes: the kernel view reports a route the kernel dropped silently (the IPv4
//! routes of a downed link) as a removal of its own, found by diffing its re-reads,
//! so a route removal is phrased once, when the route is known, whichever report
//! comes first. Only a resync after lost
//! notifications replaces the whole state, and then the difference is reported.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::event::Notice;
use crate::model::{
    AddressFamily, AddressFlags, FoldFrom, Interface, InterfaceAddress, Neighbor, NeighborState,
    NetworkTable, Route, RouteType, Rule,
};

use super::phrase::{self, LinkFacts};

/// A neighbour's routine state changes within this window of the first share one
/// timeline line (a cache entry cycles stale → delay → probe → reachable every few
/// minutes per peer; on a busy LAN that was most of the timeline).
const NEIGHBOR_FOLD_WINDOW: time::Duration = time::Duration::minutes(1);

/// Whether a neighbour's change is routine churn, folded on the timeline: not a
/// failure (FAILED, INCOMPLETE), not a recovery from one, not a new MAC address.
fn is_churn(old: Option<&NeighborFacts>, new: &Neighbor) -> bool {
    let failed = |state: NeighborState| matches!(state, NeighborState::Failed | NeighborState::Incomplete);
    !failed(new.state)
        && old.is_none_or(|old| !failed(old.state) && (new.mac.is_none() || old.mac == new.mac))
}

/// The local routing table, where the kernel keeps routes for its own addresses.
const LOCAL_TABLE: u32 = 255;

/// One thing a notification (or a resync diff) says happened.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// A link appeared or changed.
    Link(Interface),
    /// A link disappeared.
    LinkRemoved {
        /// Its index.
        index: u32,
        /// Its last name.
        name: String,
    },
    /// An address appeared or changed.
    Address(u32, InterfaceAddress),
    /// An address was removed.
    AddressRemoved(u32, InterfaceAddress),
    /// A route appeared or was replaced.
    Route(Route),
    /// A route was removed.
    RouteRemoved(Route),
    /// A rule appeared.
    Rule(Rule),
    /// A rule was removed.
    RuleRemoved(Rule),
    /// A neighbour entry appeared or changed.
    Neighbor(Neighbor),
    /// A neighbour entry was removed.
    NeighborRemoved(Neighbor),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct AddressKey {
    index: u32,
    address: IpAddr,
    prefix_len: u8,
}

impl AddressKey {
    const fn of(index: u32, address: &InterfaceAddress) -> Self {
        Self { index, address: address.address, prefix_len: address.prefix_len }
    }
}

/// What makes two routes different routes (rather than one route changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RouteKey {
    family: AddressFamily,
    table: u32,
    route_type: RouteType,
    destination: IpAddr,
    prefix_len: u8,
    gateway: Option<IpAddr>,
    interface_index: Option<u32>,
    metric: Option<u32>,
}

impl RouteKey {
    /// What tells routes apart: the kernel's own identity of a route (table, type,
    /// prefix, gateway, device, metric).
    pub(crate) const fn of(route: &Route) -> Self {
        Self {
            family: route.family,
            table: route.table,
            route_type: route.route_type,
            destination: route.destination,
            prefix_len: route.prefix_len,
            gateway: route.gateway,
            interface_index: route.interface_index,
            metric: route.metric,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RuleKey {
    family: AddressFamily,
    priority: u32,
    selector: String,
    action: String,
    table: u32,
}

impl RuleKey {
    fn of(rule: &Rule) -> Self {
        Self {
            family: rule.family,
            priority: rule.priority,
            selector: rule.selector.clone(),
            action: rule.action.clone(),
            table: rule.table,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NeighborFacts {
    state: NeighborState,
    mac: Option<String>,
}

/// The state the next notification is compared with.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct KnownState {
    links: BTreeMap<u32, LinkFacts>,
    addresses: BTreeMap<AddressKey, AddressFlags>,
    routes: BTreeMap<RouteKey, Route>,
    rules: BTreeMap<RuleKey, Rule>,
    neighbors: BTreeMap<(u32, IpAddr), NeighborFacts>,
}

fn link_facts(interface: &Interface) -> LinkFacts {
    LinkFacts {
        name: interface.name.clone(),
        kind: interface.kind,
        up: interface.is_up(),
        carrier: interface.carrier,
        mtu: interface.mtu,
        mac: interface.mac.clone(),
    }
}

/// Routes the kernel keeps in the local table for every address (local, broadcast,
/// multicast, anycast): the address notice already says it all.
fn is_address_bookkeeping(route: &Route) -> bool {
    route.table == LOCAL_TABLE
        && route.protocol == "kernel"
        && matches!(
            route.route_type,
            RouteType::Local | RouteType::Broadcast | RouteType::Multicast | RouteType::Anycast
        )
}

impl KnownState {
    /// The state a complete read describes.
    pub(crate) fn from_table(table: &NetworkTable) -> Self {
        let mut state = Self::default();
        for interface in &table.interfaces {
            state.links.insert(interface.index, link_facts(interface));
            for address in &interface.addresses {
                state.addresses.insert(AddressKey::of(interface.index, address), address.flags);
            }
        }
        for route in &table.routes {
            state.routes.insert(RouteKey::of(route), route.clone());
        }
        for rule in &table.rules {
            state.rules.insert(RuleKey::of(rule), rule.clone());
        }
        for neighbor in &table.neighbors {
            state.neighbors.insert(
                (neighbor.interface_index, neighbor.address),
                NeighborFacts { state: neighbor.state, mac: neighbor.mac.clone() },
            );
        }
        state
    }

    /// The current name of interface `index`.
    pub(crate) fn name_of(&self, index: u32) -> Option<&str> {
        self.links.get(&index).map(|link| link.name.as_str())
    }

    fn name_or_index(&self, index: u32) -> String {
        self.name_of(index).map_or_else(|| format!("if{index}"), str::to_owned)
    }

    /// Fold one change in, appending the notices it deserves.
    pub(crate) fn apply(&mut self, change: Change, notices: &mut Vec<Notice>) {
        match change {
            Change::Link(interface) => self.apply_link(&interface, notices),
            Change::LinkRemoved { index, name } => {
                let name = self.links.remove(&index).map_or(name, |link| link.name);
                notices.push(phrase::link_removed(&name));
                // Everything on the link went with it; the kernel does not always say so.
                self.addresses.retain(|key, _| key.index != index);
                self.routes.retain(|key, _| key.interface_index != Some(index));
                self.neighbors.retain(|(neighbor_index, _), _| *neighbor_index != index);
            }
            Change::Address(index, address) => {
                let name = self.name_or_index(index);
                match self.addresses.insert(AddressKey::of(index, &address), address.flags) {
                    None => notices.push(phrase::address_added(&name, &address)),
                    Some(old) => notices.extend(phrase::address_changed(
                        &name,
                        address.address,
                        address.prefix_len,
                        old,
                        address.flags,
                    )),
                }
            }
            Change::AddressRemoved(index, address) => {
                self.addresses.remove(&AddressKey::of(index, &address));
                notices.push(phrase::address_removed(
                    &self.name_or_index(index),
                    address.address,
                    address.prefix_len,
                ));
            }
            Change::Route(route) => {
                let key = RouteKey::of(&route);
                let interface = self.route_interface(&route);
                let known = self.routes.insert(key, route.clone()).is_some();
                if !known && !is_address_bookkeeping(&route) {
                    notices.push(phrase::route_added(&route, interface.as_deref()));
                }
            }
            Change::RouteRemoved(route) => {
                // A removal of a route not known is the second report of one: the kernel
                // view reports removals the kernel did not announce (IPv4 routes of a
                // downed link) from its re-read, and the kernel's own message may follow.
                let known = self.routes.remove(&RouteKey::of(&route)).is_some();
                if known && !is_address_bookkeeping(&route) {
                    let interface = self.route_interface(&route);
                    notices.push(phrase::route_removed(&route, interface.as_deref()));
                }
            }
            Change::Rule(rule) => {
                if self.rules.insert(RuleKey::of(&rule), rule.clone()).is_none() {
                    notices.push(phrase::rule_added(&rule));
                }
            }
            Change::RuleRemoved(rule) => {
                self.rules.remove(&RuleKey::of(&rule));
                notices.push(phrase::rule_removed(&rule));
            }
            Change::Neighbor(neighbor) => {
                let interface = self.neighbor_interface(&neighbor);
                let facts = NeighborFacts { state: neighbor.state, mac: neighbor.mac.clone() };
                let old = self.neighbors.insert((neighbor.interface_index, neighbor.address), facts);
                let notice = phrase::neighbor_seen(
                    &interface,
                    neighbor.address,
                    old.as_ref().map(|old| (old.state, old.mac.as_deref())),
                    (neighbor.state, neighbor.mac.as_deref()),
                );
                notices.extend(notice.map(|notice| {
                    if is_churn(old.as_ref(), &neighbor) {
                        let key = format!("{interface} {}", neighbor.address);
                        notice.folded(key, NEIGHBOR_FOLD_WINDOW, FoldFrom::First)
                    } else {
                        notice
                    }
                }));
            }
            Change::NeighborRemoved(neighbor) => {
                self.neighbors.remove(&(neighbor.interface_index, neighbor.address));
                notices.push(phrase::neighbor_removed(&self.neighbor_interface(&neighbor), neighbor.address));
            }
        }
    }

    fn apply_link(&mut self, interface: &Interface, notices: &mut Vec<Notice>) {
        let new = link_facts(interface);
        match self.links.insert(interface.index, new.clone()) {
            None => notices.push(phrase::link_added(&new.name, new.kind)),
            // Taking a link down flushes its IPv4 routes without a word: the kernel
            // view finds them gone in its next re-read and reports their removal.
            Some(old) => notices.extend(phrase::link_changes(&old, &new)),
        }
    }

    fn route_interface(&self, route: &Route) -> Option<String> {
        route.interface.clone().or_else(|| route.interface_index.map(|index| self.name_or_index(index)))
    }

    fn neighbor_interface(&self, neighbor: &Neighbor) -> String {
        if neighbor.interface.is_empty() {
            self.name_or_index(neighbor.interface_index)
        } else {
            neighbor.interface.clone()
        }
    }

    /// Forget what a complete read no longer shows (see the module doc for why this
    /// never adds).
    pub(crate) fn retain_present(&mut self, table: &NetworkTable) {
        let fresh = Self::from_table(table);
        self.addresses.retain(|key, _| fresh.addresses.contains_key(key));
        // Routes are not forgotten here: every removal arrives as a change, announced by
        // the kernel or found by the kernel view's re-read, and is phrased then.
        self.rules.retain(|key, _| fresh.rules.contains_key(key));
        self.neighbors.retain(|key, _| fresh.neighbors.contains_key(key));
    }

    /// The changes that turn this state into the one `table` describes, removals
    /// first so names are still known when they are phrased.
    pub(crate) fn changes_to(&self, table: &NetworkTable) -> Vec<Change> {
        let fresh = Self::from_table(table);
        let mut changes = Vec::new();
        for (key, route) in &self.routes {
            if !fresh.routes.contains_key(key) {
                changes.push(Change::RouteRemoved(route.clone()));
            }
        }
        for (key, rule) in &self.rules {
            if !fresh.rules.contains_key(key) {
                changes.push(Change::RuleRemoved(rule.clone()));
            }
        }
        for ((index, address), facts) in &self.neighbors {
            if !fresh.neighbors.contains_key(&(*index, *address)) {
                changes.push(Change::NeighborRemoved(Neighbor {
                    interface: String::new(),
                    interface_index: *index,
                    address: *address,
                    mac: facts.mac.clone(),
                    state: facts.state,
                }));
            }
        }
        for (key, flags) in &self.addresses {
            if !fresh.addresses.contains_key(key) {
                changes.push(Change::AddressRemoved(key.index, removed_address(key, *flags)));
            }
        }
        for (index, link) in &self.links {
            if !fresh.links.contains_key(index) {
                changes.push(Change::LinkRemoved { index: *index, name: link.name.clone() });
            }
        }
        for interface in &table.interfaces {
            let mut link = interface.clone();
            let addresses = std::mem::take(&mut link.addresses);
            changes.push(Change::Link(link));
            changes.extend(addresses.into_iter().map(|address| Change::Address(interface.index, address)));
        }
        changes.extend(table.routes.iter().cloned().map(Change::Route));
        changes.extend(table.rules.iter().cloned().map(Change::Rule));
        changes.extend(table.neighbors.iter().cloned().map(Change::Neighbor));
        changes
    }
}

fn removed_address(key: &AddressKey, flags: AddressFlags) -> InterfaceAddress {
    InterfaceAddress {
        address: key.address,
        prefix_len: key.prefix_len,
        family: AddressFamily::of(&key.address),
        scope: crate::model::AddressScope::default(),
        flags,
        valid_lifetime_s: None,
        preferred_lifetime_s: None,
        label: None,
    }
}

#[cfg(test)]
mod tests;
