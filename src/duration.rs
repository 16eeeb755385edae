//! Human durations on the command line and in the config file: `1s`, `250ms`, `2m`.
//! The unit is required: a bare `5` could mean seconds or milliseconds, and the two
//! readings differ a thousandfold.

use std::time::Duration;

/// Parse `500ms`, `1s`, `1.5s`, `2m` or `1h`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration: write a number with a unit, e.g. `1s` or `250ms`")
    })?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" => value,
        "" => {
            return Err(format!(
                "`{text}` has no unit: write `{number}s` or `{number}ms` (units: ms, s, m, h)"
            ));
        }
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!("`{text}` has an unknown unit `{other}`: use ms, s, m or h"));
        }
    };
    if !seconds.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&seconds) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Format a duration the way [`parse`] reads it.
pub fn format(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        let cases = [
            ("1s", 1000),
            ("250ms", 250),
            ("1.5s", 1500),
            ("2m", 120_000),
            ("3s", 3000),
            (" 10 ms ", 10),
            ("1h", 3_600_000),
        ];
        for (text, ms) in cases {
            assert_eq!(parse(text), Ok(Duration::from_millis(ms)), "{text}");
        }
    }

    #[test]
    fn rejects_garbage_naming_it() {
        for text in ["fast", "1x", "", "-1s", "ms", "5", "0.5"] {
            let error = parse(text).err().unwrap_or_default();
            assert!(error.contains(&format!("`{}`", text.trim())), "{text}: {error}");
        }
    }

    #[test]
    fn a_bare_number_asks_for_a_unit() {
        let error = parse("5").err().unwrap_or_default();
        assert!(error.contains("no unit") && error.contains("`5s`") && error.contains("`5ms`"), "{error}");
    }

    #[test]
    fn formats_round_trip() {
        for ms in [250, 1000, 1500, 60_000] {
            let duration = Duration::from_millis(ms);
            assert_eq!(parse(&format(duration)), Ok(duration));
        }
    }
}
