//! The tabs as components: each tab's state implements [`Component`], handling its
//! own keys (movement, sort, open and close of its details, its own commands) and
//! drawing itself through its pane in `crate::panes`.

mod connections;
mod dns;
mod events;
mod interfaces;
mod overview;
mod paths;
mod routes;

#[cfg(test)]
pub(crate) use paths::selected_path;

use crate::component::Component;
use crate::state::{Tab, Tabs};

impl Tabs {
    /// The component of `tab`.
    pub(crate) fn get_mut(&mut self, tab: Tab) -> &mut dyn Component {
        match tab {
            Tab::Overview => &mut self.overview,
            Tab::Interfaces => &mut self.interfaces,
            Tab::Paths => &mut self.paths,
            Tab::Dns => &mut self.dns,
            Tab::Connections => &mut self.connections,
            Tab::Routes => &mut self.routes,
            Tab::Events => &mut self.events,
        }
    }

    /// The component of `tab`, to read.
    pub(crate) fn get(&self, tab: Tab) -> &dyn Component {
        match tab {
            Tab::Overview => &self.overview,
            Tab::Interfaces => &self.interfaces,
            Tab::Paths => &self.paths,
            Tab::Dns => &self.dns,
            Tab::Connections => &self.connections,
            Tab::Routes => &self.routes,
            Tab::Events => &self.events,
        }
    }
}
