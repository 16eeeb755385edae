//! netlens pixels: the UI state, the keymap, the pure `update`, the `view`, one
//! component per tab, reusable widgets, and themes.
//!
//! Each tab is a component (`component.rs`): its state handles its keys and draws
//! itself through its pane. Every table keeps one kind of state (`TableState`:
//! selection, scroll, sort, filter), and drawing records the geometry it used (rows
//! shown, scroll limits, tab-bar hit boxes) into the UI state, where `update` reads
//! it: layout is decided once, by the view.
//!
//! The app (in the `netlens` binary) owns the terminal and the store. It maps each
//! terminal event with [`input::map_event`], applies the action with [`update()`],
//! performs the returned [`Command`], and calls [`draw`] (with `&mut UiState`, which
//! records the geometry) when something changed; after a
//! draw it asks the resolver for the [`wanted_names`] of what is on screen. This
//! crate never touches tokio, netlink or files: it reads `&Store` and writes into a
//! ratatui frame.

pub mod action;
mod command;
mod component;
mod conn_filter;
mod context;
mod filter;
pub mod format;
mod hints;
pub mod input;
mod names;
mod overlays;
mod panes;
pub mod replay;
pub mod state;
mod status_bar;
pub mod svg;
mod tab;
mod tabs;
#[cfg(test)]
mod testing;
pub mod theme;
pub mod update;
pub mod view;
mod widgets;

pub use action::{Action, Binding, Keymap, KeymapError};
pub use names::wanted_names;
pub use state::{StatusLevel, Tab, UiState};
pub use theme::{Theme, ThemeError};
pub use update::{Command, update};
pub use view::draw;
