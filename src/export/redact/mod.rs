//! Redaction: identifying strings and addresses replaced by stable pseudonyms, on the
//! typed snapshot ([`document`]) with the text rules here.

mod document;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use document::redact;

/// Replaces identifying strings with stable pseudonyms: the same input gives the
/// same pseudonym throughout one snapshot, and addresses of one IPv4 /24 or IPv6 /64
/// stay in one pseudo-network, so on-link routes still match their addresses (shorter
/// prefixes do not keep that relation).
#[derive(Debug, Default)]
pub struct Redactor {
    hostname: Option<String>,
    macs: HashMap<String, String>,
    v4_networks: HashMap<[u8; 3], u32>,
    v6_networks: HashMap<[u16; 4], u32>,
    v6_hosts: HashMap<Ipv6Addr, u32>,
    words: HashMap<(Pseudonym, String), String>,
    /// Pseudonyms handed out so far, per kind (numbers them).
    names_given: usize,
    users_given: usize,
}

/// Kinds of identifying words replaced whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Pseudonym {
    /// A host name from reverse DNS.
    Name,
    /// A user name.
    User,
}

impl Redactor {
    /// A redactor that also replaces `hostname` wherever it appears.
    #[must_use]
    pub fn new(hostname: &str) -> Self {
        let hostname = (hostname.len() >= 2).then(|| hostname.to_owned());
        Self { hostname, ..Self::default() }
    }

    /// A string of the DNS section, which names what this host looks up: a domain
    /// name (a word with a dot and a letter, no path, no spaces) becomes a pseudonym;
    /// other text is redacted as text, and each domain name inside it goes too.
    pub fn dns_text(&mut self, text: &str) -> String {
        if looks_like_domain(text) {
            return self.pseudonym(Pseudonym::Name, text);
        }
        // Sentences (errors, warnings) name hosts too: each such word goes.
        let redacted = self.redact_text(text);
        let words: Vec<String> = redacted
            .split(' ')
            .map(|word| {
                let core = word.trim_matches(|c: char| "`,;()[]'\"".contains(c) || c == '.');
                if looks_like_domain(core) {
                    word.replace(core, &self.pseudonym(Pseudonym::Name, core))
                } else {
                    word.to_owned()
                }
            })
            .collect();
        words.join(" ")
    }

    /// Redact one string: every address-like token and the hostname.
    pub fn redact_text(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut token = String::new();
        for ch in text.chars() {
            if ch.is_ascii_hexdigit() || ch == ':' || ch == '.' {
                token.push(ch);
            } else {
                self.flush_token(&mut token, &mut out);
                out.push(ch);
            }
        }
        self.flush_token(&mut token, &mut out);
        match &self.hostname {
            Some(hostname) => replace_word(&out, hostname, "host-1"),
            None => out,
        }
    }

    /// The stable pseudonym of `word` as a `kind`: `host-N.invalid` or `user-N`.
    fn pseudonym(&mut self, kind: Pseudonym, word: &str) -> String {
        if let Some(pseudonym) = self.words.get(&(kind, word.to_owned())) {
            return pseudonym.clone();
        }
        let pseudonym = match kind {
            Pseudonym::Name => {
                self.names_given += 1;
                format!("host-{}.invalid", self.names_given)
            }
            Pseudonym::User => {
                self.users_given += 1;
                format!("user-{}", self.users_given)
            }
        };
        self.words.insert((kind, word.to_owned()), pseudonym.clone());
        pseudonym
    }

    fn flush_token(&mut self, token: &mut String, out: &mut String) {
        if !token.is_empty() {
            out.push_str(&self.redact_token(token));
            token.clear();
        }
    }

