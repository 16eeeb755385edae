//! The pure update: an action changes the UI state and may ask the app for a side
//! effect. Nothing here does I/O; the store is only read (to clamp cursors to the rows
//! that exist and to keep selections on the same item when the order changes).

use netlens_collectors::Store;
use netlens_collectors::dns::candidates::candidates;
use netlens_collectors::model::Timestamp;
use netlens_collectors::paths::query::LookupRequest;
use netlens_collectors::paths::target::{ProbeKind, Target};

use crate::action::Action;
use crate::conn_filter::ConnFilter;
use crate::filter::{DNS_FIELDS, EVENT_FIELDS, Filter, INTERFACE_FIELDS, PATH_FIELDS, ROUTE_FIELDS};
use crate::panes::{
    connection_details, connections, details, dns, dns_trace, events, help, interfaces, path_details, paths,
    routes,
};
use crate::state::{
    ConnectionDetails, Details, DnsFocus, ListState, Mode, PathDetails, PendingTrace, PromptKind,
    StatusLevel, Tab, UiState,
};
use crate::widgets::table::scroll;

/// A side effect the app performs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Leave: restore the terminal and exit.
    Quit,
    /// Write a snapshot and report the result with [`UiState::set_status`].
    Export,
    /// Ask the kernel for its route to a destination (`ip route get`); the answer
    /// arrives as the store's route lookup report, whose query is the request's text.
    RouteLookup(LookupRequest),
    /// Start watching a path target (already parsed and checked).
    AddTarget(Target),
    /// Stop watching the user target written so (canonical form).
    RemoveTarget(String),
    /// Probe the target written so (canonical form) now, outside its schedule.
    ProbeNow(String),
    /// Trace the name (as typed, already checked) step by step the way the system
    /// resolver looks it up (DESIGN.md §6); the trace arrives in the store's DNS
    /// section with origin `user`, and the DNS tab shows it.
    Trace(String),
}

/// Assume a common terminal until the app reports the real size.
const DEFAULT_VIEWPORT: (u16, u16) = (80, 24);

/// Longest text the prompt accepts.
const MAX_FILTER: usize = 256;

/// A cursor movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Motion {
    Up(usize),
    Down(usize),
    Top,
    Bottom,
}

/// Apply `action` to `ui`, reading `store` (the frozen copy while paused).
pub fn update(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    // A hint from the previous key press has been read by now.
    if ui.status.as_ref().is_some_and(|status| status.at.is_none()) && !matches!(action, Action::Resize(..)) {
        ui.status = None;
    }
    rebase_events(ui, store);
    rebase_dns(ui, store);
    match action {
        Action::Quit => return Some(Command::Quit),
        Action::Resize(width, height) => {
            ui.set_viewport(width, height);
            return None;
        }
        _ => {}
    }
    match ui.mode {
        Mode::Prompt => prompt(ui, store, action),
        Mode::Help => {
            help_mode(ui, store, action);
            None
        }
        Mode::RouteLookup => lookup_popup(ui, store, action),
        Mode::Normal => normal(ui, store, action),
    }
}

fn viewport(ui: &UiState) -> (u16, u16) {
    if ui.viewport.0 == 0 || ui.viewport.1 == 0 { DEFAULT_VIEWPORT } else { ui.viewport }
}

/// Keep the events cursor on the entry it was on while newer entries arrive (or on the
/// newest one when following), and remember how far the timeline had got.
fn rebase_events(ui: &mut UiState, store: &Store) {
    let current = events::current(ui, store);
    ui.events.list = current;
    ui.events.anchor = store.timeline().appended();
}

/// The same for the DNS query log; and a trace asked for that has arrived is no
/// longer pending.
fn rebase_dns(ui: &mut UiState, store: &Store) {
    let current = dns::current(&ui.dns, store);
    ui.dns.list = current;
    ui.dns.anchor = store.dns().logged();
    if dns_trace::pending(&ui.dns, store).is_none() {
        ui.dns.pending = None;
    }
}

