//! Request bytes built in memory, and replies parsed from the committed kernel
//! fixtures (see `../fixtures/README.md`).

#![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use super::*;

fn reply(bytes: &[u8]) -> NetlinkPayload<RouteNetlinkMessage> {
    let mut messages = split(bytes);
    assert_eq!(messages.len(), 1, "one reply per fixture");
    messages.pop().unwrap().1
}

fn answer(decision: &[u8], entry: Option<&[u8]>) -> Result<RouteAnswer, LookupError> {
    let entry = entry.map_or(NetlinkPayload::Noop, reply);
    answer_from_replies(reply(decision), entry)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// An rtattr: length, type, value, padding.
fn rtattr(kind: u16, value: &[u8]) -> Vec<u8> {
    let length = 4 + value.len();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&(length as u16).to_ne_bytes());
    bytes.extend_from_slice(&kind.to_ne_bytes());
    bytes.extend_from_slice(value);
    bytes.resize(bytes.len() + (4 - length % 4) % 4, 0);
    bytes
}

/// nlmsghdr + rtmsg + attributes.
fn request_bytes(sequence: u32, rtmsg: [u8; 8], flags: u32, attributes: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = rtmsg.to_vec();
    payload.extend_from_slice(&flags.to_ne_bytes());
    for attribute in attributes {
        payload.extend_from_slice(attribute);
    }
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
    bytes.extend_from_slice(&26u16.to_ne_bytes()); // RTM_GETROUTE
    bytes.extend_from_slice(&1u16.to_ne_bytes()); // NLM_F_REQUEST
    bytes.extend_from_slice(&sequence.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

#[test]
fn a_decision_request_carries_every_part_of_the_query() {
    let query = RouteQuery {
        destination: ip("10.60.0.1"),
        oif: Some(3),
        mark: Some(7),
        source: Some(ip("10.1.0.2")),
    };
    let bytes = encode(42, route_request(&query, Request::Decision).unwrap());
    // AF_INET, dst_len 32, src_len 32, tos, table, protocol, scope, type; RTM_F_LOOKUP_TABLE.
    let expected = request_bytes(
        42,
        [2, 32, 32, 0, 0, 0, 0, 0],
        0x1000,
        &[
            rtattr(1, &[10, 60, 0, 1]),
            rtattr(2, &[10, 1, 0, 2]),
            rtattr(4, &3u32.to_ne_bytes()),
            rtattr(16, &7u32.to_ne_bytes()),
        ],
    );
    assert_eq!(bytes, expected);
}

#[test]
fn an_entry_request_asks_for_the_fib_match_with_a_full_length_ipv6_destination() {
    let bytes = encode(7, route_request(&RouteQuery::new(ip("2001:db8::1")), Request::Entry).unwrap());
    let address: Ipv6Addr = "2001:db8::1".parse().unwrap();
    // AF_INET6 (10), dst_len 128, no source; RTM_F_LOOKUP_TABLE | RTM_F_FIB_MATCH.
    let expected = request_bytes(7, [10, 128, 0, 0, 0, 0, 0, 0], 0x3000, &[rtattr(1, &address.octets())]);
    assert_eq!(bytes, expected);
}

#[test]
fn requests_in_one_datagram_parse_back_with_their_sequence_numbers() {
    let mut datagram = encode(5, route_request(&RouteQuery::new(ip("10.0.0.1")), Request::Decision).unwrap());
    datagram.extend(encode(6, route_request(&RouteQuery::new(ip("10.0.0.1")), Request::Entry).unwrap()));
    let sequences: Vec<u32> = split(&datagram).into_iter().map(|(sequence, _)| sequence).collect();
    assert_eq!(sequences, [5, 6]);
}

#[test]
fn a_source_of_the_other_family_is_refused_before_asking() {
    let query = RouteQuery { source: Some(ip("::1")), ..RouteQuery::new(ip("10.0.0.1")) };
    let error = route_request(&query, Request::Decision).unwrap_err();
    assert!(matches!(error, LookupError::FamilyMismatch { .. }), "{error:?}");
    assert_eq!(error.to_string(), "source ::1 and destination 10.0.0.1 are not of the same address family");
}

#[test]
fn a_policy_table_route_reports_its_table_gateway_mark_and_prefix() {
    let answer = answer(
        include_bytes!("../fixtures/decision-mark-v4.bin"),
        Some(include_bytes!("../fixtures/entry-mark-v4.bin")),
    )
    .unwrap();
    assert_eq!(
        answer,
        RouteAnswer {
            route_type: RouteType::Unicast,
            table: 100,
            interface_index: Some(3),
            interface: None,
            source: Some(ip("10.1.0.2")),
            gateway: Some(ip("10.1.0.3")),
            metric: None,
            protocol: "boot".to_owned(),
            mark: Some(7),
            matched_prefix: Some((ip("10.60.0.0"), 16)),
        }
    );
}

#[test]
fn a_tunnel_half_route_is_matched_as_a_slash_one() {
    let answer = answer(
        include_bytes!("../fixtures/decision-tun-v4.bin"),
        Some(include_bytes!("../fixtures/entry-tun-v4.bin")),
    )
    .unwrap();
    assert_eq!(answer.route_type, RouteType::Unicast);
    assert_eq!(answer.table, 254);
    assert_eq!(answer.interface_index, Some(4));
    assert_eq!(answer.source, Some(ip("10.200.0.2")));
    assert_eq!(answer.gateway, None);
    assert_eq!(answer.matched_prefix, Some((ip("0.0.0.0"), 1)));
}

#[test]
fn without_the_entry_the_decision_stands_alone() {
    let answer = answer(include_bytes!("../fixtures/decision-tun-v4.bin"), None).unwrap();
    assert_eq!((answer.interface_index, answer.matched_prefix), (Some(4), None));
    // The plain IPv4 decision carries no protocol of its own.
    assert_eq!(answer.protocol, "unspec");
}

#[test]
fn a_fixed_source_is_the_source_when_there_is_no_prefsrc() {
    let answer = answer(include_bytes!("../fixtures/decision-from-v4.bin"), None).unwrap();
    assert_eq!(answer.source, Some(ip("10.1.0.2")));
    assert_eq!(answer.interface_index, Some(3));
    assert_eq!(answer.gateway, None);
}

#[test]
fn a_local_address_is_a_local_route_in_the_local_table_over_lo() {
    let answer = answer(include_bytes!("../fixtures/decision-local-v4.bin"), None).unwrap();
    assert_eq!(
        (answer.route_type, answer.table, answer.interface_index, answer.source),
        (RouteType::Local, 255, Some(1), Some(ip("10.1.0.2")))
    );
}

#[test]
fn an_ipv6_default_route_reports_metric_and_ignores_the_unspecified_echoed_source() {
    let answer = answer(
        include_bytes!("../fixtures/decision-v6.bin"),
        Some(include_bytes!("../fixtures/entry-v6.bin")),
    )
    .unwrap();
    assert_eq!(answer.route_type, RouteType::Unicast);
    assert_eq!(answer.table, 254);
    assert_eq!(answer.interface_index, Some(3));
    assert_eq!(answer.source, Some(ip("2001:db8:1::2")));
    assert_eq!(answer.gateway, Some(ip("2001:db8:1::1")));
    assert_eq!(answer.metric, Some(1024));
    assert_eq!(answer.protocol, "boot");
    assert_eq!(answer.matched_prefix, Some((ip("::"), 0)));
}

#[test]
fn a_blackhole_answers_with_einval() {
    let error = answer(include_bytes!("../fixtures/error-blackhole-v4.bin"), None).unwrap_err();
    assert!(matches!(error, LookupError::Blackhole), "{error:?}");
    assert_eq!(error.route_type(), Some(RouteType::Blackhole));
}

#[test]
fn errnos_map_to_path_verdicts() {
    let cases = [
        (libc::ENETUNREACH, "NoRoute"),
        (libc::EHOSTUNREACH, "Unreachable"),
        (libc::EACCES, "Prohibit"),
        (libc::EINVAL, "Blackhole"),
        (libc::ENODEV, "NoDevice"),
        (libc::EPERM, "Io"),
    ];
    for (errno, variant) in cases {
        let error = LookupError::from_errno(errno);
        assert!(format!("{error:?}").starts_with(variant), "{errno}: {error:?}");
    }
    assert_eq!(LookupError::from_errno(libc::ENETUNREACH).route_type(), None);
}