    fn redact_token(&mut self, token: &str) -> String {
        // Sentence punctuation around a token is not part of it.
        let core = token.trim_end_matches(['.', ':']);
        let tail = &token[core.len()..];
        if let Ok(address) = core.parse::<IpAddr>() {
            return format!("{}{tail}", self.address(address));
        }
        // ip:port
        if let Some((host, port)) = core.rsplit_once(':')
            && let Ok(address) = host.parse::<Ipv4Addr>()
            && port.parse::<u16>().is_ok()
        {
            return format!("{}:{port}{tail}", self.address(IpAddr::V4(address)));
        }
        if is_mac(core) {
            return format!("{}{tail}", self.mac(core));
        }
        token.to_owned()
    }

    /// The pseudonym of an address; loopback, unspecified, multicast and broadcast stay.
    fn address(&mut self, address: IpAddr) -> IpAddr {
        let keep = address.is_loopback() || address.is_unspecified() || address.is_multicast();
        match address {
            _ if keep => address,
            IpAddr::V4(v4) if v4.is_broadcast() => address,
            IpAddr::V4(v4) => {
                let [net_a, net_b, net_c, host] = v4.octets();
                let next = self.v4_networks.len() as u32;
                let network = *self.v4_networks.entry([net_a, net_b, net_c]).or_insert(next);
                // 198.18.0.0/15 (benchmarking) holds the first 512 networks and 240.0.0.0/4
                // (reserved) a million more: neither ever names a real host, and no two
                // networks share a pseudonym.
                let base: u32 = if network < 512 { 0xc612_0000 } else { 0xf000_0000 };
                let index = if network < 512 { network } else { network - 512 };
                IpAddr::V4(Ipv4Addr::from(base + (index << 8) + u32::from(host)))
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                let next = self.v6_networks.len() as u32;
                let n = *self.v6_networks.entry([s[0], s[1], s[2], s[3]]).or_insert(next);
                // The interface identifier may embed the MAC (EUI-64): replace it too,
                // keeping an all-zero one (a network address) as it is.
                let host = if s[4..] == [0, 0, 0, 0] {
                    0
                } else {
                    let next = self.v6_hosts.len() as u32 + 1;
                    *self.v6_hosts.entry(v6).or_insert(next)
                };
                let prefix = if s[0] & 0xffc0 == 0xfe80 { 0xfe80 } else { 0x2001 };
                let second = if prefix == 0xfe80 { 0 } else { 0x0db8 };
                let [n_hi, n_lo] = [(0xffff - (n >> 16)) as u16, n as u16];
                IpAddr::V6(Ipv6Addr::new(prefix, second, n_hi, n_lo, 0, 0, (host >> 16) as u16, host as u16))
            }
        }
    }

    fn mac(&mut self, mac: &str) -> String {
        let lower = mac.to_ascii_lowercase();
        if lower == "00:00:00:00:00:00" || lower == "ff:ff:ff:ff:ff:ff" {
            return lower;
        }
        let next = self.macs.len() + 1;
        self.macs
            .entry(lower)
            .or_insert_with(|| {
                // 02: locally administered, never a vendor's.
                format!("02:00:00:00:{:02x}:{:02x}", next / 256 % 256, next % 256)
            })
            .clone()
    }
}

/// `text` with every whole-word occurrence of `word` replaced: a hostname `db` must
/// not rewrite `2001:db8::`, nor `lo` rewrite `loopback`.
fn replace_word(text: &str, word: &str, replacement: &str) -> String {
    let is_word_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        out.push_str(&rest[..at]);
        let before = out.chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        if before.is_some_and(is_word_char) || after.is_some_and(is_word_char) {
            out.push_str(word);
        } else {
            out.push_str(replacement);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

fn is_mac(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A word that names a host: dotted, with a letter, not an address, a path, a file
/// name or a key.
fn looks_like_domain(word: &str) -> bool {
    const FILE_SUFFIXES: [&str; 3] = [".conf", ".rs", ".json"];
    word.contains('.')
        && word.chars().any(|ch| ch.is_ascii_alphabetic())
        && word.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' || ch == '_')
        && !word.starts_with('.')
        && !FILE_SUFFIXES.iter().any(|suffix| word.ends_with(suffix))
        && word.parse::<IpAddr>().is_err()
}

#[cfg(test)]
mod tests;
