//! Small serde helpers the model's derives name by path, so the model files keep only
//! attributes.

use serde::{Deserialize, Deserializer, de::Error as _};

/// The probe kinds a path's probe summary names (`ProbeSummary::kind`).
pub(crate) const PROBE_KINDS: [&str; 3] = ["tcp", "icmp", "dns"];

/// A timeline entry without `count` happened once.
pub(crate) const fn one() -> u32 {
    1
}

/// A probe kind read back as one of the static names the probes use.
pub(crate) fn probe_kind<'de, D: Deserializer<'de>>(deserializer: D) -> Result<&'static str, D::Error> {
    let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
    PROBE_KINDS.iter().find(|kind| **kind == text).copied().ok_or_else(|| {
        D::Error::custom(format_args!("unknown probe kind {text:?}, expected one of {PROBE_KINDS:?}"))
    })
}