fn normal(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    match action {
        Action::Export => return Some(Command::Export),
        Action::NextTab => ui.tab = ui.tab.next(),
        Action::PrevTab => ui.tab = ui.tab.previous(),
        Action::SelectTab(tab) => ui.tab = tab,
        Action::Up => motion(ui, store, Motion::Up(1)),
        Action::Down => motion(ui, store, Motion::Down(1)),
        Action::PageUp => motion(ui, store, Motion::Up(page(ui, store))),
        Action::PageDown => motion(ui, store, Motion::Down(page(ui, store))),
        Action::Top => motion(ui, store, Motion::Top),
        Action::Bottom => motion(ui, store, Motion::Bottom),
        Action::Filter => open_prompt(ui),
        Action::RouteLookup => open_lookup_prompt(ui),
        Action::AddTarget => open_add_target(ui),
        Action::Trace => open_trace_prompt(ui, store),
        Action::SwitchFocus => switch_focus(ui),
        Action::RemoveTarget => return remove_target(ui, store),
        Action::ProbeNow => return probe_now(ui, store),
        Action::CycleSort | Action::ReverseSort => sort(ui, store, action == Action::ReverseSort),
        Action::ToggleGroup => group(ui, store),
        Action::Open => open(ui, store),
        Action::Close => close(ui, store),
        Action::TogglePause => ui.paused = !ui.paused,
        Action::Help => {
            ui.mode = Mode::Help;
            ui.help_scroll = 0;
        }
        Action::Follow => {
            ui.follow = !ui.follow;
            if ui.follow {
                ui.events.list = ListState::default();
            }
            if ui.tab != Tab::Events {
                let state = if ui.follow { "on" } else { "off" };
                ui.hint(format!("events follow the newest: {state}"), StatusLevel::Info);
            }
        }
        Action::Quit
        | Action::Resize(..)
        | Action::PromptInput(_)
        | Action::PromptBackspace
        | Action::PromptDeleteWord
        | Action::PromptClear
        | Action::PromptSubmit
        | Action::PromptCancel => {}
    }
    None
}

/// Rows in a page of the current tab.
fn page(ui: &UiState, store: &Store) -> usize {
    let (width, height) = viewport(ui);
    let rows = match ui.tab {
        Tab::Connections => connections::visible_rows(store, height),
        Tab::Paths => paths::visible_rows(height),
        Tab::Dns => dns::page_rows(store, ui, width, height),
        Tab::Routes => routes::visible_rows(height),
        Tab::Events => events::visible_rows(height),
        Tab::Overview | Tab::Interfaces => interfaces::visible_rows(height),
    };
    rows.saturating_sub(1).max(1)
}

/// Move a cursor over `len` rows.
fn step(cursor: usize, len: usize, motion: Motion) -> usize {
    let last = len.saturating_sub(1);
    match motion {
        Motion::Up(n) => cursor.min(last).saturating_sub(n),
        Motion::Down(n) => cursor.saturating_add(n).min(last),
        Motion::Top => 0,
        Motion::Bottom => last,
    }
}

