//! What a test does when the machine lacks what it needs (a capability, `::1`, a free
//! port 53): say why and skip, unless `NETLENS_REQUIRE_NETNS=1` (set by CI) says a
//! skip is a failure, whatever facility is missing (DESIGN.md §7).

/// The variable that turns every skip into a failure.
const REQUIRE_ENV: &str = "NETLENS_REQUIRE_NETNS";

/// Report that a test cannot run here: a panic under `NETLENS_REQUIRE_NETNS=1`, a
/// line on stderr otherwise. Callers return (or skip the part) right after.
pub(crate) fn cannot_run(why: &str) {
    let required = std::env::var_os(REQUIRE_ENV).is_some_and(|value| value == "1");
    assert!(!required, "cannot run: {why} (and {REQUIRE_ENV}=1 forbids skipping)");
    eprintln!("skipping: {why}");
}
