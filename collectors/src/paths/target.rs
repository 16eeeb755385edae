//! Path targets as the user writes them (`--target`, the config, the TUI prompt):
//! `DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]`, or the built-ins
//! `default-ipv4` / `default-ipv6`.
//!
//! Pure parsing, no I/O and no serde: the config layer deserialises a string and
//! calls [`str::parse`]. Errors name the offending part and say how to fix it,
//! because they end up in front of the user verbatim (exit 2, or inline in the prompt).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The representative destination of `default-ipv4`: a global address whose route
/// lookup shows the default path (a lookup sends no packet, so whose address it is
/// does not matter — only that 0/1 + 128/1 tunnel routes and policy rules apply).
pub const DEFAULT_IPV4: IpAddr = IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1));

/// The representative destination of `default-ipv6`; see [`DEFAULT_IPV4`].
pub const DEFAULT_IPV6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2606, 0x4700, 0x4700, 0, 0, 0, 0, 0x1111));

/// Every accepted form of a destination, appended to the messages about IPv6
/// literals, where the forms are easiest to confuse.
const FORMS: &str = " (a destination is HOST, HOST:PORT, IPV4, IPV4:PORT, IPV6, [IPV6] or [IPV6]:PORT)";

/// Longest interface name the kernel accepts (`IFNAMSIZ` minus the NUL).
const MAX_INTERFACE_NAME: usize = 15;
/// Longest host name (RFC 1035, without a trailing dot).
const MAX_HOST_NAME: usize = 253;
/// Longest label of a host name.
const MAX_LABEL: usize = 63;

/// Where a user target points.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// A literal IP address.
    Address(IpAddr),
    /// A host name, resolved through the system's DNS chain (lower case).
    Name(String),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(address) => address.fmt(f),
            Self::Name(name) => f.write_str(name),
        }
    }
}

/// What a target points at: a built-in default path or a user destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetDestination {
    /// `default-ipv4`: the route lookup for [`DEFAULT_IPV4`].
    DefaultIpv4,
    /// `default-ipv6`: the route lookup for [`DEFAULT_IPV6`].
    DefaultIpv6,
    /// A user destination, with the port to probe if one was given.
    Host {
        /// Address or name.
        destination: Destination,
        /// The port (`host:port`), if any.
        port: Option<u16>,
    },
}

impl TargetDestination {
    /// The address to look a route up for, when it is known without DNS: the
    /// representative address of a default path, or a literal address.
    #[must_use]
    pub const fn lookup_address(&self) -> Option<IpAddr> {
        match self {
            Self::DefaultIpv4 => Some(DEFAULT_IPV4),
            Self::DefaultIpv6 => Some(DEFAULT_IPV6),
            Self::Host { destination: Destination::Address(address), .. } => Some(*address),
            Self::Host { destination: Destination::Name(_), .. } => None,
        }
    }
}

/// How a user target is probed (DESIGN.md §1 note 9: only when asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProbeKind {
    /// TCP connect to the target's port.
    Tcp,
    /// ICMP echo.
    Icmp,
    /// A DNS query to the target (a DNS server).
    Dns,
    /// No probe: only the kernel's verdict.
    #[default]
    None,
}

impl ProbeKind {
    /// The name used in target syntax and the export (`tcp`, `icmp`, `dns`, `none`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Icmp => "icmp",
            Self::Dns => "dns",
            Self::None => "none",
        }
    }
}

