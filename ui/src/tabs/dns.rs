//! The DNS tab as a component: the query log and the trace view share the movement
//! keys, whichever has the focus.

use netlens_collectors::Store;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::action::Action;
use crate::component::{Component, Reply};
use crate::context::{Handle, Paint};
use crate::filter::{DNS_FIELDS, Filter};
use crate::panes::{dns, dns_log, dns_trace};
use crate::state::{DnsFocus, DnsState, Motion, StatusLevel};

impl Component for DnsState {
    fn handle(&mut self, action: Action, ctx: &mut Handle<'_>) -> Reply {
        let page = match self.focus {
            DnsFocus::Log => self.table.page(),
            DnsFocus::Trace => self.trace.page(),
        };
        if let Some(motion) = Motion::of(action, page) {
            match self.focus {
                DnsFocus::Trace => self.trace.move_by(motion),
                DnsFocus::Log => {
                    let len = dns_log::filtered_len(ctx.store, self);
                    self.table.move_by(motion, len);
                }
            }
            return Reply::Handled;
        }
        match action {
            // `←`/`→`: the focus moves between the query log and the trace view.
            Action::SwitchFocus => {
                self.focus = match self.focus {
                    DnsFocus::Log => DnsFocus::Trace,
                    DnsFocus::Trace => DnsFocus::Log,
                };
            }
            // Esc leaves the trace view for the log before it clears the log's filter.
            Action::Close if self.focus == DnsFocus::Trace => self.focus = DnsFocus::Log,
            Action::CycleSort | Action::ReverseSort => {
                ctx.hint("the query log is always newest first", StatusLevel::Info);
            }
            _ => return Reply::Ignored,
        }
        Reply::Handled
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        self.settle(ctx.store);
        dns::render(frame, area, self, ctx);
    }

    /// Keep the log cursor on the query it was on while newer ones arrive (on the
    /// newest while there); a trace asked for that has arrived is no longer pending.
    fn settle(&mut self, store: &Store) {
        if self.table.cursor == 0 {
            self.table.rewind();
        } else {
            let arrived = dns_log::arrived_since_anchor(store, self);
            self.table.cursor += arrived;
            self.table.offset += arrived;
        }
        self.anchor = store.dns().logged();
        if dns_trace::pending(self, store).is_none() {
            self.pending = None;
        }
    }

    fn filter(&self) -> Option<&str> {
        Some(self.table.filter.text())
    }

    fn set_filter(&mut self, text: &str, _ctx: &mut Handle<'_>) -> bool {
        self.table.filter = Filter::parse(text, DNS_FIELDS);
        self.table.rewind();
        true
    }
}
