//! The tabs as components: each tab's state implements [`Component`], handling its
//! own keys (movement, sort, open and close of its details, its own commands) and
//! drawing itself through its pane in `crate::panes`.

mod connections;
mod dns;
mod events;
mod interfaces;
mod overview;
pub(crate) mod paths;
mod routes;

#[cfg(test)]
pub(crate) use paths::selected_path;

use crate::action::Action;
use crate::component::{Component, Reply};
use crate::state::{Motion, Scroll, Tab, Tabs};

/// The keys of a table tab while its details view is open: Esc closes it, Enter
/// keeps it, movement scrolls it, anything else is the tab's or the app's. `None`
/// while no details view is open.
pub(crate) fn details_keys<D>(
    details: &mut Option<D>,
    action: Action,
    scroll: impl FnOnce(&mut D) -> &mut Scroll,
) -> Option<Reply> {
    let open = details.as_mut()?;
    Some(match action {
        Action::Close => {
            *details = None;
            Reply::Handled
        }
        Action::Open => Reply::Handled,
        _ => {
            let scroll = scroll(open);
            match Motion::of(action, scroll.page()) {
                Some(motion) => {
                    scroll.move_by(motion);
                    Reply::Handled
                }
                None => Reply::Ignored,
            }
        }
    })
}

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
