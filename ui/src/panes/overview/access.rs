//! The Overview's privilege lines: what netlens holds after its drop.

use netlens_collectors::model::{Landlock, Privileges};

use super::LABEL;
use crate::theme::Theme;
use crate::widgets::text::Doc;

/// What netlens holds after its drop, on two lines: each effective capability
/// (`caps     net_raw sys_ptrace`), then who it runs as, `no_new_privs` and the
/// Landlock state (`access   root · no_new_privs · landlock`).
pub(super) fn lines(doc: &mut Doc, privileges: &Privileges, theme: &Theme) {
    let label = |text: &str| (format!("{text:<LABEL$}"), theme.muted());
    let separator = || (" · ".to_owned(), theme.muted());
    let mut caps = vec![label("caps")];
    if privileges.capabilities.is_empty() {
        caps.push(("none".to_owned(), theme.muted()));
    } else {
        let names: Vec<&str> =
            privileges.capabilities.iter().map(|name| name.strip_prefix("cap_").unwrap_or(name)).collect();
        caps.push((names.join(" "), theme.ok()));
    }
    // Packet capture (UDP rates, the DNS log) is what a missing capability costs most.
    if !privileges.net_raw {
        caps.extend([separator(), ("no net_raw".to_owned(), theme.warn())]);
    }
    doc.line(caps);
    let user = if privileges.root { "root" } else { "user" };
    let mut access = vec![label("access"), (user.to_owned(), theme.text())];
    if privileges.no_new_privs {
        access.extend([separator(), ("no_new_privs".to_owned(), theme.ok())]);
    }
    let landlock = match privileges.landlock {
        Landlock::Enforced => Some(("landlock".to_owned(), theme.ok())),
        Landlock::Partial => Some(("landlock partial".to_owned(), theme.warn())),
        Landlock::Failed => Some(("landlock failed".to_owned(), theme.warn())),
        Landlock::Unsupported => Some(("no landlock".to_owned(), theme.muted())),
        Landlock::NotApplied => None,
    };
    if let Some(landlock) = landlock {
        access.extend([separator(), landlock]);
    }
    doc.line(access);
}
