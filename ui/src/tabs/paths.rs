//! The Paths tab as a component: its table, the details of one path, and the keys
//! that act on a user target (remove, probe now).

use netlens_collectors::model::PathState;
use netlens_collectors::paths::target::{ProbeKind, Target};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::details_keys;
use crate::action::Action;
use crate::command::Command;
use crate::component::{Component, Reply};
use crate::context::{Handle, Paint};
use crate::filter::{Filter, PATH_FIELDS};
use crate::panes::{path_details, paths};
use crate::state::{Motion, PathDetails, PathsState, Scroll, StatusLevel};

/// The path the Paths tab acts on: the one whose details are open, else the selected
/// row.
pub(crate) fn selected_path(state: &PathsState, store: &netlens_collectors::Store) -> Option<String> {
    if let Some(open) = &state.details {
        return Some(open.target.clone());
    }
    let rows = paths::ordered(store, state);
    rows.get(state.table.cursor.min(rows.len().saturating_sub(1))).map(|path| path.target.clone())
}

impl PathsState {
    /// Put the cursor on `target` if it shows, else on the first row.
    pub(crate) fn reselect(&mut self, store: &netlens_collectors::Store, target: Option<String>) {
        let rows = paths::ordered(store, self);
        let cursor = target.and_then(|target| rows.iter().position(|p| p.target == target)).unwrap_or(0);
        let len = rows.len();
        self.table.place(cursor, len);
    }

    /// The selected user target for `x` and `P`, or a hint saying why there is none.
    fn acted_on(&self, ctx: &mut Handle<'_>, what: &str) -> Option<String> {
        let Some(target) = selected_path(self, ctx.store) else {
            ctx.hint("no path selected", StatusLevel::Info);
            return None;
        };
        if ctx.store.path(&target).is_some_and(PathState::is_default_path) {
            let why = match what {
                "probing" => "the default paths are never probed: add a target to probe it",
                _ => "the default paths are built in and cannot be removed",
            };
            ctx.hint(why, StatusLevel::Warning);
            return None;
        }
        Some(target)
    }

    /// `x` / Delete: stop watching the selected user target (the app asks first, and
    /// closes its details once it is removed).
    fn remove_target(&self, ctx: &mut Handle<'_>) -> Reply {
        let Some(target) = self.acted_on(ctx, "removing") else { return Reply::Handled };
        Reply::Run(Command::RemoveTarget(target))
    }

    /// `P`: probe the selected user target now.
    fn probe_now(&self, ctx: &mut Handle<'_>) -> Reply {
        let Some(target) = self.acted_on(ctx, "probing") else { return Reply::Handled };
        if target.parse::<Target>().is_ok_and(|parsed| parsed.probe == ProbeKind::None) {
            ctx.hint(
                format!("{target} has no probe: add it with a port or ,probe=icmp|dns to measure it"),
                StatusLevel::Warning,
            );
            return Reply::Handled;
        }
        ctx.hint(format!("probing {target}…"), StatusLevel::Info);
        Reply::Run(Command::ProbeNow(target))
    }
}

impl Component for PathsState {
    fn handle(&mut self, action: Action, ctx: &mut Handle<'_>) -> Reply {
        match action {
            Action::RemoveTarget => return self.remove_target(ctx),
            Action::ProbeNow => return self.probe_now(ctx),
            _ => {}
        }
        if let Some(reply) = details_keys(&mut self.details, action, |open| &mut open.scroll) {
            return reply;
        }
        if let Some(motion) = Motion::of(action, self.table.page()) {
            let len = paths::ordered(ctx.store, self).len();
            self.table.move_by(motion, len);
            return Reply::Handled;
        }
        match action {
            Action::CycleSort | Action::ReverseSort => {
                let selected = selected_path(self, ctx.store);
                if action == Action::ReverseSort {
                    self.table.reverse();
                } else {
                    self.table.cycle_sort();
                }
                self.reselect(ctx.store, selected);
            }
            Action::Open => match selected_path(self, ctx.store) {
                Some(target) => self.details = Some(PathDetails { target, scroll: Scroll::default() }),
                None => ctx.hint("no path selected", StatusLevel::Info),
            },
            _ => return Reply::Ignored,
        }
        Reply::Handled
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        match self.details.as_mut() {
            Some(open) => path_details::render(frame, area, open, ctx),
            None => paths::render(frame, area, self, ctx),
        }
    }

    fn filter(&self) -> Option<&str> {
        self.details.is_none().then(|| self.table.filter.text())
    }

    fn set_filter(&mut self, text: &str, ctx: &mut Handle<'_>) -> bool {
        let selected = selected_path(self, ctx.store);
        self.table.filter = Filter::parse(text, PATH_FIELDS);
        self.reselect(ctx.store, selected);
        true
    }
}
