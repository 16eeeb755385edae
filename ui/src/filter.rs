//! Table filters typed at the `/` prompt: `field:value` terms and free words, every one
//! of which must match (case-insensitive substring).
//!
//! `source:interfaces kind:route subject:eth0 default` keeps the events whose source
//! contains "interfaces", whose kind contains "route", whose subject contains "eth0",
//! and that mention "default" anywhere. A `word:with:colons` whose prefix is not a
//! field of the tab is a free word, so IPv6 addresses need no quoting.

/// A column a filter term can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Events: the source that saw it.
    Source,
    /// Events: the timeline kind; Interfaces: the functional kind.
    Kind,
    /// Events: what it happened to.
    Subject,
    /// Interfaces: the name; DNS: the name asked.
    Name,
    /// Interfaces: the operational state.
    State,
    /// Routes: the table name or number.
    Table,
    /// Routes and neighbours: the interface.
    Dev,
    /// Routes: who installed it.
    Proto,
    /// Routes: unicast, local, blackhole, …; DNS: the type asked (A, AAAA, PTR, …).
    Type,
    /// Routes, rules, neighbours: ipv4 or ipv6.
    Family,
    /// Paths: the target as written.
    Target,
    /// Paths: satisfied, unsatisfied or failing, and the reason.
    Status,
    /// DNS: the asking process (name or pid).
    Process,
    /// DNS: the server asked (`ip:port`).
    Server,
    /// DNS: the response code, or `timeout`.
    Rcode,
}

impl Field {
    /// The name typed before the colon.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Kind => "kind",
            Self::Subject => "subject",
            Self::Name => "name",
            Self::State => "state",
            Self::Table => "table",
            Self::Dev => "dev",
            Self::Proto => "proto",
            Self::Type => "type",
            Self::Family => "family",
            Self::Target => "target",
            Self::Status => "status",
            Self::Process => "proc",
            Self::Server => "server",
            Self::Rcode => "rcode",
        }
    }
}

/// Fields the Interfaces filter understands.
pub const INTERFACE_FIELDS: &[Field] = &[Field::Name, Field::Kind, Field::State];
/// Fields the Routes filter understands.
pub const ROUTE_FIELDS: &[Field] = &[Field::Table, Field::Dev, Field::Proto, Field::Type, Field::Family];
/// Fields the Paths filter understands.
pub const PATH_FIELDS: &[Field] = &[Field::Target, Field::Status, Field::Dev, Field::Kind];
/// Fields the DNS query log's filter understands.
pub const DNS_FIELDS: &[Field] = &[Field::Name, Field::Process, Field::Server, Field::Type, Field::Rcode];
/// Fields the Events filter understands.
pub const EVENT_FIELDS: &[Field] = &[Field::Source, Field::Kind, Field::Subject];

/// One term: a field and the lower-case text it must contain, or a free word.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: Option<Field>,
    needle: String,
}

/// A parsed filter; the empty filter lets everything through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    text: String,
    terms: Vec<Term>,
}

impl Filter {
    /// Parse `text`, recognising the `fields` of one tab.
    #[must_use]
    pub fn parse(text: &str, fields: &[Field]) -> Self {
        let text = text.trim();
        let terms = tokens(text)
            .into_iter()
            .filter_map(|token| {
                let field = token.split_once(':').and_then(|(name, value)| {
                    let field = fields.iter().find(|f| f.name().eq_ignore_ascii_case(name))?;
                    Some((*field, value))
                });
                let (field, needle) = match field {
                    Some((field, value)) => (Some(field), value),
                    None => (None, token.as_str()),
                };
                let needle = needle.trim_matches('"').to_lowercase();
                (!needle.is_empty()).then_some(Term { field, needle })
            })
            .collect();
        Self { text: text.to_owned(), terms }
    }

    /// The filter as typed.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the filter lets everything through.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether an item passes: `test(field, needle)` answers one term, with `field`
    /// `None` for a free word that may match anywhere in the item.
    pub fn matches(&self, mut test: impl FnMut(Option<Field>, &str) -> bool) -> bool {
        self.terms.iter().all(|term| test(term.field, &term.needle))
    }
}

/// Split on whitespace, keeping `"quoted words"` together.
fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Whether `haystack` contains `needle`, ignoring case; `needle` is already lower case.
/// ASCII needles take a no-allocation path: this runs for every row on every frame.
#[must_use]
pub fn contains(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if !needle.is_ascii() {
        return haystack.to_lowercase().contains(needle);
    }
    let (hay, pin) = (haystack.as_bytes(), needle.as_bytes());
    hay.len() >= pin.len() && hay.windows(pin.len()).any(|window| window.eq_ignore_ascii_case(pin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_free_words() {
        let filter = Filter::parse("  source:interfaces KIND:route subject:eth0 free text ", EVENT_FIELDS);
        assert_eq!(filter.text(), "source:interfaces KIND:route subject:eth0 free text");
        let terms: Vec<_> = filter.terms.iter().map(|t| (t.field, t.needle.as_str())).collect();
        assert_eq!(
            terms,
            [
                (Some(Field::Source), "interfaces"),
                (Some(Field::Kind), "route"),
                (Some(Field::Subject), "eth0"),
                (None, "free"),
                (None, "text"),
            ]
        );
    }

    #[test]
    fn unknown_prefix_and_ipv6_are_free_words() {
        let filter = Filter::parse("fe80::1 state:up", EVENT_FIELDS);
        let terms: Vec<_> = filter.terms.iter().map(|t| (t.field, t.needle.as_str())).collect();
        assert_eq!(terms, [(None, "fe80::1"), (None, "state:up")]);
    }

    #[test]
    fn quotes_group_words_and_empty_terms_vanish() {
        let filter = Filter::parse("subject:\"carrier lost\" kind:", EVENT_FIELDS);
        let terms: Vec<_> = filter.terms.iter().map(|t| (t.field, t.needle.as_str())).collect();
        assert_eq!(terms, [(Some(Field::Subject), "carrier lost")]);
        assert!(Filter::parse("   ", EVENT_FIELDS).is_empty());
    }

    #[test]
    fn contains_ignores_case() {
        for (hay, needle, expected) in [
            ("Wlan0 carrier LOST", "lost", true),
            ("wlan0", "wlan0", true),
            ("eth", "eth0", false),
            ("anything", "", true),
            ("Größe", "größe", true),
        ] {
            assert_eq!(contains(hay, needle), expected, "{hay} ∋ {needle}");
        }
    }
}
