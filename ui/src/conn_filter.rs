//! The Connections filter: a small expression language typed at the `/` prompt,
//! parsed into a list of terms that must all hold (AND).
//!
//! ```text
//! filter   = term { " " term }
//! term     = [ "!" | "-" ] ( field ":" value | measure op quantity | "warn" | "closed" | word )
//! field    = port | lport | rport | state | proc | pid | user | proto | local | remote | warn
//! measure  = rtt | rx | tx | retrans | age          op = > | >= | < | <= | =
//! ```
//!
//! `port:443 state:estab proc:curl rtt>100ms remote:10.0.0.0/8` keeps the connections
//! on port 443 (either end) in a state starting with `estab`, owned by a process whose
//! name contains `curl`, with a smoothed RTT above 100 ms, to a peer inside 10/8.
//! `remote:` and `local:` take a network (`10.0.0.0/8`), an address, an `ip:port`, or
//! text matched against the address and the reverse-DNS name. Quantities take units:
//! durations `us ms s` (`rtt`, default ms) and `ms s m h` (`age`, default s); rates
//! `B KB MB GB` or `k M G` (decimal, `/s` optional). Anything else is free text that
//! may match anywhere in the row. A prefix that is not a field (`fe80::1`,
//! `example.org:443`) is free text too, unless it looks like a misspelt field, which is
//! an error: a filter that silently matches nothing is worse than one that says why.
//!
//! A malformed term is an error with the span of the offending text (in characters),
//! so the prompt can underline it while the table keeps its previous filter.

use std::net::{IpAddr, SocketAddr};

use netlens_collectors::model::{Protocol, SocketState, Timestamp};
use netlens_collectors::{ConnectionEntry, ConnectionWarnings, Connections};

mod terms;

#[cfg(test)]
use terms::in_network;
pub(crate) use terms::{AddressMatch, End, Measure, Op, Predicate, StateSet, Term};
use terms::{CLOSED_BIT, STATES};

/// A parsed filter; the empty filter lets everything through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ConnFilter {
    text: String,
    terms: Vec<Term>,
}

/// Why a filter cannot be applied, and where: `start..end` in characters of the text
/// as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterError {
    /// First character of the offending text.
    pub start: usize,
    /// One past its last character.
    pub end: usize,
    /// What is wrong and how to write it instead.
    pub message: String,
}

/// The fields a `name:value` term may use, for messages and suggestions.
const FIELDS: [&str; 11] =
    ["port", "lport", "rport", "state", "proc", "pid", "user", "proto", "local", "remote", "warn"];

/// The measures a comparison may use.
const MEASURES: [(&str, Measure); 5] = [
    ("rtt", Measure::Rtt),
    ("rx", Measure::Rx),
    ("tx", Measure::Tx),
    ("retrans", Measure::Retrans),
    ("age", Measure::Age),
];

/// One whitespace-separated token with its character span.
struct Token<'t> {
    text: &'t str,
    start: usize,
    end: usize,
}

impl ConnFilter {
    /// Parse `text`; an error names the first malformed term.
    pub(crate) fn parse(text: &str) -> Result<Self, FilterError> {
        let mut terms = Vec::new();
        for token in tokens(text)? {
            terms.push(term(&token)?);
        }
        Ok(Self { text: text.trim().to_owned(), terms })
    }

    /// The filter as typed (trimmed).
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Whether it lets everything through.
    pub(crate) fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The terms, for tests and for the help of the matching code.
    #[cfg(test)]
    pub(crate) fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Whether a connection passes every term; `connections` resolves owners and names.
    /// Whether the filter asks for closed connections (`closed`, `state:closed`): then
    /// the rows it keeps are shown even while closed rows are folded, rather than
    /// summed up in the line the user just asked to open.
    pub(crate) fn asks_for_closed(&self) -> bool {
        self.terms.iter().any(|term| {
            !term.negated
                && match &term.predicate {
                    Predicate::Closed => true,
                    Predicate::State(set) => set.0 & terms::CLOSED_BIT != 0,
                    _ => false,
                }
        })
    }

