//! The names the TUI's export gives its files.

use netlens_collectors::model::Timestamp;

/// `netlens-snapshot-20260314T092653Z.json`
#[must_use]
pub fn file_name(taken_at: Timestamp, extension: &str) -> String {
    format!("netlens-snapshot-{}.{extension}", stamp(taken_at))
}

/// `netlens-incident-20260314T092653Z`: the directory `E` writes.
#[must_use]
pub fn bundle_name(taken_at: Timestamp) -> String {
    format!("netlens-incident-{}", stamp(taken_at))
}

fn stamp(at: Timestamp) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    at.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;

    use super::*;

    #[test]
    fn file_names_carry_the_utc_time() {
        assert_eq!(file_name(fake::NOW, "json"), "netlens-snapshot-20260314T092653Z.json");
    }
}
