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
use crate::view::HINT_BAR_HEIGHT;
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
        help::render(frame, area, &mut self.scroll, (self.tab, self.replay), ctx);
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
    /// Enter is left to the app: what it applies reaches beyond the prompt. A
    /// confirmation takes one key: `y` is left to the app too, any other key keeps.
    fn handle(&mut self, action: Action, _ctx: &mut Handle<'_>) -> Reply {
        if self.kind == PromptKind::ConfirmRemove {
            return match action {
                Action::PromptInput('y' | 'Y') => Reply::Ignored,
                _ => Reply::Dismiss,
            };
        }
        let draft = &mut self.draft;
        // A preselected previous entry goes at the first edit, whatever the edit.
        let replace = std::mem::take(&mut self.selected);
        match action {
            Action::PromptInput(c) if !c.is_control() => {
                if replace {
                    draft.clear();
                }
                if draft.chars().count() < MAX_DRAFT {
                    draft.push(c);
                }
            }
            Action::PromptBackspace | Action::PromptDeleteWord | Action::PromptClear if replace => {
                draft.clear();
            }
            Action::PromptBackspace => {
                draft.pop();
            }
            Action::PromptDeleteWord => {
                let kept = draft.trim_end().rfind(char::is_whitespace).map_or(0, |i| i + 1);
                draft.truncate(kept);
            }
            Action::PromptClear => draft.clear(),
            Action::PromptKeep => return Reply::Handled,
            Action::PromptCancel | Action::Close => {
                draft.clear();
                self.error = None;
                return Reply::Dismiss;
            }
            Action::PromptSubmit => {
                self.selected = replace;
                return Reply::Ignored;
            }
            // Nothing else a prompt is sent edits it; it stays as it was.
            _ => {
                self.selected = replace;
                return Reply::Handled;
            }
        }
        self.error = None;
        Reply::Handled
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        let label = match self.kind {
            PromptKind::Filter => format!("filter {}", self.tab.title()),
            kind => kind.label().to_owned(),
        };
        // With the key-hint bar below, the forms are there; without it, here.
        let bar = frame.area().height >= HINT_BAR_HEIGHT;
        let hint = match self.kind {
            PromptKind::Filter => "enter apply · esc cancel",
            PromptKind::RouteLookup if bar => "enter look up · esc cancel",
            PromptKind::RouteLookup => "DEST [via=IF] [mark=N] [from=ADDR] · enter look up · esc cancel",
            PromptKind::AddTarget if bar => "enter add · esc cancel",
            PromptKind::AddTarget => {
                "host:port · [ipv6]:port · name:port,probe=icmp|dns · addr,probe=none · ,via=IF · ,mark=N \
                 · enter add · esc cancel"
            }
            PromptKind::Trace if bar => "enter trace · esc cancel",
            PromptKind::Trace => "NAME (search list and ndots apply) · enter trace · esc cancel",
            PromptKind::ConfirmRemove => "y removes · any other key keeps it",
            PromptKind::JumpTo if bar => "enter jump · esc cancel",
            PromptKind::JumpTo => "2026-12-03T03:12:07Z · +90s · -5m · start · end · enter jump · esc cancel",
        };
        let text = match self.kind {
            PromptKind::ConfirmRemove => format!("{}?", self.subject),
            _ => self.draft.clone(),
        };
        // What is typed is checked as it is typed: the Connections filter is a
        // language, and lookups and targets have a syntax. What Enter refused (a
        // duplicate) shows until the text changes.
        let error = problem(self).or_else(|| self.error.clone().map(|message| (0, 0, message)));
        let problem =
            error.as_ref().map(|(start, end, message)| prompt::Problem { start: *start, end: *end, message });
        let entry = prompt::Entry { label: &label, text: &text, hint, problem, selected: self.selected };
        let cursor = prompt::render(frame.buffer_mut(), area, ctx.theme, &entry);
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
        PromptKind::Filter | PromptKind::ConfirmRemove | PromptKind::JumpTo => None,
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