    pub(crate) fn matches(&self, entry: &ConnectionEntry, connections: &Connections, now: Timestamp) -> bool {
        self.terms.iter().all(|term| term.predicate.holds(entry, connections, now) != term.negated)
    }
}

/// Split on whitespace, keeping `"quoted words"` together; spans count characters.
fn tokens(text: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let mut tokens = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    let mut quoted: Option<usize> = None;
    let mut chars = 0;
    for (byte, c) in text.char_indices() {
        if c == '"' {
            quoted = if quoted.is_some() { None } else { Some(chars) };
        }
        if c.is_whitespace() && quoted.is_none() {
            if let Some((byte_start, char_start)) = start.take() {
                tokens.push(Token { text: &text[byte_start..byte], start: char_start, end: chars });
            }
        } else if start.is_none() {
            start = Some((byte, chars));
        }
        chars += 1;
    }
    if let Some(open) = quoted {
        return Err(FilterError {
            start: open,
            end: chars,
            message: "this quote is never closed: add a closing \"".to_owned(),
        });
    }
    if let Some((byte_start, char_start)) = start {
        tokens.push(Token { text: &text[byte_start..], start: char_start, end: chars });
    }
    Ok(tokens)
}

/// Levenshtein distance over bytes (field names are ASCII).
fn distance(a: &str, b: &str) -> usize {
    crate::theme::edit_distance(a, b)
}

/// The known name closest to a misspelt one, if close enough to be a typo.
fn closest<'n>(name: &str, known: impl IntoIterator<Item = &'n str>) -> Option<&'n str> {
    known
        .into_iter()
        .map(|k| (distance(name, k), k))
        .filter(|(d, k)| *d > 0 && *d <= if k.len() <= 3 { 1 } else { 2 })
        // Among equally close names, one the typed text begins is the likelier intent.
        .min_by_key(|(d, k)| (*d, !k.starts_with(name)))
        .map(|(_, k)| k)
}

fn is_name(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphabetic())
}

fn unquote(text: &str) -> &str {
    text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text)
}

/// Parse one token into a term.
fn term(token: &Token<'_>) -> Result<Term, FilterError> {
    let error = |start: usize, end: usize, message: String| FilterError { start, end, message };
    let (negated, body, body_start) = match token.text.strip_prefix(['!', '-']) {
        Some(rest) => (true, rest, token.start + 1),
        None => (false, token.text, token.start),
    };
    if body.is_empty() {
        let sign = &token.text[..1];
        return Err(error(
            token.start,
            token.end,
            format!("`{sign}` needs a term after it, e.g. {sign}state:listen"),
        ));
    }
    let whole = |message: String| error(token.start, token.end, message);
    // Comparisons: `rtt>100ms`. A left side that is not a measure is free text, unless
    // it is a near miss of one.
    if let Some(at) = body.find(['<', '>', '=']) {
        let name = &body[..at];
        let lower = name.to_ascii_lowercase();
        if let Some((_, measure)) = MEASURES.iter().find(|(known, _)| *known == lower) {
            let rest = &body[at..];
            let (op, op_len) = if rest.starts_with(">=") {
                (Op::GreaterEq, 2)
            } else if rest.starts_with("<=") {
                (Op::LessEq, 2)
            } else if rest.starts_with('>') {
                (Op::Greater, 1)
            } else if rest.starts_with('<') {
                (Op::Less, 1)
            } else {
                (Op::Equal, 1)
            };
            let value = &rest[op_len..];
            let value_start = body_start + name.chars().count() + op_len;
            if value.is_empty() {
                return Err(whole(format!("`{body}` needs a value, e.g. {}", example(*measure))));
            }
            let quantity = quantity(*measure, value)
                .map_err(|message| error(value_start, value_start + value.chars().count(), message))?;
            return Ok(Term { negated, predicate: Predicate::Compare(*measure, op, quantity) });
        }
        if is_name(name)
            && let Some(known) = closest(&lower, MEASURES.iter().map(|(k, _)| *k))
        {
            let end = body_start + name.chars().count();
            return Err(error(body_start, end, format!("unknown measure `{name}`, did you mean `{known}`?")));
        }
    }
    if let Some((name, value)) = body.split_once(':') {
        let lower = name.to_ascii_lowercase();
        let name_end = body_start + name.chars().count();
        let value_start = name_end + 1;
        let value_span = |message: String| error(value_start, value_start + value.chars().count(), message);
        if FIELDS.contains(&lower.as_str()) {
            let value = unquote(value);
            if value.is_empty() {
                return Err(whole(format!("`{lower}:` needs a value, e.g. {}", field_example(&lower))));
            }
            let predicate = field(&lower, value).map_err(value_span)?;
            return Ok(Term { negated, predicate });
        }
        if let Some((known, _)) = MEASURES.iter().find(|(known, _)| *known == lower) {
            return Err(whole(format!("{known} is compared, not matched: write {}", example_of(known))));
        }
        if lower == "closed" {
            return Err(whole("`closed` takes no value: write closed or !closed".to_owned()));
        }
        if is_name(name)
            && let Some(known) = closest(&lower, FIELDS)
        {
            return Err(error(
                body_start,
                name_end,
                format!("unknown field `{name}`, did you mean `{known}`?"),
            ));
        }
    }
    let word = unquote(body);
    let predicate = match word.to_ascii_lowercase().as_str() {
        "warn" | "warned" => Predicate::Warned(ConnectionWarnings::default()),
        "closed" => Predicate::Closed,
        lower => Predicate::Text(if word.is_ascii() { lower.to_owned() } else { word.to_lowercase() }),
    };
    Ok(Term { negated, predicate })
}

