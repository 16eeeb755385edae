//! The one-line prompt: the current table's filter, a route lookup, a new path
//! target, a name to trace. Typing edits the draft; Enter applies it, or keeps the
//! prompt open with its error shown when the text does not parse; Esc cancels.

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

/// `a`: the add-target prompt (Paths tab).
pub(super) fn open_add_target(ui: &mut UiState) {
    if ui.tab != Tab::Paths {
        let key = ui.keys_of(Tab::Paths.binding()).unwrap_or("3").to_owned();
        ui.hint(format!("targets are added on the Paths tab ({key})"), StatusLevel::Info);
        return;
    }
    open(ui, PromptKind::AddTarget, String::new());
}

/// Open the prompt for `kind`, starting from `draft`.
fn open(ui: &mut UiState, kind: PromptKind, draft: String) {
    ui.prompt = Prompt { kind, draft, tab: ui.tab };
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
        Reply::Dismiss => ui.mode = Mode::Normal,
        Reply::Ignored if action == Action::PromptSubmit => return submit(ui, store),
        Reply::Handled | Reply::Ignored => {}
    }
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
            } else {
                ui.hint("not applied: fix it, or esc keeps the current filter", StatusLevel::Warning);
            }
            None
        }
        PromptKind::RouteLookup => {
            let Ok(request) = ui.prompt.draft.parse::<LookupRequest>() else {
                ui.hint("not looked up: fix it, or esc cancels", StatusLevel::Warning);
                return None;
            };
            ui.prompt.draft.clear();
            ui.lookup.request = Some(request.clone());
            ui.mode = Mode::RouteLookup;
            Some(Command::RouteLookup(request))
        }
        PromptKind::AddTarget => {
            let Ok(target) = ui.prompt.draft.parse::<Target>() else {
                ui.hint("not added: fix it, or esc cancels", StatusLevel::Warning);
                return None;
            };
            ui.prompt.draft.clear();
            ui.mode = Mode::Normal;
            if store.path(&target.text).is_some() {
                ui.hint(format!("{target} is already watched"), StatusLevel::Info);
                ui.tabs.paths.reselect(store, Some(target.text));
                return None;
            }
            ui.hint(format!("adding {target}…"), StatusLevel::Info);
            Some(Command::AddTarget(target))
        }
        PromptKind::Trace => {
            // The same check the tracer makes, without a search list: what is typed
            // must be a host name at all; expanding it is the tracer's job.
            let name = ui.prompt.draft.trim().to_owned();
            if candidates(&name, &[], 1).is_err() {
                ui.hint("not traced: fix it, or esc cancels", StatusLevel::Warning);
                return None;
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
    }
}