/// One parsed target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The canonical form, for display and as the target's identity: lower-case
    /// name, bracketed IPv6 with a port, options in the order via, mark, probe,
    /// mark in decimal, and `probe=` only when it differs from the default.
    pub text: String,
    /// What it points at.
    pub destination: TargetDestination,
    /// `via=`: the output interface the lookup is bound to.
    pub via: Option<String>,
    /// `mark=`: the firewall mark the lookup carries (selects policy rules).
    pub mark: Option<u32>,
    /// How it is probed: `probe=`, else TCP with a port and none without.
    pub probe: ProbeKind,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What is wrong with one part of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetProblem {
    /// Options but no destination before them.
    #[error("missing destination: start with a host, an address or default-ipv4, e.g. `10.0.0.1,via=eth0`")]
    MissingDestination,
    /// The destination is neither an IP address nor a valid host name.
    #[error(
        "not an IP address or host name: a host name has letters, digits, hyphens and dots, \
         labels of 1 to 63 characters (not starting or ending with a hyphen), at most 253 in all"
    )]
    Host,
    /// Looks like IPv6 but is not an address.
    #[error("not an IPv6 address: write it as `2001:db8::1`, or `[2001:db8::1]:443` with a port{forms}", forms = FORMS)]
    Ipv6,
    /// An unbracketed IPv6 address whose last group is all decimal digits: it may be
    /// an address, or an address followed by a port (see [`ambiguous_port`]).
    #[error(
        "an IPv6 address followed by what may be a port: did you mean `[{address}]:{port}`? \
         To mean the address itself, write `[{whole}]`{forms}",
        forms = FORMS
    )]
    AmbiguousPort {
        /// The address before the last colon.
        address: Ipv6Addr,
        /// The last group read as a port.
        port: u16,
        /// The whole text read as one address.
        whole: Ipv6Addr,
    },
    /// An IPv6 address with a port but without brackets (the whole is no address).
    #[error("an IPv6 address with a port needs brackets: did you mean `[{address}]:{port}`?{forms}", forms = FORMS)]
    UnbracketedPort {
        /// The address before the last colon.
        address: Ipv6Addr,
        /// The port after it.
        port: u16,
    },
    /// The port is not a number from 1 to 65535.
    #[error("port must be a number from 1 to 65535")]
    Port,
    /// The interface name cannot exist.
    #[error("interface name must be 1 to 15 characters without `/`, `:` or spaces")]
    Interface,
    /// The mark is not a 32-bit number.
    #[error("mark must be a number such as 7 or 0x1f")]
    Mark,
    /// Not one of the probe kinds.
    #[error("probe must be one of tcp, icmp, dns, none")]
    Probe,
    /// Not one of the options.
    #[error("unknown option: options are via=IFACE, mark=N and probe=tcp|icmp|dns|none")]
    Option,
    /// Nothing between two commas, or after the last one.
    #[error("empty option: remove the extra comma")]
    EmptyOption,
    /// The same option twice.
    #[error("option given twice: keep one")]
    Duplicate,
    /// `probe=tcp` on a destination without a port.
    #[error("a TCP probe needs a port: write the destination as HOST:PORT")]
    TcpWithoutPort,
    /// `probe=` other than `none` on a built-in default path.
    #[error("the default paths are never probed: name a destination to probe instead")]
    DefaultProbed,
}

/// A target that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Nothing was written.
    #[error("empty target: write a destination such as `example.com:443`, `10.0.0.1` or `default-ipv4`")]
    Empty,
    /// One part of the target is wrong.
    #[error("{}: {problem}", where_in(part, target))]
    Invalid {
        /// The whole target as written.
        target: String,
        /// The offending part.
        part: String,
        /// What is wrong with it and how to fix it.
        problem: TargetProblem,
    },
}