fn example(measure: Measure) -> &'static str {
    match measure {
        Measure::Rtt => "rtt>100ms",
        Measure::Rx => "rx>1MB",
        Measure::Tx => "tx>10k",
        Measure::Retrans => "retrans>0",
        Measure::Age => "age>30s",
    }
}

fn example_of(name: &str) -> &'static str {
    MEASURES.iter().find(|(known, _)| *known == name).map_or("rtt>100ms", |(_, m)| example(*m))
}

fn field_example(field: &str) -> &'static str {
    match field {
        "port" => "port:443",
        "lport" => "lport:22",
        "rport" => "rport:443",
        "state" => "state:estab",
        "proc" => "proc:curl",
        "pid" => "pid:1234",
        "user" => "user:ana",
        "proto" => "proto:udp",
        "local" => "local:127.0.0.1",
        "remote" => "remote:10.0.0.0/8",
        _ => "warn:stalled",
    }
}

/// The predicate of a `field:value` term (field lower case, value non-empty).
fn field(field: &str, value: &str) -> Result<Predicate, String> {
    let lower = value.to_lowercase();
    Ok(match field {
        "port" | "lport" | "rport" => {
            let port: u16 = value
                .parse()
                .map_err(|_| format!("`{value}` is not a port number: write {field}:443 (0–65535)"))?;
            let end = match field {
                "lport" => End::Local,
                "rport" => End::Remote,
                _ => End::Either,
            };
            Predicate::Port(end, port)
        }
        "state" => Predicate::State(states(&lower)?),
        "proc" => Predicate::Process(lower),
        "pid" => Predicate::Pid(
            value.parse().map_err(|_| format!("`{value}` is not a process id: write pid:1234"))?,
        ),
        "user" => value.parse().map_or(Predicate::User(lower), Predicate::Uid),
        "proto" => match lower.as_str() {
            "tcp" => Predicate::Protocol(Protocol::Tcp),
            "udp" => Predicate::Protocol(Protocol::Udp),
            _ => {
                return Err(format!(
                    "`{value}` is not a protocol netlens shows: write proto:tcp or proto:udp"
                ));
            }
        },
        "local" | "remote" => {
            let end = if field == "local" { End::Local } else { End::Remote };
            Predicate::Address(end, address(value, lower)?)
        }
        _ => Predicate::Warned(warnings(&lower)?),
    })
}

