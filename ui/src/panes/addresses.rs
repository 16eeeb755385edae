//! The order an interface's addresses are listed in, wherever they are listed.

use netlens_collectors::InterfaceEntry;
use netlens_collectors::model::{AddressScope, InterfaceAddress};
/// Global addresses first: they are the ones people look for.
pub(crate) fn addresses_by_interest(entry: &InterfaceEntry) -> impl Iterator<Item = &InterfaceAddress> {
    let global = |a: &&InterfaceAddress| matches!(a.scope, AddressScope::Global | AddressScope::Site);
    let addresses = &entry.info.addresses;
    addresses.iter().filter(global).chain(addresses.iter().filter(move |a| !global(a)))
}
