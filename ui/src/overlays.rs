//! The overlays that take keys, as components: the one-line prompt edits its text
//! and checks it as it is typed; the help overlay scrolls through the keys in effect;
//! the route lookup popup shows the kernel's answer until dismissed. Keys they leave
//! alone get the app's fallback (Enter in the prompt applies it; a tab key leaves the
//! overlay for that tab; `r` over the popup asks another question).

use netlens_collectors::dns::candidates::{NameError, candidates};
use netlens_collectors::paths::query::{LookupRequest, LookupRequestError};
use netlens_collectors::paths::target::{Target, TargetError};
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::action::Action;
use crate::component::{Component, Reply};
use crate::conn_filter::ConnFilter;
use crate::context::{Handle, Paint};
use crate::panes::{help, route_lookup};
use crate::state::{HelpOverlay, LookupPopup, Motion, Prompt, PromptKind, Tab};
use crate::widgets::prompt;

/// Longest text the prompt accepts.
const MAX_DRAFT: usize = 256;

/// Lines a page moves in the help overlay.
const HELP_PAGE: usize = 10;

impl Component for HelpOverlay {
    fn handle(&mut self, action: Action, _ctx: &mut Handle<'_>) -> Reply {
        if let Some(motion) = Motion::of(action, HELP_PAGE) {
            // As far as the last frame showed there is to see.
            self.scroll.move_by(motion);
            return Reply::Handled;
        }
        match action {
            Action::Help | Action::Close => Reply::Dismiss,
            _ => Reply::Ignored,
        }
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        help::render(frame, area, &mut self.scroll, self.tab, ctx);
    }
}

impl Component for LookupPopup {
    /// The input mapping turns stray keys into `Close` while the popup shows.
    fn handle(&mut self, action: Action, _ctx: &mut Handle<'_>) -> Reply {
        match action {
            Action::Close | Action::PromptCancel => Reply::Dismiss,
            _ => Reply::Ignored,
        }
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        route_lookup::render(frame, area, self.request.as_ref(), ctx);
    }
}

impl Component for Prompt {
    /// Enter is left to the app: what it applies reaches beyond the prompt.
    fn handle(&mut self, action: Action, _ctx: &mut Handle<'_>) -> Reply {
        let draft = &mut self.draft;
        match action {
            Action::PromptInput(c) if !c.is_control() && draft.chars().count() < MAX_DRAFT => {
                draft.push(c);
            }
            Action::PromptBackspace => {
                draft.pop();
            }
            Action::PromptDeleteWord => {
                let kept = draft.trim_end().rfind(char::is_whitespace).map_or(0, |i| i + 1);
                draft.truncate(kept);
            }
            Action::PromptClear => draft.clear(),
            Action::PromptCancel | Action::Close => {
                draft.clear();
                return Reply::Dismiss;
            }
            Action::PromptSubmit => return Reply::Ignored,
            _ => {}
        }
        Reply::Handled
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        let (label, hint) = match self.kind {
            PromptKind::Filter => (format!("filter {}", self.tab.title()), "enter apply · esc cancel"),
            PromptKind::RouteLookup => {
                ("route lookup".to_owned(), "DEST via=IF mark=N from=ADDR · enter look up · esc cancel")
            }
            PromptKind::AddTarget => {
                ("add target".to_owned(), "HOST[:PORT][,via=IF][,mark=N][,probe=tcp|icmp|dns] · enter add")
            }
            PromptKind::Trace => {
                ("trace name:".to_owned(), "NAME (search list and ndots apply) · enter trace")
            }
        };
        // What is typed is checked as it is typed: the Connections filter is a
        // language, and lookups and targets have a syntax.
        let error = problem(self);
        let problem =
            error.as_ref().map(|(start, end, message)| prompt::Problem { start: *start, end: *end, message });
        let cursor = prompt::render(frame.buffer_mut(), area, ctx.theme, &label, &self.draft, hint, problem);
        frame.set_cursor_position(cursor);
    }
}

/// What is wrong with the prompt's text, if anything: the offending characters
/// (`start..end`) and the reason. Nothing typed yet is not an error.
fn problem(prompt: &Prompt) -> Option<(usize, usize, String)> {
    let draft = prompt.draft.as_str();
    // Underline the part an error names, where it occurs in the text as typed.
    let locate = |part: &str, message: String| {
        let (start, end) = draft.find(part).map_or((0, 0), |at| {
            let start = draft[..at].chars().count();
            (start, start + part.chars().count())
        });
        Some((start, end, message))
    };
    match prompt.kind {
        PromptKind::Filter if prompt.tab == Tab::Connections => {
            ConnFilter::parse(draft).err().map(|e| (e.start, e.end, e.message))
        }
        PromptKind::Filter => None,
        PromptKind::RouteLookup => match draft.parse::<LookupRequest>() {
            Ok(_) | Err(LookupRequestError::Empty) => None,
            Err(error) => {
                let message = error.to_string();
                match error {
                    LookupRequestError::Destination(part) | LookupRequestError::Option { part, .. } => {
                        locate(&part, message)
                    }
                    LookupRequestError::Empty => None,
                }
            }
        },
        PromptKind::AddTarget => match draft.parse::<Target>() {
            Ok(_) | Err(TargetError::Empty) => None,
            Err(error) => {
                let message = error.to_string();
                match error {
                    TargetError::Invalid { part, .. } => locate(&part, message),
                    TargetError::Empty => None,
                }
            }
        },
        // The name is one word: an error is about all of it.
        PromptKind::Trace => match candidates(draft, &[], 1) {
            Ok(_) | Err(NameError::Empty) => None,
            Err(error) => locate(draft.trim(), error.to_string()),
        },
    }
}
