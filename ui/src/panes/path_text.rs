//! The words for a path's state, shared by the Paths table, its preview and its
//! details: why it is not satisfied, what it is about to become, its tunnel and cost
//! markers.

use netlens_collectors::model::PathState;
/// `reason subject` of a path that is not satisfied (`link_down veth0`); the subject is
/// left out when it only repeats the target, or the interface shown beside it
/// (`interface_shown`).
pub(crate) fn reason_text(path: &PathState, interface_shown: bool) -> Option<String> {
    let reason = path.reason?.as_str();
    let repeats = |subject: &str| {
        subject == path.target || (interface_shown && path.interface.as_deref() == Some(subject))
    };
    Some(match path.reason_subject.as_deref() {
        Some(subject) if !repeats(subject) => format!("{reason} {subject}"),
        _ => reason.to_owned(),
    })
}
/// `→ failing?` while a new status waits out the debounce.
pub(crate) fn pending_text(path: &PathState) -> Option<String> {
    path.pending.as_ref().map(|pending| format!("→ {}?", pending.status.as_str()))
}
/// Tunnel mode and cost markers: `split`, `full expensive`, `constrained`.
pub(crate) fn notes(path: &PathState) -> String {
    let words: Vec<&str> = [
        path.tunnel.map(netlens_collectors::model::TunnelMode::as_str),
        path.expensive.then_some("expensive"),
        path.constrained.then_some("constrained"),
    ]
    .into_iter()
    .flatten()
    .collect();
    words.join(" ")
}
/// `v4✓ v6✗ dns✓`: whether the path could carry IPv4, IPv6 and DNS, with a mark as
/// well as a colour so it reads under `NO_COLOR`.
pub(crate) fn availability(
    path: &PathState,
    theme: &crate::theme::Theme,
) -> Vec<(String, ratatui::style::Style)> {
    let mut spans = Vec::with_capacity(5);
    for (i, (on, name)) in [(path.ipv4, "v4"), (path.ipv6, "v6"), (path.dns, "dns")].into_iter().enumerate() {
        if i > 0 {
            spans.push((" ".to_owned(), theme.muted()));
        }
        let (mark, style) = if on { ("✓", theme.ok()) } else { ("✗", theme.muted()) };
        spans.push((format!("{name}{mark}"), style));
    }
    spans
}