/// `` `part` in `target` ``, or just `` `target` `` when the part is all of it.
fn where_in(part: &str, target: &str) -> String {
    if part == target { format!("`{target}`") } else { format!("`{part}` in `{target}`") }
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let input = input.trim();
        if input.is_empty() {
            return Err(TargetError::Empty);
        }
        let invalid = |part: &str, problem| TargetError::Invalid {
            target: input.to_owned(),
            part: part.to_owned(),
            problem,
        };
        let mut parts = input.split(',');
        let destination_text = parts.next().unwrap_or_default().trim();
        if destination_text.is_empty() {
            return Err(invalid(input, TargetProblem::MissingDestination));
        }
        let destination =
            parse_destination(destination_text).map_err(|problem| invalid(destination_text, problem))?;

        let (mut via, mut mark, mut probe) = (None, None, None);
        for option in parts {
            let option = option.trim();
            if option.is_empty() {
                return Err(invalid(",", TargetProblem::EmptyOption));
            }
            let Some((key, value)) = option.split_once('=') else {
                return Err(invalid(option, TargetProblem::Option));
            };
            let (key, value) = (key.trim(), value.trim());
            let duplicate = match key {
                "via" => {
                    via.replace(parse_interface(value).map_err(|problem| invalid(option, problem))?).is_some()
                }
                "mark" => {
                    mark.replace(parse_mark(value).map_err(|problem| invalid(option, problem))?).is_some()
                }
                "probe" => {
                    probe.replace(parse_probe(value).map_err(|problem| invalid(option, problem))?).is_some()
                }
                _ => return Err(invalid(option, TargetProblem::Option)),
            };
            if duplicate {
                return Err(invalid(option, TargetProblem::Duplicate));
            }
        }

        let default_probe = match &destination {
            TargetDestination::Host { port: Some(_), .. } => ProbeKind::Tcp,
            _ => ProbeKind::None,
        };
        if let Some(kind) = probe {
            let part = format!("probe={}", kind.as_str());
            match &destination {
                TargetDestination::DefaultIpv4 | TargetDestination::DefaultIpv6
                    if kind != ProbeKind::None =>
                {
                    return Err(invalid(&part, TargetProblem::DefaultProbed));
                }
                TargetDestination::Host { port: None, .. } if kind == ProbeKind::Tcp => {
                    return Err(invalid(&part, TargetProblem::TcpWithoutPort));
                }
                _ => {}
            }
        }
        let probe = probe.unwrap_or(default_probe);
        let text = canonical(&destination, via.as_deref(), mark, probe, default_probe);
        Ok(Self { text, destination, via, mark, probe })
    }
}

fn canonical(
    destination: &TargetDestination,
    via: Option<&str>,
    mark: Option<u32>,
    probe: ProbeKind,
    default_probe: ProbeKind,
) -> String {
    let mut text = match destination {
        TargetDestination::DefaultIpv4 => "default-ipv4".to_owned(),
        TargetDestination::DefaultIpv6 => "default-ipv6".to_owned(),
        TargetDestination::Host {
            destination: Destination::Address(IpAddr::V6(address)),
            port: Some(port),
        } => {
            format!("[{address}]:{port}")
        }
        TargetDestination::Host { destination, port: Some(port) } => format!("{destination}:{port}"),
        // Written bare, this address would read as an address and a port: keep the
        // brackets so the canonical form parses back to itself.
        TargetDestination::Host { destination: Destination::Address(IpAddr::V6(address)), port: None }
            if ambiguous_port(&address.to_string()).is_some() =>
        {
            format!("[{address}]")
        }
        TargetDestination::Host { destination, port: None } => destination.to_string(),
    };
    if let Some(via) = via {
        text.push_str(",via=");
        text.push_str(via);
    }
    if let Some(mark) = mark {
        text.push_str(",mark=");
        text.push_str(&mark.to_string());
    }
    if probe != default_probe {
        text.push_str(",probe=");
        text.push_str(probe.as_str());
    }
    text
}

