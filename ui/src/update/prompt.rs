//! The one-line prompt: the current table's filter, a route lookup, a new path
//! target, a name to trace, the confirmation of a removal. A prompt opens empty or
//! with the previous entry selected, so the first key typed replaces it. Typing edits
//! the draft; Enter applies it, or keeps the prompt open with the reason inline
//! whenever it cannot be applied (text that does not parse, a target already
//! watched); Esc cancels. Nothing typed reaches the app's bindings.

use netlens_collectors::Store;
use netlens_collectors::dns::candidates::candidates;
use netlens_collectors::model::Timestamp;
use netlens_collectors::paths::query::LookupRequest;
use netlens_collectors::paths::target::Target;

use super::set_filter;
use crate::action::Action;
use crate::command::Command;
use crate::component::{Component, Reply};
use crate::context::Handle;
use crate::state::{DnsFocus, Mode, PendingTrace, Prompt, PromptKind, Scroll, StatusLevel, Tab, UiState};

/// `/`: the current table's filter, starting from the one applied.
pub(super) fn open_filter(ui: &mut UiState) {
    let Some(text) = ui.tabs.get(ui.tab).filter().map(str::to_owned) else {
        ui.hint(
            "filters work on the Interfaces, Paths, DNS, Connections, Routes and Events tables",
            StatusLevel::Warning,
        );
        return;
    };
    open(ui, PromptKind::Filter, text);
}

/// `r`: the route lookup prompt, starting from the previous question.
pub(super) fn open_lookup(ui: &mut UiState) {
    let draft = ui.lookup.request.as_ref().map(ToString::to_string).unwrap_or_default();
    open(ui, PromptKind::RouteLookup, draft);
}

/// `t`: the trace prompt (any tab), starting from the name traced last.
pub(super) fn open_trace(ui: &mut UiState, store: &Store) {
    let draft = match &ui.tabs.dns.pending {
        Some(pending) => pending.name.clone(),
        None => store.dns().last_user_trace().map(|trace| trace.name.clone()).unwrap_or_default(),
    };
    open(ui, PromptKind::Trace, draft);
}

/// `a`: the add-target prompt (Paths tab), empty.
pub(super) fn open_add_target(ui: &mut UiState) {
    if ui.tab != Tab::Paths {
        let key = ui.keys_of(Tab::Paths.binding()).unwrap_or("3").to_owned();
        ui.hint(format!("targets are added on the Paths tab ({key})"), StatusLevel::Info);
        return;
    }
    open(ui, PromptKind::AddTarget, String::new());
}

/// `J` in a replay: the time to jump to, empty.
pub(super) fn open_jump(ui: &mut UiState) {
    open(ui, PromptKind::JumpTo, String::new());
}

/// `x` on the Paths tab: ask before `target` stops being watched.
pub(crate) fn confirm_remove(ui: &mut UiState, target: String) {
    open(ui, PromptKind::ConfirmRemove, String::new());
    ui.prompt.subject = target;
}

/// Open the prompt for `kind`, starting from `draft`, selected when there is one.
fn open(ui: &mut UiState, kind: PromptKind, draft: String) {
    let selected = !draft.is_empty();
    ui.prompt = Prompt { kind, draft, tab: ui.tab, selected, error: None, subject: String::new() };
    ui.mode = Mode::Prompt;
}

/// A key while the prompt is open: the prompt edits its text; Enter is applied here,
/// because what it applies reaches beyond the prompt (a tab's filter, the route
/// lookup, the Paths and DNS tabs).
pub(super) fn handle(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    let reply = {
        let UiState { prompt, status, .. } = ui;
        prompt.handle(action, &mut Handle { store, status })
    };
    match reply {
        Reply::Run(command) => return Some(command),
        Reply::Dismiss => {
            ui.mode = Mode::Normal;
            if ui.prompt.kind == PromptKind::ConfirmRemove {
                let text = format!("kept {}", ui.prompt.subject);
                ui.hint(text, StatusLevel::Info);
            }
        }
        Reply::Ignored if action == Action::PromptSubmit || ui.prompt.kind == PromptKind::ConfirmRemove => {
            return submit(ui, store);
        }
        Reply::Handled | Reply::Ignored => {}
    }
    None
}