fn motion(ui: &mut UiState, store: &Store, motion: Motion) {
    let (width, height) = viewport(ui);
    match ui.tab {
        Tab::Overview => {}
        Tab::Interfaces => {
            if let Some(open) = ui.interfaces.details.as_mut() {
                let limit = details::overflow(store, open.index, width, height);
                open.scroll = step(open.scroll, limit + 1, motion);
                return;
            }
            let len = interfaces::ordered(store, &ui.interfaces).len();
            let list = &mut ui.interfaces.list;
            list.cursor = step(list.cursor, len, motion);
            list.offset = scroll(list.offset, list.cursor, interfaces::visible_rows(height), len);
        }
        Tab::Paths => {
            if let Some(open) = ui.paths.details.as_mut() {
                let limit = path_details::overflow(store, &open.target, width, height);
                open.scroll = step(open.scroll, limit + 1, motion);
                return;
            }
            let len = paths::ordered(store, &ui.paths).len();
            let list = &mut ui.paths.list;
            list.cursor = step(list.cursor, len, motion);
            list.offset = scroll(list.offset, list.cursor, paths::visible_rows(height), len);
        }
        Tab::Dns => {
            if ui.dns.focus == DnsFocus::Trace {
                let limit = dns::trace_overflow(store, ui, width, height);
                ui.dns.trace_scroll = step(ui.dns.trace_scroll, limit + 1, motion);
                return;
            }
            let len = dns::filtered_len(store, &ui.dns);
            let visible = dns::log_rows(store, ui, width, height);
            let list = &mut ui.dns.list;
            list.cursor = step(list.cursor, len, motion);
            list.offset = scroll(list.offset, list.cursor, visible, len);
        }
        Tab::Connections => {
            if let Some(open) = ui.connections.details.as_mut() {
                let limit = connection_details::overflow(store, open.cookie, width, height);
                open.scroll = step(open.scroll, limit + 1, motion);
                return;
            }
            let visible = connections::visible_rows(store, height);
            let mut model = connections::Model::build(store, &ui.connections, store_now(store));
            let (cursor, offset) = connections::placement(&model, &ui.connections, visible);
            let cursor = step(cursor, model.rows(), motion);
            let offset = model.offset_for(cursor, offset, visible);
            let selected = model.row_at(cursor).map(|entry| entry.socket.cookie);
            let state = &mut ui.connections;
            state.list = ListState { cursor, offset };
            state.selected = selected;
        }
        Tab::Routes => {
            let model = routes::model(store, &ui.routes);
            let list = &mut ui.routes.list;
            list.cursor = step(list.cursor, model.data.len(), motion);
            list.offset = routes::offset_for(&model, list.cursor, list.offset, routes::visible_rows(height));
        }
        Tab::Events => {
            let len = events::filtered_len(store, &ui.events);
            let list = &mut ui.events.list;
            list.cursor = step(list.cursor, len, motion);
            list.offset = scroll(list.offset, list.cursor, events::visible_rows(height), len);
            // Scrolling away from the newest entry stops following it.
            if list.cursor > 0 {
                ui.follow = false;
            }
        }
    }
}

