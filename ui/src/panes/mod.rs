//! One file per pane (and per details view). Each `render` reads the store, its tab's
//! state, the theme and the clock, writes only into the area it is given, and records
//! into the state the geometry it used (rows shown, scroll limits).

pub(crate) mod addresses;
pub(crate) mod connection_details;
pub(crate) mod connection_model;
pub(crate) mod connections;
pub(crate) mod details;
pub(crate) mod dns;
pub(crate) mod dns_log;
pub(crate) mod dns_resolver;
pub(crate) mod dns_servers;
pub(crate) mod dns_summary;
pub(crate) mod dns_trace;
pub(crate) mod event_details;
pub(crate) mod events;
pub(crate) mod finding_marks;
pub(crate) mod findings;
pub(crate) mod help;
pub(crate) mod interfaces;
pub(crate) mod overview;
pub(crate) mod path_details;
pub(crate) mod path_text;
pub(crate) mod paths;
pub(crate) mod route_lookup;
pub(crate) mod routes;
pub(crate) mod tones;
