//! Table-driven parsing tests: every accepted form with its canonical text, and
//! every rejection with its exact message.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests: a panic is the failure report")]

use super::*;

fn host(destination: Destination, port: Option<u16>) -> TargetDestination {
    TargetDestination::Host { destination, port }
}

fn name(text: &str) -> Destination {
    Destination::Name(text.to_owned())
}

fn address(text: &str) -> Destination {
    Destination::Address(text.parse().unwrap())
}

#[test]
fn good_targets_parse_to_their_parts_and_canonical_text() {
    use ProbeKind::{Dns, Icmp, None as NoProbe, Tcp};
    /// Input, canonical text, destination, via, mark, probe.
    type Case = (&'static str, &'static str, TargetDestination, Option<&'static str>, Option<u32>, ProbeKind);
    let cases: Vec<Case> = vec![
        ("default-ipv4", "default-ipv4", TargetDestination::DefaultIpv4, None, None, NoProbe),
        (
            "default-ipv6,via=wg0",
            "default-ipv6,via=wg0",
            TargetDestination::DefaultIpv6,
            Some("wg0"),
            None,
            NoProbe,
        ),
        (
            "default-ipv4,mark=0x1f,probe=none",
            "default-ipv4,mark=31",
            TargetDestination::DefaultIpv4,
            None,
            Some(31),
            NoProbe,
        ),
        ("example.com", "example.com", host(name("example.com"), None), None, None, NoProbe),
        ("Example.COM.", "example.com", host(name("example.com"), None), None, None, NoProbe),
        ("example.com:443", "example.com:443", host(name("example.com"), Some(443)), None, None, Tcp),
        (
            "example.com:443,probe=tcp",
            "example.com:443",
            host(name("example.com"), Some(443)),
            None,
            None,
            Tcp,
        ),
        (
            "example.com:53,probe=dns",
            "example.com:53,probe=dns",
            host(name("example.com"), Some(53)),
            None,
            None,
            Dns,
        ),
        (
            "example.com:443,probe=none",
            "example.com:443,probe=none",
            host(name("example.com"), Some(443)),
            None,
            None,
            NoProbe,
        ),
        ("localhost", "localhost", host(name("localhost"), None), None, None, NoProbe),
        ("10.0.0.1", "10.0.0.1", host(address("10.0.0.1"), None), None, None, NoProbe),
        ("10.0.0.1,probe=icmp", "10.0.0.1,probe=icmp", host(address("10.0.0.1"), None), None, None, Icmp),
        ("10.0.0.1:8080", "10.0.0.1:8080", host(address("10.0.0.1"), Some(8080)), None, None, Tcp),
        ("2001:db8::1", "2001:db8::1", host(address("2001:db8::1"), None), None, None, NoProbe),
        ("[2001:DB8::1]", "2001:db8::1", host(address("2001:db8::1"), None), None, None, NoProbe),
        ("[2001:db8::1]:443", "[2001:db8::1]:443", host(address("2001:db8::1"), Some(443)), None, None, Tcp),
        ("::1", "::1", host(address("::1"), None), None, None, NoProbe),
        // The part before the last colon is no address: not ambiguous.
        ("fd77::1", "fd77::1", host(address("fd77::1"), None), None, None, NoProbe),
        ("[fd77::1]", "fd77::1", host(address("fd77::1"), None), None, None, NoProbe),
        ("fd77::1:abcd", "fd77::1:abcd", host(address("fd77::1:abcd"), None), None, None, NoProbe),
        // Bracketed, the ambiguous text is the address; its canonical form keeps the brackets.
        ("[fd77::1:8080]", "[fd77::1:8080]", host(address("fd77::1:8080"), None), None, None, NoProbe),
        ("[fd77::1]:8080", "[fd77::1]:8080", host(address("fd77::1"), Some(8080)), None, None, Tcp),
        (
            " a-b.example:65535 , probe=none , mark=7 , via=eth0.100 ",
            "a-b.example:65535,via=eth0.100,mark=7,probe=none",
            host(name("a-b.example"), Some(65535)),
            Some("eth0.100"),
            Some(7),
            NoProbe,
        ),
        (
            "host,mark=4294967295",
            "host,mark=4294967295",
            host(name("host"), None),
            None,
            Some(u32::MAX),
            NoProbe,
        ),
        (
            "host,mark=0XFFFFFFFF",
            "host,mark=4294967295",
            host(name("host"), None),
            None,
            Some(u32::MAX),
            NoProbe,
        ),
    ];
    for (input, text, destination, via, mark, probe) in cases {
        let target: Target = input.parse().unwrap_or_else(|error| panic!("{input}: {error}"));
        let expected =
            Target { text: text.to_owned(), destination, via: via.map(str::to_owned), mark, probe };
        assert_eq!(target, expected, "{input}");
        // The canonical form is a fixed point.
        assert_eq!(target.text.parse::<Target>().as_ref(), Ok(&target), "{input} → {text}");
    }
}

#[test]
fn bad_targets_name_the_offending_text_and_the_fix() {
    let long_label = format!("{}.com", "a".repeat(64));
    let long_name = format!("{}.com", ["abcdefghij"; 23].join("."));
    let cases: Vec<(&str, String)> = vec![
        ("", "empty target: write a destination such as `example.com:443`, `10.0.0.1` or `default-ipv4`".into()),
        ("   ", "empty target: write a destination such as `example.com:443`, `10.0.0.1` or `default-ipv4`".into()),
        (
            "example.com:443,mark=abc",
            "`mark=abc` in `example.com:443,mark=abc`: mark must be a number such as 7 or 0x1f".into(),
        ),
        ("h,mark=0x", "`mark=0x` in `h,mark=0x`: mark must be a number such as 7 or 0x1f".into()),
        ("h,mark=-1", "`mark=-1` in `h,mark=-1`: mark must be a number such as 7 or 0x1f".into()),
        ("h,mark=4294967296", "`mark=4294967296` in `h,mark=4294967296`: mark must be a number such as 7 or 0x1f".into()),
        ("h:0", "`h:0`: port must be a number from 1 to 65535".into()),
        ("h:65536", "`h:65536`: port must be a number from 1 to 65535".into()),
        ("h:", "`h:`: port must be a number from 1 to 65535".into()),
        ("h:+80", "`h:+80`: port must be a number from 1 to 65535".into()),
        ("[::1]:", "`[::1]:`: port must be a number from 1 to 65535".into()),
        ("[::1]x", "`[::1]x`: port must be a number from 1 to 65535".into()),
        (
            "[::1",
            "`[::1`: not an IPv6 address: write it as `2001:db8::1`, or `[2001:db8::1]:443` with a port (a destination is HOST, HOST:PORT, IPV4, IPV4:PORT, IPV6, [IPV6] or [IPV6]:PORT)".into(),
        ),
        (
            "[10.0.0.1]:80",
            "`[10.0.0.1]:80`: not an IPv6 address: write it as `2001:db8::1`, or `[2001:db8::1]:443` with a port (a destination is HOST, HOST:PORT, IPV4, IPV4:PORT, IPV6, [IPV6] or [IPV6]:PORT)".into(),
        ),
        (
            "2001:db8::1:443:x",
            "`2001:db8::1:443:x`: not an IPv6 address: write it as `2001:db8::1`, or `[2001:db8::1]:443` with a port (a destination is HOST, HOST:PORT, IPV4, IPV4:PORT, IPV6, [IPV6] or [IPV6]:PORT)".into(),
        ),
        ("exa_mple.com", bad_host("exa_mple.com", "exa_mple.com")),
        ("-a.com", bad_host("-a.com", "-a.com")),
        ("a..com", bad_host("a..com", "a..com")),
        ("10.0.0.256", bad_host("10.0.0.256", "10.0.0.256")),
        ("10.0.0.256:80", bad_host("10.0.0.256:80", "10.0.0.256:80")),
        (".", bad_host(".", ".")),
        (&long_label, bad_host(&long_label, &long_label)),
        (&long_name, bad_host(&long_name, &long_name)),
        (
            ",via=eth0",
            "`,via=eth0`: missing destination: start with a host, an address or default-ipv4, e.g. `10.0.0.1,via=eth0`".into(),
        ),
        (
            "h,via=",
            "`via=` in `h,via=`: interface name must be 1 to 15 characters without `/`, `:` or spaces".into(),
        ),
        (
            "h,via=averyveryverylong0",
            "`via=averyveryverylong0` in `h,via=averyveryverylong0`: interface name must be 1 to 15 characters without `/`, `:` or spaces".into(),
        ),
        (
            "h,via=eth0:1",
            "`via=eth0:1` in `h,via=eth0:1`: interface name must be 1 to 15 characters without `/`, `:` or spaces".into(),
        ),
        (
            "h,via=a/b",
            "`via=a/b` in `h,via=a/b`: interface name must be 1 to 15 characters without `/`, `:` or spaces".into(),
        ),
        (
            "h,via=a b",
            "`via=a b` in `h,via=a b`: interface name must be 1 to 15 characters without `/`, `:` or spaces".into(),
        ),
        ("h,probe=udp", "`probe=udp` in `h,probe=udp`: probe must be one of tcp, icmp, dns, none".into()),
        (
            "h,port=80",
            "`port=80` in `h,port=80`: unknown option: options are via=IFACE, mark=N and probe=tcp|icmp|dns|none".into(),
        ),
        (
            "h,eth0",
            "`eth0` in `h,eth0`: unknown option: options are via=IFACE, mark=N and probe=tcp|icmp|dns|none".into(),
        ),
        ("h,,mark=1", "`,` in `h,,mark=1`: empty option: remove the extra comma".into()),
        ("h,", "`,` in `h,`: empty option: remove the extra comma".into()),
        ("h,mark=1,mark=2", "`mark=2` in `h,mark=1,mark=2`: option given twice: keep one".into()),
        ("h,via=a,via=a", "`via=a` in `h,via=a,via=a`: option given twice: keep one".into()),
        (
            "h,probe=tcp",
            "`probe=tcp` in `h,probe=tcp`: a TCP probe needs a port: write the destination as HOST:PORT".into(),
        ),
        (
            "10.0.0.1,probe=tcp",
            "`probe=tcp` in `10.0.0.1,probe=tcp`: a TCP probe needs a port: write the destination as HOST:PORT".into(),
        ),
        (
            "default-ipv4,probe=icmp",
            "`probe=icmp` in `default-ipv4,probe=icmp`: the default paths are never probed: name a destination to probe instead".into(),
        ),
    ];
    for (input, message) in cases {
        let error = input.parse::<Target>().expect_err(input);
        assert_eq!(error.to_string(), message, "{input}");
    }
}

#[test]
fn an_ipv6_address_followed_by_what_may_be_a_port_is_refused_with_the_suggestion() {
    let forms = "(a destination is HOST, HOST:PORT, IPV4, IPV4:PORT, IPV6, [IPV6] or [IPV6]:PORT)";
    let ambiguous = |text: &str, suggestion: &str, whole: &str| {
        format!(
            "`{text}`: an IPv6 address followed by what may be a port: did you mean \
             `{suggestion}`? To mean the address itself, write `{whole}` {forms}"
        )
    };
    let cases = [
        ("fd77::1:8080", ambiguous("fd77::1:8080", "[fd77::1]:8080", "[fd77::1:8080]")),
        ("2001:db8::1:443", ambiguous("2001:db8::1:443", "[2001:db8::1]:443", "[2001:db8::1:443]")),
        ("::1:22", ambiguous("::1:22", "[::1]:22", "[::1:22]")),
        (
            "2001:db8:0:0:0:0:0:1:443",
            format!(
                "`2001:db8:0:0:0:0:0:1:443`: an IPv6 address with a port \
                 needs brackets: did you mean `[2001:db8::1]:443`? {forms}"
            ),
        ),
    ];
    for (input, message) in cases {
        let error = input.parse::<Target>().expect_err(input);
        assert_eq!(error.to_string(), message, "{input}");
    }
    // Bracketed either way, both readings parse.
    assert_eq!("[fd77::1]:8080".parse::<Target>().unwrap().text, "[fd77::1]:8080");
    assert_eq!("[fd77::1:8080]".parse::<Target>().unwrap().text, "[fd77::1:8080]");
    assert_eq!(ambiguous_port("fd77::1"), None);
    assert_eq!(ambiguous_port("fd77::1:0"), None, "port 0 is no port: the text is an address");
}

fn bad_host(part: &str, target: &str) -> String {
    let place = if part == target { format!("`{target}`") } else { format!("`{part}` in `{target}`") };
    format!(
        "{place}: not an IP address or host name: a host name has letters, digits, hyphens and dots, \
         labels of 1 to 63 characters (not starting or ending with a hyphen), at most 253 in all"
    )
}

#[test]
fn names_of_the_longest_allowed_length_parse() {
    let label = "a".repeat(63);
    assert!(format!("{label}.com").parse::<Target>().is_ok());
    // 4 × 63 + 3 dots = 255 is too long; trim to 253.
    let name = format!("{label}.{label}.{label}.{}", "a".repeat(61));
    assert_eq!(name.len(), 253);
    assert!(name.parse::<Target>().is_ok());
    assert!(format!("{name}.").parse::<Target>().is_ok(), "a trailing dot does not count");
}

#[test]
fn lookup_addresses_need_no_dns() {
    let address = |text: &str| text.parse::<Target>().unwrap().destination.lookup_address();
    assert_eq!(address("default-ipv4"), Some(DEFAULT_IPV4));
    assert_eq!(address("default-ipv6"), Some("2606:4700:4700::1111".parse().unwrap()));
    assert_eq!(address("[::1]:22"), Some("::1".parse().unwrap()));
    assert_eq!(address("example.com"), None);
    assert_eq!("h:1".parse::<Target>().unwrap().to_string(), "h:1");
}
