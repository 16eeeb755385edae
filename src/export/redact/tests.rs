use netlens_collectors::fake;
use netlens_collectors::snapshot::Snapshot;

use super::*;

fn json(doc: &Snapshot) -> serde_json::Value {
    serde_json::to_value(doc).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn redaction_is_stable_and_keeps_structure() {
    let mut redactor = Redactor::new("devbox");
    let a = redactor.redact_text("10.0.0.2/24 added to veth1 on devbox");
    let b = redactor.redact_text("route 10.0.0.0/24 via 10.0.0.1 dev veth1");
    assert_eq!(a, "198.18.0.2/24 added to veth1 on host-1");
    assert_eq!(b, "route 198.18.0.0/24 via 198.18.0.1 dev veth1", "same network, same pseudo-network");
    assert_eq!(redactor.redact_text("127.0.0.1 ::1 0.0.0.0"), "127.0.0.1 ::1 0.0.0.0");
    assert_eq!(redactor.redact_text("mac 52:54:00:12:34:56."), "mac 02:00:00:00:00:01.");
    assert_eq!(redactor.redact_text("52:54:00:12:34:56"), "02:00:00:00:00:01");
    assert_eq!(redactor.redact_text("192.0.2.7:443"), "198.18.1.7:443");
    let v6 = redactor.redact_text("fe80::5054:ff:fe12:3456/64");
    assert!(!v6.contains("5054") && v6.starts_with("fe80:"), "{v6}");
    assert_eq!(redactor.redact_text("mtu 1500, table 254, face cafe"), "mtu 1500, table 254, face cafe");
}

#[test]
fn typed_addresses_share_the_text_pseudonyms() {
    let mut redactor = Redactor::new("devbox");
    let text = redactor.redact_text("10.0.0.2 and [2001:db8:1::5]:443");
    let mut endpoint: std::net::SocketAddr = "[2001:db8:1::5]:443".parse().unwrap_or_else(|e| panic!("{e}"));
    redactor.endpoint(&mut endpoint);
    let mut address: std::net::IpAddr = "10.0.0.2".parse().unwrap_or_else(|e| panic!("{e}"));
    redactor.ip(&mut address);
    assert_eq!(text, format!("{address} and {endpoint}"), "one pseudonym per fact, typed or in text");
}

#[test]
fn redaction_gives_every_network_its_own_pseudonym() {
    let mut redactor = Redactor::new("db");
    let mut seen = std::collections::HashSet::new();
    for n in 0..2000_u32 {
        let text = format!("10.{}.{}.7", n / 256, n % 256);
        assert!(seen.insert(redactor.redact_text(&text)), "network {n} reused a pseudonym");
    }
    assert_eq!(redactor.redact_text("10.0.0.7"), "198.18.0.7", "stable");
    assert_eq!(redactor.redact_text("10.2.0.7"), "240.0.0.7", "past 512 networks: 240.0.0.0/4");
}

#[test]
fn hostname_is_replaced_as_a_whole_word_only() {
    assert_eq!(
        replace_word("db on db.lan, 2001:db8::1 dbx", "db", "host-1"),
        "host-1 on host-1.lan, 2001:db8::1 dbx"
    );
    let mut redactor = Redactor::new("lo");
    assert_eq!(redactor.redact_text("lo is loopback"), "host-1 is loopback");
}

#[test]
fn redacted_snapshot_leaks_nothing() {
    let mut doc = Snapshot::from_store(&fake::store(), fake::NOW);
    redact(&mut doc);
    let value = json(&doc);
    let text = value.to_string();
    for secret in ["devbox", "192.168.1.23", "52:54:00:12:34:56", "2001:db8:10:0:5054", "10.20.30.41"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    assert!(text.contains("127.0.0.1"), "loopback kept");
    assert_eq!(value["host"]["hostname"], "host-1");
    let firefox = doc.connections.iter().find(|c| c.process.as_deref() == Some("firefox"));
    let firefox = firefox.unwrap_or_else(|| panic!("the firefox connection"));
    assert!(
        firefox.remote_name.as_deref().is_some_and(|name| name.ends_with(".invalid")),
        "names become pseudonyms"
    );
    assert!(firefox.user.as_deref().is_some_and(|user| user.starts_with("user-")));
    assert_eq!(firefox.remote.port(), 443, "ports stay");
}

#[test]
fn the_dns_section_is_redacted_as_names() {
    let mut doc = Snapshot::from_store(&fake::store(), fake::NOW);
    redact(&mut doc);
    let text = json(&doc)["dns"].to_string();
    for name in ["corp.test", "db.lab.test", "example.com"] {
        assert!(!text.contains(name), "{name} leaked from the dns section");
    }
    assert!(text.contains("/etc/resolv.conf"), "file names are not host names");
    let mut redactor = Redactor::new("devbox");
    let error = redactor.dns_text("NXDOMAIN: no such name (tried db.secret-corp.example, db)");
    assert!(!error.contains("secret-corp"), "{error}");
    assert!(error.starts_with("NXDOMAIN: no such name (tried host-1.invalid,"), "{error}");
}

#[test]
fn pseudonyms_are_stable_across_sections() {
    let mut redactor = Redactor::new("devbox");
    let first = redactor.dns_text("db.lab.test");
    assert_eq!(redactor.dns_text("db.lab.test"), first);
    assert_eq!(redactor.dns_text("www.lab.test"), "host-2.invalid");
    assert_eq!(redactor.pseudonym(Pseudonym::User, "ana"), "user-1");
    assert_eq!(redactor.pseudonym(Pseudonym::User, "ana"), "user-1");
}
