//! The names the TUI's export gives its files.

use netlens_collectors::model::Timestamp;

/// `netlens-snapshot-20260314T092653Z.json`
#[must_use]
pub fn file_name(taken_at: Timestamp, extension: &str) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = taken_at.format(&format).unwrap_or_else(|_| taken_at.unix_timestamp().to_string());
    format!("netlens-snapshot-{stamp}.{extension}")
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