/// Enter refused the draft: say why inline, and keep the prompt open.
fn refuse(ui: &mut UiState, why: impl Into<String>) -> Option<Command> {
    ui.prompt.error = Some(why.into());
    ui.prompt.selected = false;
    None
}

/// Enter in the prompt: apply the filter, ask the route lookup, add the target or
/// trace the name — or, when the text does not parse, keep the prompt open.
fn submit(ui: &mut UiState, store: &Store) -> Option<Command> {
    match ui.prompt.kind {
        PromptKind::Filter => {
            let text = ui.prompt.draft.clone();
            if set_filter(ui, store, &text) {
                ui.prompt.draft.clear();
                ui.mode = Mode::Normal;
                None
            } else {
                refuse(ui, "not applied: fix it, or esc keeps the current filter")
            }
        }
        PromptKind::RouteLookup => {
            let request = match ui.prompt.draft.parse::<LookupRequest>() {
                Ok(request) => request,
                Err(error) => return refuse(ui, format!("not looked up: {error}")),
            };
            ui.prompt.draft.clear();
            ui.lookup.request = Some(request.clone());
            ui.mode = Mode::RouteLookup;
            Some(Command::RouteLookup(request))
        }
        PromptKind::AddTarget => {
            let target = match ui.prompt.draft.parse::<Target>() {
                Ok(target) => target,
                Err(error) => return refuse(ui, format!("not added: {error}")),
            };
            // The selection under the prompt stays where it is: a refused target
            // changes nothing.
            if store.path(&target.text).is_some() {
                return refuse(ui, format!("{target} is already watched: type another, or esc"));
            }
            ui.prompt.draft.clear();
            ui.mode = Mode::Normal;
            ui.hint(format!("adding {target}…"), StatusLevel::Info);
            Some(Command::AddTarget(target))
        }
        PromptKind::Trace => {
            // The same check the tracer makes, without a search list: what is typed
            // must be a host name at all; expanding it is the tracer's job.
            let name = ui.prompt.draft.trim().to_owned();
            if let Err(error) = candidates(&name, &[], 1) {
                return refuse(ui, format!("not traced: {error}"));
            }
            ui.prompt.draft.clear();
            ui.mode = Mode::Normal;
            // The answer shows on the DNS tab, in the trace view.
            ui.tab = Tab::Dns;
            let dns = &mut ui.tabs.dns;
            dns.focus = DnsFocus::Trace;
            dns.trace = Scroll::default();
            let since = store.updated_at().unwrap_or(Timestamp::UNIX_EPOCH);
            dns.pending = Some(PendingTrace { name: name.clone(), since });
            Some(Command::Trace(name))
        }
        PromptKind::JumpTo => {
            let text = ui.prompt.draft.trim().to_owned();
            if text.is_empty() {
                return refuse(ui, "type a time: 2026-12-03T03:12:07Z, +90s, -5m, start or end");
            }
            ui.prompt.draft.clear();
            ui.mode = Mode::Normal;
            Some(Command::Replay(crate::replay::ReplayCommand::Jump(text)))
        }
        PromptKind::ConfirmRemove => {
            let target = std::mem::take(&mut ui.prompt.subject);
            ui.mode = Mode::Normal;
            if let Some(open) = &ui.tabs.paths.details
                && open.target == target
            {
                ui.tabs.paths.details = None;
            }
            ui.hint(format!("removing {target}…"), StatusLevel::Info);
            Some(Command::RemoveTarget(target))
        }
    }
}

#[cfg(test)]
mod tests;
