//! What the overlays that take keys remember: the help overlay and the route lookup
//! popup. (Details views belong to their tabs; the prompt is the app's.)

use netlens_collectors::paths::query::LookupRequest;

use super::table::Scroll;
use crate::tab::Tab;

/// The help overlay: the keys in effect, and the filter terms of the tab it was
/// opened over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HelpOverlay {
    /// How far it is scrolled.
    pub(crate) scroll: Scroll,
    /// The tab under it, whose filter terms it lists.
    pub(crate) tab: Tab,
}

/// The route lookup popup: the kernel's answer to the last lookup asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LookupPopup {
    /// The lookup last asked for; the popup shows the store's answer to it.
    pub(crate) request: Option<LookupRequest>,
}