/// States whose name starts with `prefix` (`-` may stand for `_`, as `ss` writes them).
fn states(prefix: &str) -> Result<StateSet, String> {
    let prefix = prefix.replace('-', "_");
    let mut set = 0;
    for (i, state) in STATES.iter().enumerate() {
        // The table shows a handshake in the accept queue (`new_syn_recv`) as
        // `syn_recv`: filtering on what is shown must find it.
        let shown_as = if *state == SocketState::NewSynRecv { "syn_recv" } else { state.as_str() };
        if state.as_str().starts_with(&prefix) || shown_as.starts_with(&prefix) {
            set |= 1 << i;
        }
    }
    if "closed".starts_with(&prefix) {
        set |= CLOSED_BIT;
    }
    if set == 0 {
        let names: Vec<&str> = STATES.iter().map(|s| s.as_str()).chain(["closed"]).collect();
        return Err(format!("no state starts with `{prefix}`; states are {}", names.join(" ")));
    }
    Ok(StateSet(set))
}

/// Warnings whose name starts with `prefix`.
fn warnings(prefix: &str) -> Result<ConnectionWarnings, String> {
    let prefix = prefix.replace('-', "_");
    let mut set = 0;
    for (flag, name) in ConnectionWarnings::ALL {
        if name.starts_with(&prefix) {
            set |= flag.0;
        }
    }
    if set == 0 {
        let names: Vec<&str> = ConnectionWarnings::ALL.iter().map(|(_, name)| *name).collect();
        return Err(format!("no warning starts with `{prefix}`; warnings are {}", names.join(" ")));
    }
    Ok(ConnectionWarnings(set))
}

/// A network, an address, an endpoint, or text.
fn address(value: &str, lower: String) -> Result<AddressMatch, String> {
    if let Some((base, prefix)) = value.split_once('/') {
        let base: IpAddr = base.parse().map_err(|_| {
            format!("`{base}` is not an IP address: write a network as 10.0.0.0/8 or fd00::/8")
        })?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let family = if base.is_ipv4() { "IPv4" } else { "IPv6" };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("/{prefix} is not a prefix length for {family}: use 0–{max}"))?;
        return Ok(AddressMatch::Network { base, prefix });
    }
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(AddressMatch::Exact(ip));
    }
    if let Ok(endpoint) = value.parse::<SocketAddr>() {
        return Ok(AddressMatch::Endpoint(endpoint));
    }
    Ok(AddressMatch::Text(lower))
}

/// A quantity in the measure's unit: µs for RTT, bytes/s for rates, ms for age.
fn quantity(measure: Measure, value: &str) -> Result<u64, String> {
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: Option<f64> = number.parse().ok().filter(|n: &f64| n.is_finite());
    let unit = unit.to_ascii_lowercase();
    let scale = match measure {
        Measure::Rtt => match unit.as_str() {
            "" | "ms" => Some(1000.0),
            "us" | "µs" => Some(1.0),
            "s" => Some(1_000_000.0),
            _ => None,
        },
        Measure::Age => match unit.as_str() {
            "ms" => Some(1.0),
            "" | "s" => Some(1000.0),
            "m" | "min" => Some(60_000.0),
            "h" => Some(3_600_000.0),
            _ => None,
        },
        Measure::Rx | Measure::Tx => match unit.strip_suffix("/s").unwrap_or(&unit) {
            "" | "b" => Some(1.0),
            "k" | "kb" => Some(1e3),
            "m" | "mb" => Some(1e6),
            "g" | "gb" => Some(1e9),
            _ => None,
        },
        Measure::Retrans => unit.is_empty().then_some(1.0),
    };
    match (number, scale) {
        (Some(number), Some(scale)) if measure != Measure::Retrans || number.fract() == 0.0 => {
            Ok((number * scale).round() as u64)
        }
        _ => Err(match measure {
            Measure::Rtt => format!("`{value}` is not a duration: write rtt>100ms or rtt<1s (us, ms, s)"),
            Measure::Age => format!("`{value}` is not a duration: write age>30s or age<5m (ms, s, m, h)"),
            Measure::Rx | Measure::Tx => format!(
                "`{value}` is not a rate: write rx>1MB or tx>10k (B, KB, MB, GB or k, M, G per second)"
            ),
            Measure::Retrans => format!("`{value}` is not a count: write retrans>0"),
        }),
    }
}

#[cfg(test)]
mod tests;
