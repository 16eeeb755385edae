//! The side effects `update` asks the app to perform; `src/app.rs` executes them.

use netlens_collectors::paths::query::LookupRequest;
use netlens_collectors::paths::target::Target;

/// A side effect the app performs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Leave: restore the terminal and exit.
    Quit,
    /// Write a snapshot and report the result with [`UiState::set_status`](crate::UiState::set_status).
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
    /// Write an incident bundle (the snapshot as JSON and Markdown, the flight
    /// recorder's journal) and report its path with [`UiState::set_status`](crate::UiState::set_status).
    Incident,
    /// Move a replay's cursor.
    Replay(crate::replay::ReplayCommand),
}