fn parse_destination(text: &str) -> Result<TargetDestination, TargetProblem> {
    match text {
        "default-ipv4" => return Ok(TargetDestination::DefaultIpv4),
        "default-ipv6" => return Ok(TargetDestination::DefaultIpv6),
        _ => {}
    }
    let host = |destination, port| Ok(TargetDestination::Host { destination, port });
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or(TargetProblem::Ipv6)?;
        let address: Ipv6Addr = inside.parse().map_err(|_| TargetProblem::Ipv6)?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(after.strip_prefix(':').ok_or(TargetProblem::Port)?)?),
        };
        return host(Destination::Address(IpAddr::V6(address)), port);
    }
    if let Ok(address) = text.parse::<IpAddr>() {
        if let (IpAddr::V6(whole), Some((address, port))) = (address, ambiguous_port(text)) {
            return Err(TargetProblem::AmbiguousPort { address, port, whole });
        }
        return host(Destination::Address(address), None);
    }
    match text.matches(':').count() {
        0 => host(parse_host(text)?, None),
        1 => {
            let (name, port) = text.split_once(':').ok_or(TargetProblem::Host)?;
            host(parse_host(name)?, Some(parse_port(port)?))
        }
        // Several colons: an IPv6 address that did not parse — perhaps one with a port.
        _ => Err(ambiguous_port(text)
            .map_or(TargetProblem::Ipv6, |(address, port)| TargetProblem::UnbracketedPort { address, port })),
    }
}

/// Whether unbracketed `text` reads as an IPv6 address followed by `:PORT`: the part
/// before the last colon is an IPv6 address and the last group is all decimal digits
/// making a port from 1 to 65535. Such text is ambiguous when it is also an address
/// itself (`fd77::1:8080`), so a target must bracket it either way: `[fd77::1]:8080`
/// for the port, `[fd77::1:8080]` for the address. `fd77::1` and `2001:db8::1` are
/// not ambiguous: the part before their last colon is no address.
#[must_use]
pub fn ambiguous_port(text: &str) -> Option<(Ipv6Addr, u16)> {
    let (head, tail) = text.rsplit_once(':')?;
    let address = head.parse::<Ipv6Addr>().ok()?;
    let port = parse_port(tail).ok()?;
    Some((address, port))
}

/// An IPv4 address, or a host name in letters, digits, hyphens and dots.
fn parse_host(text: &str) -> Result<Destination, TargetProblem> {
    if let Ok(address) = text.parse::<Ipv4Addr>() {
        return Ok(Destination::Address(IpAddr::V4(address)));
    }
    // One trailing dot marks a fully qualified name; it does not count.
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() || name.len() > MAX_HOST_NAME {
        return Err(TargetProblem::Host);
    }
    let labels_ok = name.split('.').all(|label| {
        (1..=MAX_LABEL).contains(&label.len())
            && label.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    // An all-numeric last label is a mistyped IPv4 address (`10.0.0.256`), never a
    // top-level domain; resolving it would hand it to inet_aton's odd forms.
    let numeric_top =
        name.rsplit('.').next().is_some_and(|label| label.bytes().all(|byte| byte.is_ascii_digit()));
    if !labels_ok || numeric_top {
        return Err(TargetProblem::Host);
    }
    Ok(Destination::Name(name.to_ascii_lowercase()))
}

fn parse_port(text: &str) -> Result<u16, TargetProblem> {
    // `u16::from_str` accepts a leading `+`; a port is digits only.
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(TargetProblem::Port);
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(TargetProblem::Port),
        Ok(port) => Ok(port),
    }
}

pub(crate) fn parse_interface(text: &str) -> Result<String, TargetProblem> {
    let valid = (1..=MAX_INTERFACE_NAME).contains(&text.len())
        && !text.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
        && text != "."
        && text != "..";
    if valid { Ok(text.to_owned()) } else { Err(TargetProblem::Interface) }
}

pub(crate) fn parse_mark(text: &str) -> Result<u32, TargetProblem> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(TargetProblem::Mark);
    }
    u32::from_str_radix(digits, radix).map_err(|_| TargetProblem::Mark)
}

fn parse_probe(text: &str) -> Result<ProbeKind, TargetProblem> {
    match text {
        "tcp" => Ok(ProbeKind::Tcp),
        "icmp" => Ok(ProbeKind::Icmp),
        "dns" => Ok(ProbeKind::Dns),
        "none" => Ok(ProbeKind::None),
        _ => Err(TargetProblem::Probe),
    }
}

#[cfg(test)]
mod tests;
