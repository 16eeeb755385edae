//! Human units: rates, byte counts, ages and lifetimes.
//!
//! Each is a small `Display` value so panes can write it into a reused buffer instead
//! of allocating a `String` per cell per frame.

use std::fmt;
use std::net::IpAddr;

use netlens_collectors::model::Timestamp;

/// Write a number with three significant digits and a unit from `units` (powers of 1000).
fn scaled(f: &mut fmt::Formatter<'_>, value: f64, units: &[&str]) -> fmt::Result {
    scaled_by(f, value, 1000.0, units)
}

/// Write a number with three significant digits and a unit from `units` (powers of `base`).
fn scaled_by(f: &mut fmt::Formatter<'_>, value: f64, base: f64, units: &[&str]) -> fmt::Result {
    let mut value = value.max(0.0);
    let mut unit = 0;
    // Round first so 999.96 KB/s shows as 1.00 MB/s rather than "1000 KB/s".
    while unit + 1 < units.len() && (value * 100.0).round() / 100.0 >= 999.5 {
        value /= base;
        unit += 1;
    }
    let name = units[unit];
    if unit == 0 {
        write!(f, "{value:.0} {name}")
    } else if value < 9.995 {
        write!(f, "{value:.2} {name}")
    } else if value < 99.95 {
        write!(f, "{value:.1} {name}")
    } else {
        write!(f, "{value:.0} {name}")
    }
}

/// Bytes per second, e.g. `2.41 MB/s`; `–` when unknown.
#[derive(Debug, Clone, Copy)]
pub struct Rate(pub Option<f64>);

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) if value.is_finite() => scaled(f, value, &["B/s", "KB/s", "MB/s", "GB/s", "TB/s"]),
            _ => f.write_str("–"),
        }
    }
}

/// Milliseconds as people read a round-trip time: `80µs`, `4.52ms`, `23.4ms`, `310ms`,
/// `1.00s`; `–` when unknown. At most six cells.
#[derive(Debug, Clone, Copy)]
pub struct Millis(pub Option<f64>);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ms) if ms.is_finite() && ms >= 0.0 => {
                if ms == 0.0 {
                    f.write_str("0ms")
                } else if ms < 0.9995 {
                    write!(f, "{:.0}µs", ms * 1000.0)
                } else if ms < 9.995 {
                    write!(f, "{ms:.2}ms")
                } else if ms < 99.95 {
                    write!(f, "{ms:.1}ms")
                } else if ms < 999.5 {
                    write!(f, "{ms:.0}ms")
                } else {
                    let s = ms / 1000.0;
                    if s < 9.995 {
                        write!(f, "{s:.2}s")
                    } else if s < 99.95 {
                        write!(f, "{s:.1}s")
                    } else {
                        write!(f, "{s:.0}s")
                    }
                }
            }
            _ => f.write_str("–"),
        }
    }
}

/// A share in percent with one decimal, e.g. `12.5%`; `–` when unknown.
#[derive(Debug, Clone, Copy)]
pub struct Percent(pub Option<f64>);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) if value.is_finite() => write!(f, "{value:.1}%"),
            _ => f.write_str("–"),
        }
    }
}

/// Bits per second, as TCP reports delivery and pacing rates: `11.6 Mbit/s`.
#[derive(Debug, Clone, Copy)]
pub struct BitRate(pub u64);

impl fmt::Display for BitRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        scaled(f, self.0 as f64, &["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"])
    }
}

/// A byte count, e.g. `1.24 GB`.
#[derive(Debug, Clone, Copy)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        scaled(f, self.0 as f64, &["B", "KB", "MB", "GB", "TB", "PB"])
    }
}

/// Memory in binary units, e.g. `15.6 GiB`, as `free -h` and `top` show it (network
/// byte counts and rates stay decimal, as network tools show them).
#[derive(Debug, Clone, Copy)]
pub struct Memory(pub u64);

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        scaled_by(f, self.0 as f64, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB"])
    }
}

/// A count with thousands separators, e.g. `1 234 567` (thin, unambiguous in any locale).
#[derive(Debug, Clone, Copy)]
pub struct Count(pub u64);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                f.write_str(" ")?;
            }
            write!(f, "{digit}")?;
        }
        Ok(())
    }
}

/// A span of seconds in its two largest units: `45s`, `3m12s`, `2h05m`, `3d04h`.
#[derive(Debug, Clone, Copy)]
pub struct Span(pub u64);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        match s {
            0..60 => write!(f, "{s}s"),
            60..3600 => write!(f, "{}m{:02}s", s / 60, s % 60),
            3600..86_400 => write!(f, "{}h{:02}m", s / 3600, s % 3600 / 60),
            _ => write!(f, "{}d{:02}h", s / 86_400, s % 86_400 / 3600),
        }
    }
}

/// How long ago `at` was, seen from `now`: `now`, `3s ago`, `4m12s ago`, `in 2s`
/// (clock skew).
#[derive(Debug, Clone, Copy)]
pub struct Ago {
    /// The moment described.
    pub at: Timestamp,
    /// The moment it is seen from.
    pub now: Timestamp,
}

