//! A moment in a journal as a user writes it (`2026-12-03T03:12:07Z`, `+90s` from the
//! start, `-5m` from the end, `start`, `end`), and the snapshot of the state then:
//! `snapshot --from FILE --at TIME` and `diff FILE@TIME`.

use std::path::Path;

use netlens_collectors::journal::{Journal, Replay};
use netlens_collectors::model::Timestamp;
use netlens_collectors::snapshot::{Snapshot, SnapshotCapture};

/// How a time in a journal is written, for error messages.
pub const TIME_FORMS: &str = "an RFC 3339 time (2026-12-03T03:12:07Z), +DURATION from the start (+90s), -DURATION from the end (-5m), `start` or `end`";

/// The moment `spec` names in a journal spanning `first..=last`.
///
/// # Errors
/// A message naming the value and the forms a time takes.
pub fn parse(spec: &str, first: Timestamp, last: Timestamp) -> Result<Timestamp, String> {
    let spec = spec.trim();
    let offset = |text: &str| {
        crate::duration::parse(text)
            .ok()
            .and_then(|duration| time::Duration::try_from(duration).ok())
            .ok_or_else(|| format!("`{spec}` is not a time in the journal: use {TIME_FORMS}"))
    };
    match spec {
        "start" => Ok(first),
        "end" => Ok(last),
        _ if spec.starts_with('+') => Ok(first + offset(&spec[1..])?),
        _ if spec.starts_with('-') => Ok(last - offset(&spec[1..])?),
        _ => Timestamp::parse(spec, &time::format_description::well_known::Rfc3339)
            .map(|at| at.to_offset(time::UtcOffset::UTC))
            .map_err(|_| format!("`{spec}` is not a time in the journal: use {TIME_FORMS}")),
    }
}

/// The snapshot of `path`'s state at `spec` (`None`: the end), as `netlens snapshot`
/// would have written it then.
///
/// # Errors
/// A message naming the file or the time (the journal is unreadable, the time is
/// malformed or outside the recording).
pub fn snapshot(path: &Path, spec: Option<&str>) -> Result<Snapshot, String> {
    let journal = Journal::open(path).map_err(|error| error.to_string())?;
    let Some((first, last)) = journal.span() else {
        return Err(format!("{} holds no events yet", path.display()));
    };
    let at = match spec {
        Some(spec) => parse(spec, first, last).map_err(|error| format!("{}: {error}", path.display()))?,
        None => last,
    };
    if at < first {
        return Err(format!(
            "{}: {} is before the recording starts ({}); use a time from {} to {}",
            path.display(),
            crate::export::rfc3339(at),
            crate::export::rfc3339(first),
            crate::export::rfc3339(first),
            crate::export::rfc3339(last),
        ));
    }
    let mut replay = Replay::new(&journal).map_err(|error| error.to_string())?;
    replay.seek_time(at).map_err(|error| error.to_string())?;
    // The state as of the cursor: what a snapshot taken then would have held. A time
    // past the end reads as the end, stamped with the last event's time.
    let taken = at.min(last);
    Ok(SnapshotCapture::take(replay.store(), taken).into_snapshot())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_every_form() {
        let first = time::macros::datetime!(2026-12-03 03:00:00 UTC);
        let last = time::macros::datetime!(2026-12-03 04:00:00 UTC);
        let at = |spec: &str| parse(spec, first, last);
        assert_eq!(at("start"), Ok(first));
        assert_eq!(at("end"), Ok(last));
        assert_eq!(at("+90s"), Ok(time::macros::datetime!(2026-12-03 03:01:30 UTC)));
        assert_eq!(at("-5m"), Ok(time::macros::datetime!(2026-12-03 03:55:00 UTC)));
        assert_eq!(at("2026-12-03T03:12:07Z"), Ok(time::macros::datetime!(2026-12-03 03:12:07 UTC)));
        assert_eq!(at("2026-12-03T04:12:07+01:00"), Ok(time::macros::datetime!(2026-12-03 03:12:07 UTC)));
        for bad in ["yesterday", "+ninety", "03:12", ""] {
            let error = at(bad).err().unwrap_or_default();
            assert!(error.contains(&format!("`{bad}`")) && error.contains("RFC 3339"), "{error}");
        }
    }
}
