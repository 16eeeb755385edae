//! What the overlays that take keys remember: the one-line prompt, the help overlay
//! and the route lookup popup. (Details views belong to their tabs.)

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
    /// Whether it lists the replay keys (a replay is shown).
    pub(crate) replay: bool,
}

/// The route lookup popup: the kernel's answer to the last lookup asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LookupPopup {
    /// The lookup last asked for; the popup shows the store's answer to it.
    pub(crate) request: Option<LookupRequest>,
}

/// What the one-line prompt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptKind {
    /// `/`: the current table's filter.
    #[default]
    Filter,
    /// `r`: a route lookup, `DEST [via=IF] [mark=N] [from=ADDR]`.
    RouteLookup,
    /// `a` on the Paths tab: a new path target, `DEST[,via=IF][,mark=N][,probe=KIND]`.
    AddTarget,
    /// `t`: a name to trace the way the system resolver looks it up.
    Trace,
    /// `x` on the Paths tab: `y` stops watching the target in [`Prompt::subject`];
    /// any other key keeps it.
    ConfirmRemove,
    /// `J` in a replay: the time to move the cursor to.
    JumpTo,
}

impl PromptKind {
    /// What the prompt does, as its label says (`filter` is followed by the tab).
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Filter => "filter",
            Self::RouteLookup => "route lookup",
            Self::AddTarget => "add target",
            Self::Trace => "trace name",
            Self::ConfirmRemove => "remove target",
            Self::JumpTo => "jump to",
        }
    }
}

/// The one-line prompt: what it is for, the text typed so far, and the tab it was
/// opened over (whose filter it edits).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prompt {
    /// What it is for.
    pub(crate) kind: PromptKind,
    /// The text being typed.
    pub(crate) draft: String,
    /// The tab under it.
    pub(crate) tab: Tab,
    /// The draft is the previous entry, selected: the first character typed replaces
    /// it (so it is never glued onto), a deletion clears it, an arrow keeps it.
    pub(crate) selected: bool,
    /// Why Enter did not apply the draft (a duplicate target, text that does not
    /// parse), shown inline until the draft changes.
    pub(crate) error: Option<String>,
    /// What a confirmation is about (the target `x` would remove).
    pub(crate) subject: String,
}
