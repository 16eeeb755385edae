//! The interactive route lookup (`r` in the TUI): `DEST [via=IFACE] [mark=N] [from=ADDR]`,
//! the same question `ip route get DEST oif IFACE mark N from ADDR` asks.
//!
//! Pure parsing, so the prompt can show an error inline while the user types.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::target::{parse_interface, parse_mark};

/// One route lookup as the user asked it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LookupRequest {
    /// Where the traffic goes.
    pub destination: IpAddr,
    /// `via=`: the output interface the lookup is bound to.
    pub via: Option<String>,
    /// `mark=`: the firewall mark the lookup carries.
    pub mark: Option<u32>,
    /// `from=`: the source address the traffic would use.
    pub from: Option<IpAddr>,
}

impl fmt::Display for LookupRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.destination)?;
        if let Some(via) = &self.via {
            write!(f, " via={via}")?;
        }
        if let Some(mark) = self.mark {
            write!(f, " mark={mark}")?;
        }
        if let Some(from) = self.from {
            write!(f, " from={from}")?;
        }
        Ok(())
    }
}

/// What is wrong with a route lookup request; the text is shown in the prompt as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupRequestError {
    /// Nothing typed.
    #[error("type a destination address, e.g. `1.1.1.1` or `2001:db8::1 via=eth0 mark=7 from=10.0.0.2`")]
    Empty,
    /// The destination is not an address.
    #[error(
        "`{0}` is not an IP address: a route lookup takes an address (add a name as a path target instead)"
    )]
    Destination(String),
    /// A bad option.
    #[error("`{part}`: {problem}")]
    Option {
        /// The offending text.
        part: String,
        /// What is wrong and how to fix it.
        problem: &'static str,
    },
}

impl FromStr for LookupRequest {
    type Err = LookupRequestError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut words = input.split(|c: char| c == ',' || c.is_whitespace()).filter(|word| !word.is_empty());
        let first = words.next().ok_or(LookupRequestError::Empty)?;
        let destination =
            parse_address(first).ok_or_else(|| LookupRequestError::Destination(first.to_owned()))?;
        let mut request = Self { destination, via: None, mark: None, from: None };
        let option = |part: &str, problem| LookupRequestError::Option { part: part.to_owned(), problem };
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                return Err(option(word, "options are via=IFACE, mark=N and from=ADDR"));
            };
            let duplicate = match key {
                "via" | "oif" | "dev" => request
                    .via
                    .replace(parse_interface(value).map_err(|_| {
                        option(word, "interface name must be 1 to 15 characters without `/`, `:` or spaces")
                    })?)
                    .is_some(),
                "mark" => request
                    .mark
                    .replace(
                        parse_mark(value)
                            .map_err(|_| option(word, "mark must be a number such as 7 or 0x1f"))?,
                    )
                    .is_some(),
                "from" | "src" => request
                    .from
                    .replace(parse_address(value).ok_or_else(|| option(word, "from must be an IP address"))?)
                    .is_some(),
                _ => return Err(option(word, "unknown option: options are via=IFACE, mark=N and from=ADDR")),
            };
            if duplicate {
                return Err(option(word, "option given twice: keep one"));
            }
        }
        if let Some(from) = request.from
            && from.is_ipv4() != request.destination.is_ipv4()
        {
            return Err(LookupRequestError::Option {
                part: format!("from={from}"),
                problem: "the source must be of the destination's family",
            });
        }
        Ok(request)
    }
}

/// An address, also in brackets (`[2001:db8::1]`), as users paste IPv6.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).unwrap_or(text);
    text.parse().ok()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use super::*;

    #[test]
    fn parses_every_option_in_any_separator() {
        let request: LookupRequest = "10.0.0.1 via=eth0,mark=0x10  from=10.0.0.2".parse().unwrap();
        assert_eq!(request.destination, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(request.via.as_deref(), Some("eth0"));
        assert_eq!(request.mark, Some(16));
        assert_eq!(request.from, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(request.to_string(), "10.0.0.1 via=eth0 mark=16 from=10.0.0.2");
        let v6: LookupRequest = "[2001:db8::1] dev=wg0".parse().unwrap();
        assert_eq!(v6.to_string(), "2001:db8::1 via=wg0");
    }

    #[test]
    fn errors_name_the_offending_text() {
        let cases = [
            ("", "type a destination"),
            ("  ", "type a destination"),
            ("example.org", "`example.org` is not an IP address"),
            ("10.0.0.1 via=", "`via=`: interface name"),
            ("10.0.0.1 mark=x", "`mark=x`: mark must be"),
            ("10.0.0.1 from=nope", "`from=nope`: from must be"),
            ("10.0.0.1 to=x", "`to=x`: unknown option"),
            ("10.0.0.1 eth0", "`eth0`: options are"),
            ("10.0.0.1 mark=1 mark=2", "`mark=2`: option given twice"),
            ("10.0.0.1 from=::1", "`from=::1`: the source must be"),
        ];
        for (input, expected) in cases {
            let error = input.parse::<LookupRequest>().unwrap_err().to_string();
            assert!(error.contains(expected), "{input:?}: {error}");
        }
    }
}
