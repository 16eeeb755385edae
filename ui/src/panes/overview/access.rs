//! The Overview's privilege lines: what netlens holds after its drop.

use netlens_collectors::model::{Landlock, Privileges};

use super::LABEL;
use crate::theme::Theme;
use crate::widgets::text::Doc;

/// What netlens holds after its drop, on two lines: root and each effective
/// capability (`root · net_raw sys_ptrace`), then `no_new_privs` and the Landlock
/// state (`no_new_privs · landlock`).
pub(super) fn lines(doc: &mut Doc, privileges: &Privileges, theme: &Theme) {
    let label = |text: &str| (format!("{text:<LABEL$}"), theme.muted());
    let separator = || (" · ".to_owned(), theme.muted());
    let mut held = vec![label("access")];
    if privileges.root {
        held.extend([("root".to_owned(), theme.text()), separator()]);
    }
    if privileges.capabilities.is_empty() {
        held.push(("no capabilities".to_owned(), theme.warn()));
    } else {
        let names: Vec<&str> =
            privileges.capabilities.iter().map(|name| name.strip_prefix("cap_").unwrap_or(name)).collect();
        held.push((names.join(" "), theme.ok()));
    }
    // Packet capture (UDP rates, the DNS log) is what a missing capability costs most.
    if !privileges.net_raw {
        held.extend([separator(), ("no net_raw".to_owned(), theme.warn())]);
    }
    doc.line(held);
    let mut sandbox = vec![label("sandbox")];
    if privileges.no_new_privs {
        sandbox.extend([("no_new_privs".to_owned(), theme.ok()), separator()]);
    }
    sandbox.push(match privileges.landlock {
        Landlock::Enforced => ("landlock".to_owned(), theme.ok()),
        Landlock::Partial => ("landlock partial".to_owned(), theme.warn()),
        Landlock::Failed => ("landlock failed".to_owned(), theme.warn()),
        Landlock::Unsupported => ("no landlock (kernel)".to_owned(), theme.muted()),
        Landlock::Skipped => ("no landlock (owner search)".to_owned(), theme.muted()),
        Landlock::NotApplied => ("no landlock".to_owned(), theme.muted()),
    });
    doc.line(sandbox);
}
