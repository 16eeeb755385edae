//! The names glibc's `res_search` actually asks for, in its order: a name with at
//! least `ndots` dots (or a trailing dot) is tried as written first; otherwise the
//! search domains come first and the name as written last; a trailing dot means
//! the name as written only.

/// Why a name cannot be looked up at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing to look up.
    #[error("empty name: type a host name such as example.org")]
    Empty,
    /// Longer than DNS allows.
    #[error("`{0}` is longer than 253 characters")]
    TooLong(String),
    /// A label is empty or longer than 63 characters.
    #[error("`{0}`: every dot-separated label must be 1 to 63 characters")]
    Label(String),
    /// Characters no host name has.
    #[error("`{0}`: a host name has letters, digits, hyphens, underscores and dots only")]
    Characters(String),
}

/// A name expanded the way `res_search` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    /// The name as written: lower case, without the trailing dot.
    pub bare: String,
    /// It was written with a trailing dot: only `bare` is asked.
    pub trailing_dot: bool,
    /// It has at least `ndots` dots (or a trailing dot): `bare` is asked first.
    pub as_is_first: bool,
    /// Every candidate, in order.
    pub candidates: Vec<String>,
}

/// Check `name` and expand it into the candidates `res_search` tries, in order.
///
/// # Errors
/// When `name` is not a valid domain name.
pub fn candidates(name: &str, search: &[String], ndots: u8) -> Result<Vec<String>, NameError> {
    expand(name, search, ndots).map(|expansion| expansion.candidates)
}

/// Check `name` and expand it, with what decides the order.
///
/// # Errors
/// When `name` is not a valid domain name.
pub fn expand(name: &str, search: &[String], ndots: u8) -> Result<Expansion, NameError> {
    let name = name.trim();
    if name.is_empty() || name == "." {
        return Err(NameError::Empty);
    }
    let trailing_dot = name.ends_with('.');
    let bare = name.trim_end_matches('.').to_lowercase();
    if bare.len() > 253 {
        return Err(NameError::TooLong(name.to_owned()));
    }
    if bare.split('.').any(|label| label.is_empty() || label.len() > 63) {
        return Err(NameError::Label(name.to_owned()));
    }
    if !bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
        return Err(NameError::Characters(name.to_owned()));
    }
    if trailing_dot {
        return Ok(Expansion { candidates: vec![bare.clone()], bare, trailing_dot, as_is_first: true });
    }
    let dots = bare.matches('.').count();
    let mut list = Vec::with_capacity(search.len() + 1);
    let as_is_first = dots >= usize::from(ndots);
    if as_is_first {
        list.push(bare.clone());
    }
    for domain in search {
        // `search .` (the root) means the name as written, at that place in the list.
        let domain = domain.trim_matches('.');
        let candidate = if domain.is_empty() { bare.clone() } else { format!("{bare}.{domain}") };
        if candidate.len() <= 253 && !list.contains(&candidate) {
            list.push(candidate);
        }
    }
    if !list.contains(&bare) {
        list.push(bare.clone());
    }
    Ok(Expansion { bare, trailing_dot, as_is_first, candidates: list })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use super::*;

    fn search() -> Vec<String> {
        vec!["corp.test".to_owned(), "lab.test".to_owned()]
    }

    #[test]
    fn glibc_order() {
        let cases: [(&str, u8, &[&str]); 5] = [
            ("db", 1, &["db.corp.test", "db.lab.test", "db"]),
            ("db.eu", 1, &["db.eu", "db.eu.corp.test", "db.eu.lab.test"]),
            ("db.eu", 2, &["db.eu.corp.test", "db.eu.lab.test", "db.eu"]),
            ("example.org.", 5, &["example.org"]),
            ("DB", 0, &["db", "db.corp.test", "db.lab.test"]),
        ];
        for (name, ndots, expected) in cases {
            assert_eq!(candidates(name, &search(), ndots).unwrap(), expected, "{name} ndots:{ndots}");
        }
        assert_eq!(candidates("db", &[], 1).unwrap(), ["db"]);
        // The root on the search list puts the name as written there, once.
        let with_root = vec!["corp.test".to_owned(), ".".to_owned(), "lab.test".to_owned()];
        assert_eq!(candidates("db", &with_root, 1).unwrap(), ["db.corp.test", "db", "db.lab.test"]);
    }

    #[test]
    fn invalid_names_are_named() {
        assert_eq!(candidates(" ", &[], 1), Err(NameError::Empty));
        assert!(matches!(candidates("a..b", &[], 1), Err(NameError::Label(_))));
        assert!(matches!(candidates("bad name", &[], 1), Err(NameError::Characters(_))));
        assert!(matches!(candidates(&"a".repeat(254), &[], 1), Err(NameError::TooLong(_))));
        assert!(matches!(candidates(&format!("{}.org", "a".repeat(64)), &[], 1), Err(NameError::Label(_))));
    }
}