impl fmt::Display for Ago {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = (self.now - self.at).whole_seconds();
        match seconds {
            0 => f.write_str("now"),
            s if s > 0 => write!(f, "{} ago", Span(s.unsigned_abs())),
            s => write!(f, "in {}", Span(s.unsigned_abs())),
        }
    }
}

/// An address lifetime in seconds: `forever` when unset.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime(pub Option<u32>);

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None | Some(u32::MAX) => f.write_str("forever"),
            Some(seconds) => Span(u64::from(seconds)).fmt(f),
        }
    }
}

/// `address/prefix`.
#[derive(Debug, Clone, Copy)]
pub struct Prefix(pub IpAddr, pub u8);

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.0, self.1)
    }
}

/// The wall-clock time of day, `HH:MM:SS` UTC.
#[derive(Debug, Clone, Copy)]
pub struct Clock(pub Timestamp);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}:{:02}", self.0.hour(), self.0.minute(), self.0.second())
    }
}

/// Text formatted on the stack, for matching addresses against a filter on every row
/// of every frame without allocating. Longer text is cut (an address with its prefix
/// is at most 43 bytes).
#[derive(Clone, Copy)]
pub(crate) struct StackText {
    bytes: [u8; 64],
    len: usize,
}

impl StackText {
    /// Format `value`.
    pub(crate) fn new(value: impl fmt::Display) -> Self {
        let mut text = Self { bytes: [0; 64], len: 0 };
        // Overflow only cuts the text short, which is the documented behaviour.
        let _ = fmt::Write::write_fmt(&mut text, format_args!("{value}"));
        text
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.bytes.len() - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() { Err(fmt::Error) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_like_people_write_them() {
        for (value, expected) in [
            (None, "–"),
            (Some(0.0), "0 B/s"),
            (Some(999.0), "999 B/s"),
            (Some(1_000.0), "1.00 KB/s"),
            (Some(45_230.0), "45.2 KB/s"),
            (Some(312_400.0), "312 KB/s"),
            (Some(999_960.0), "1.00 MB/s"),
            (Some(2_410_000.0), "2.41 MB/s"),
            (Some(-5.0), "0 B/s"),
            (Some(f64::NAN), "–"),
        ] {
            assert_eq!(Rate(value).to_string(), expected, "{value:?}");
        }
    }

    #[test]
    fn bytes_counts_and_spans() {
        assert_eq!(Bytes(17_179_869_184).to_string(), "17.2 GB");
        assert_eq!(Memory(17_179_869_184).to_string(), "16.0 GiB");
        assert_eq!(Memory(9_650_000).to_string(), "9.20 MiB");
        assert_eq!(Memory(512).to_string(), "512 B");
        assert_eq!(Count(1_234_567).to_string(), "1 234 567");
        assert_eq!(Count(12).to_string(), "12");
        for (seconds, expected) in
            [(0, "0s"), (59, "59s"), (192, "3m12s"), (7500, "2h05m"), (273_640, "3d04h")]
        {
            assert_eq!(Span(seconds).to_string(), expected);
        }
        assert_eq!(Lifetime(None).to_string(), "forever");
        assert_eq!(Lifetime(Some(86_113)).to_string(), "23h55m");
    }

    #[test]
    fn round_trip_times_and_bit_rates() {
        for (ms, expected) in [
            (None, "–"),
            (Some(f64::NAN), "–"),
            (Some(0.0), "0ms"),
            (Some(0.08), "80µs"),
            (Some(0.9996), "1.00ms"),
            (Some(4.523), "4.52ms"),
            (Some(23.44), "23.4ms"),
            (Some(310.0), "310ms"),
            (Some(1000.0), "1.00s"),
            (Some(12_345.0), "12.3s"),
            (Some(250_000.0), "250s"),
        ] {
            assert_eq!(Millis(ms).to_string(), expected, "{ms:?}");
        }
        assert_eq!(BitRate(11_600_000).to_string(), "11.6 Mbit/s");
        assert_eq!(BitRate(800).to_string(), "800 bit/s");
        assert_eq!(Percent(Some(12.34)).to_string(), "12.3%");
        assert_eq!(Percent(None).to_string(), "–");
    }

    #[test]
    fn ages_relative_to_now() {
        let now = time::macros::datetime!(2026-03-14 09:26:53 UTC);
        let ago = |seconds: i64| Ago { at: now - time::Duration::seconds(seconds), now }.to_string();
        assert_eq!(ago(0), "now");
        assert_eq!(ago(3), "3s ago");
        assert_eq!(ago(88), "1m28s ago");
        assert_eq!(ago(-2), "in 2s");
        assert_eq!(Clock(now).to_string(), "09:26:53");
    }

    #[test]
    fn stack_text_formats_addresses() {
        let address: IpAddr = "2001:db8:20:0:a6c3:f0ff:fe8e:2107".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(StackText::new(Prefix(address, 64)).as_str(), "2001:db8:20:0:a6c3:f0ff:fe8e:2107/64");
        assert_eq!(StackText::new("x".repeat(70)).as_str(), "x".repeat(64));
    }
}