/// The moment relative filters and ages are judged at: the store's latest event (the
/// view uses the clock, which differs from it by less than a refresh).
fn store_now(store: &Store) -> Timestamp {
    store.updated_at().unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Put the Connections cursor back on the selected connection after the rows changed
/// (filter, sort, grouping), or on the first row if the selection no longer shows.
fn settle_connections(ui: &mut UiState, store: &Store) {
    let (_, height) = viewport(ui);
    let visible = connections::visible_rows(store, height);
    let mut model = connections::Model::build(store, &ui.connections, store_now(store));
    let kept = ui.connections.selected.and_then(|cookie| model.rank_of(cookie));
    let cursor = kept.unwrap_or(0);
    let offset = model.offset_for(cursor, ui.connections.list.offset, visible);
    let selected = model.row_at(cursor).map(|entry| entry.socket.cookie);
    let state = &mut ui.connections;
    state.list = ListState { cursor, offset };
    state.selected = selected;
}

fn open_prompt(ui: &mut UiState) {
    let details_open = match ui.tab {
        Tab::Interfaces => ui.interfaces.details.is_some(),
        Tab::Paths => ui.paths.details.is_some(),
        Tab::Connections => ui.connections.details.is_some(),
        Tab::Overview | Tab::Dns | Tab::Routes | Tab::Events => false,
    };
    if !ui.tab.has_table() || details_open {
        ui.hint(
            "filters work on the Interfaces, Paths, DNS, Connections, Routes and Events tables",
            StatusLevel::Warning,
        );
        return;
    }
    ui.draft = ui.filter(ui.tab).to_owned();
    ui.prompt = PromptKind::Filter;
    ui.mode = Mode::Prompt;
}

/// `r`: the route lookup prompt, starting from the previous question.
fn open_lookup_prompt(ui: &mut UiState) {
    ui.draft = ui.lookup.as_ref().map(ToString::to_string).unwrap_or_default();
    ui.prompt = PromptKind::RouteLookup;
    ui.mode = Mode::Prompt;
}

/// `t`: the trace prompt (any tab), starting from the name traced last.
fn open_trace_prompt(ui: &mut UiState, store: &Store) {
    ui.draft = match &ui.dns.pending {
        Some(pending) => pending.name.clone(),
        None => store.dns().last_user_trace().map(|trace| trace.name.clone()).unwrap_or_default(),
    };
    ui.prompt = PromptKind::Trace;
    ui.mode = Mode::Prompt;
}

/// `←`/`→`: the DNS tab's focus moves between the query log and the trace view.
/// Elsewhere the arrows do nothing: they are pressed out of habit too often for a hint.
fn switch_focus(ui: &mut UiState) {
    if ui.tab != Tab::Dns {
        return;
    }
    ui.dns.focus = match ui.dns.focus {
        DnsFocus::Log => DnsFocus::Trace,
        DnsFocus::Trace => DnsFocus::Log,
    };
}

/// `a`: the add-target prompt (Paths tab).
fn open_add_target(ui: &mut UiState) {
    if ui.tab != Tab::Paths {
        let key = ui.keys_of(Tab::Paths.binding()).unwrap_or("3").to_owned();
        ui.hint(format!("targets are added on the Paths tab ({key})"), StatusLevel::Info);
        return;
    }
    ui.draft.clear();
    ui.prompt = PromptKind::AddTarget;
    ui.mode = Mode::Prompt;
}

/// The path the Paths tab acts on: the one whose details are open, else the selected row.
fn selected_path(ui: &UiState, store: &Store) -> Option<String> {
    if let Some(open) = &ui.paths.details {
        return Some(open.target.clone());
    }
    let rows = paths::ordered(store, &ui.paths);
    rows.get(ui.paths.list.cursor.min(rows.len().saturating_sub(1))).map(|path| path.target.clone())
}

/// The selected user target for `x` and `P`, or a hint saying why there is none.
fn acted_on(ui: &mut UiState, store: &Store, what: &str) -> Option<String> {
    if ui.tab != Tab::Paths {
        let key = ui.keys_of(Tab::Paths.binding()).unwrap_or("3").to_owned();
        ui.hint(format!("{what} works on the Paths tab ({key})"), StatusLevel::Info);
        return None;
    }
    let Some(target) = selected_path(ui, store) else {
        ui.hint("no path selected", StatusLevel::Info);
        return None;
    };
    if store.path(&target).is_some_and(netlens_collectors::model::PathState::is_default_path) {
        let why = match what {
            "probing" => "the default paths are never probed: add a target to probe it",
            _ => "the default paths are built in and cannot be removed",
        };
        ui.hint(why, StatusLevel::Warning);
        return None;
    }
    Some(target)
}

/// `x` / Delete: stop watching the selected user target.
fn remove_target(ui: &mut UiState, store: &Store) -> Option<Command> {
    let target = acted_on(ui, store, "removing")?;
    if ui.paths.details.as_ref().is_some_and(|open| open.target == target) {
        ui.paths.details = None;
    }
    ui.hint(format!("removing {target}"), StatusLevel::Info);
    Some(Command::RemoveTarget(target))
}

/// `P`: probe the selected user target now.
fn probe_now(ui: &mut UiState, store: &Store) -> Option<Command> {
    let target = acted_on(ui, store, "probing")?;
    if target.parse::<Target>().is_ok_and(|parsed| parsed.probe == ProbeKind::None) {
        ui.hint(
            format!("{target} has no probe: add it with a port or ,probe=icmp|dns to measure it"),
            StatusLevel::Warning,
        );
        return None;
    }
    ui.hint(format!("probing {target}…"), StatusLevel::Info);
    Some(Command::ProbeNow(target))
}

/// Enter in the prompt: apply the filter, ask the route lookup, or add the target —
/// or, when the text does not parse, keep the prompt open with its error shown.
fn submit(ui: &mut UiState, store: &Store) -> Option<Command> {
    match ui.prompt {
        PromptKind::Filter => {
            if ui.tab == Tab::Connections {
                // A malformed expression is not applied: the prompt stays open with its
                // error shown, and the table keeps the filter it had.
                match ConnFilter::parse(&ui.draft) {
                    Ok(filter) => {
                        ui.draft.clear();
                        ui.connections.filter = filter;
                        settle_connections(ui, store);
                        ui.mode = Mode::Normal;
                    }
                    Err(_) => {
                        ui.hint("not applied: fix it, or esc keeps the current filter", StatusLevel::Warning);
                    }
                }
                return None;
            }
            let text = std::mem::take(&mut ui.draft);
            apply_filter(ui, store, &text);
            ui.mode = Mode::Normal;
            None
        }
        PromptKind::RouteLookup => {
            let Ok(request) = ui.draft.parse::<LookupRequest>() else {
                ui.hint("not looked up: fix it, or esc cancels", StatusLevel::Warning);
                return None;
            };
            ui.draft.clear();
            ui.lookup = Some(request.clone());
            ui.mode = Mode::RouteLookup;
            Some(Command::RouteLookup(request))
        }
        PromptKind::AddTarget => {
            let Ok(target) = ui.draft.parse::<Target>() else {
                ui.hint("not added: fix it, or esc cancels", StatusLevel::Warning);
                return None;
            };
            ui.draft.clear();
            ui.mode = Mode::Normal;
            if store.path(&target.text).is_some() {
                ui.hint(format!("{target} is already watched"), StatusLevel::Info);
                reselect_path(ui, store, Some(target.text));
                return None;
            }
            ui.hint(format!("adding {target}…"), StatusLevel::Info);
            Some(Command::AddTarget(target))
        }
        PromptKind::Trace => {
            // The same check the tracer makes, without a search list: what is typed
            // must be a host name at all; expanding it is the tracer's job.
            let name = ui.draft.trim().to_owned();
            if candidates(&name, &[], 1).is_err() {
                ui.hint("not traced: fix it, or esc cancels", StatusLevel::Warning);
                return None;
            }
            ui.draft.clear();
            ui.mode = Mode::Normal;
            // The answer shows on the DNS tab, in the trace view.
            ui.tab = Tab::Dns;
            ui.dns.focus = DnsFocus::Trace;
            ui.dns.trace_scroll = 0;
            let since = store.updated_at().unwrap_or(Timestamp::UNIX_EPOCH);
            ui.dns.pending = Some(PendingTrace { name: name.clone(), since });
            Some(Command::Trace(name))
        }
    }
}

fn prompt(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    match action {
        Action::PromptInput(c) if !c.is_control() && ui.draft.chars().count() < MAX_FILTER => {
            ui.draft.push(c);
        }
        Action::PromptBackspace => {
            ui.draft.pop();
        }
        Action::PromptDeleteWord => {
            let kept = ui.draft.trim_end().rfind(char::is_whitespace).map_or(0, |i| i + 1);
            ui.draft.truncate(kept);
        }
        Action::PromptClear => ui.draft.clear(),
        Action::PromptSubmit => return submit(ui, store),
        Action::PromptCancel | Action::Close => {
            ui.draft.clear();
            ui.mode = Mode::Normal;
        }
        _ => {}
    }
    None
}

/// The route lookup popup: `r` asks another question, a tab key switches tabs, and
/// anything else closes it (the input mapping turns stray keys into `Close`).
fn lookup_popup(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    match action {
        Action::RouteLookup => open_lookup_prompt(ui),
        Action::NextTab | Action::PrevTab | Action::SelectTab(_) => {
            ui.mode = Mode::Normal;
            return normal(ui, store, action);
        }
        Action::Close | Action::PromptCancel => ui.mode = Mode::Normal,
        _ => {}
    }
    None
}

/// Set the current tab's filter, keeping the selected interface selected if it still
/// shows.
fn apply_filter(ui: &mut UiState, store: &Store, text: &str) {
    match ui.tab {
        Tab::Overview => {}
        Tab::Interfaces => {
            let selected = selected_interface(ui, store);
            ui.interfaces.filter = Filter::parse(text, INTERFACE_FIELDS);
            reselect_interface(ui, store, selected);
        }
        Tab::Paths => {
            let selected = selected_path(ui, store);
            ui.paths.filter = Filter::parse(text, PATH_FIELDS);
            reselect_path(ui, store, selected);
        }
        Tab::Connections => {
            // Callers pass text that parses (the prompt checks it; clearing is empty).
            if let Ok(filter) = ConnFilter::parse(text) {
                ui.connections.filter = filter;
                settle_connections(ui, store);
            }
        }
        Tab::Dns => {
            ui.dns.filter = Filter::parse(text, DNS_FIELDS);
            ui.dns.list = ListState::default();
        }
        Tab::Routes => {
            ui.routes.filter = Filter::parse(text, ROUTE_FIELDS);
            ui.routes.list = ListState::default();
        }
        Tab::Events => {
            ui.events.filter = Filter::parse(text, EVENT_FIELDS);
            ui.events.list = ListState::default();
        }
    }
}

fn selected_interface(ui: &UiState, store: &Store) -> Option<u32> {
    let rows = interfaces::ordered(store, &ui.interfaces);
    rows.get(ui.interfaces.list.cursor.min(rows.len().saturating_sub(1))).map(|entry| entry.info.index)
}

fn reselect_interface(ui: &mut UiState, store: &Store, index: Option<u32>) {
    let rows = interfaces::ordered(store, &ui.interfaces);
    let cursor = index.and_then(|index| rows.iter().position(|e| e.info.index == index)).unwrap_or(0);
    let (_, height) = viewport(ui);
    let list = &mut ui.interfaces.list;
    list.cursor = cursor;
    list.offset = scroll(list.offset, cursor, interfaces::visible_rows(height), rows.len());
}

/// Put the Paths cursor on `target` if it shows, else on the first row.
fn reselect_path(ui: &mut UiState, store: &Store, target: Option<String>) {
    let rows = paths::ordered(store, &ui.paths);
    let cursor = target.and_then(|target| rows.iter().position(|p| p.target == target)).unwrap_or(0);
    let (_, height) = viewport(ui);
    let list = &mut ui.paths.list;
    list.cursor = cursor;
    list.offset = scroll(list.offset, cursor, paths::visible_rows(height), rows.len());
}

fn sort(ui: &mut UiState, store: &Store, reverse: bool) {
    match ui.tab {
        Tab::Interfaces if ui.interfaces.details.is_none() => {
            let selected = selected_interface(ui, store);
            let state = &mut ui.interfaces;
            if reverse {
                state.reversed = !state.reversed;
            } else {
                state.sort = state.sort.next();
                state.reversed = false;
            }
            reselect_interface(ui, store, selected);
        }
        Tab::Paths if ui.paths.details.is_none() => {
            let selected = selected_path(ui, store);
            let state = &mut ui.paths;
            if reverse {
                state.reversed = !state.reversed;
            } else {
                state.sort = state.sort.next();
                state.reversed = false;
            }
            reselect_path(ui, store, selected);
        }
        Tab::Connections if ui.connections.details.is_none() => {
            let state = &mut ui.connections;
            if reverse {
                state.reversed = !state.reversed;
            } else {
                state.sort = state.sort.next();
                state.reversed = false;
            }
            settle_connections(ui, store);
        }
        Tab::Routes => {
            let state = &mut ui.routes;
            if reverse {
                state.reversed = !state.reversed;
            } else {
                state.sort = state.sort.next();
                state.reversed = false;
            }
            state.list = ListState::default();
        }
        Tab::Events => ui.hint("the timeline is always newest first", StatusLevel::Info),
        Tab::Dns => ui.hint("the query log is always newest first", StatusLevel::Info),
        Tab::Overview | Tab::Interfaces | Tab::Paths | Tab::Connections => {
            ui.hint(
                "sorting works on the Interfaces, Paths, Connections and Routes tables",
                StatusLevel::Info,
            );
        }
    }
}

/// `g` groups the Connections table; on every other table it keeps its classic
/// meaning (first row, as `less` and `vim` users expect).
fn group(ui: &mut UiState, store: &Store) {
    if ui.tab != Tab::Connections || ui.connections.details.is_some() {
        motion(ui, store, Motion::Top);
        return;
    }
    ui.connections.grouped = !ui.connections.grouped;
    settle_connections(ui, store);
}

fn open(ui: &mut UiState, store: &Store) {
    if ui.tab == Tab::Connections {
        if ui.connections.details.is_none() {
            let (_, height) = viewport(ui);
            let visible = connections::visible_rows(store, height);
            let mut model = connections::Model::build(store, &ui.connections, store_now(store));
            let (cursor, _) = connections::placement(&model, &ui.connections, visible);
            match model.row_at(cursor) {
                Some(entry) => {
                    let cookie = entry.socket.cookie;
                    ui.connections.selected = Some(cookie);
                    ui.connections.list.cursor = cursor;
                    ui.connections.details = Some(ConnectionDetails { cookie, scroll: 0 });
                }
                None => ui.hint("no connection selected", StatusLevel::Info),
            }
        }
        return;
    }
    if ui.tab == Tab::Paths {
        if ui.paths.details.is_none() {
            match selected_path(ui, store) {
                Some(target) => ui.paths.details = Some(PathDetails { target, scroll: 0 }),
                None => ui.hint("no path selected", StatusLevel::Info),
            }
        }
        return;
    }
    if ui.tab != Tab::Interfaces {
        ui.hint("enter opens details on the Interfaces, Paths and Connections tabs", StatusLevel::Info);
        return;
    }
    if ui.interfaces.details.is_some() {
        return;
    }
    match selected_interface(ui, store) {
        Some(index) => ui.interfaces.details = Some(Details { index, scroll: 0 }),
        None => ui.hint("no interface selected", StatusLevel::Info),
    }
}

fn close(ui: &mut UiState, store: &Store) {
    match ui.tab {
        Tab::Interfaces if ui.interfaces.details.is_some() => ui.interfaces.details = None,
        Tab::Connections if ui.connections.details.is_some() => ui.connections.details = None,
        Tab::Paths if ui.paths.details.is_some() => ui.paths.details = None,
        // Esc leaves the trace view for the log before it clears the log's filter.
        Tab::Dns if ui.dns.focus == DnsFocus::Trace => ui.dns.focus = DnsFocus::Log,
        tab if !ui.filter(tab).is_empty() => {
            apply_filter(ui, store, "");
            ui.hint("filter cleared", StatusLevel::Info);
        }
        _ => {}
    }
}

fn help_mode(ui: &mut UiState, store: &Store, action: Action) {
    let (width, height) = viewport(ui);
    let limit = help::overflow(ui, width, height);
    match action {
        Action::Up => ui.help_scroll = step(ui.help_scroll, limit + 1, Motion::Up(1)),
        Action::Down => ui.help_scroll = step(ui.help_scroll, limit + 1, Motion::Down(1)),
        Action::PageUp => ui.help_scroll = step(ui.help_scroll, limit + 1, Motion::Up(10)),
        Action::PageDown => ui.help_scroll = step(ui.help_scroll, limit + 1, Motion::Down(10)),
        Action::Top => ui.help_scroll = 0,
        Action::Bottom => ui.help_scroll = limit,
        Action::NextTab | Action::PrevTab | Action::SelectTab(_) => {
            ui.mode = Mode::Normal;
            normal(ui, store, action);
        }
        Action::Help | Action::Close => ui.mode = Mode::Normal,
        _ => {}
    }
}

#[cfg(test)]
mod tests;
