use proptest::prelude::*;

use super::*;

proptest! {
    /// Whatever the two sequences (keys repeated, reordered, items changed), the delta
    /// rebuilds the second exactly.
    #[test]
    fn a_delta_rebuilds_the_sequence(
        prev in prop::collection::vec((0u8..12, 0u8..3), 0..40),
        cur in prop::collection::vec((0u8..12, 0u8..3), 0..40),
    ) {
        let ops = encode(&prev, &cur, |(key, _)| *key, |item| *item);
        prop_assert_eq!(decode(&prev, ops, |item| *item), Ok(cur));
    }

    /// With a carry that changes items (clocks advancing), kept items are carried.
    #[test]
    fn carried_items_are_advanced(values in prop::collection::vec(0u32..1000, 0..30), step in 0u32..5) {
        let prev: Vec<(usize, u32)> = values.into_iter().enumerate().collect();
        let cur: Vec<(usize, u32)> = prev.iter().map(|&(id, value)| (id, value + step)).collect();
        let carry = |&(id, value): &(usize, u32)| (id, value + step);
        let ops = encode(&prev, &cur, |(id, _)| *id, carry);
        prop_assert!(ops.iter().all(|op| !matches!(op, Op::Put(_))));
        prop_assert_eq!(decode(&prev, ops, carry), Ok(cur));
    }

    #[test]
    fn maps_round_trip(
        prev in prop::collection::btree_map("[a-e]", 0i64..4, 0..6),
        cur in prop::collection::btree_map("[a-e]", 0i64..4, 0..6),
    ) {
        prop_assert_eq!(MapDelta::between(&prev, &cur).apply(&prev), cur);
    }
}

#[test]
fn an_unchanged_table_is_one_step() {
    let table: Vec<(u32, u32)> = (0..1000).map(|n| (n, n * 2)).collect();
    assert_eq!(encode(&table, &table, |(key, _)| *key, |item| *item), vec![Op::Keep(1000)]);
}

#[test]
fn a_delta_against_the_wrong_base_says_so() {
    let ops = encode(&[1, 2, 3], &[1, 2, 3], |n| *n, |n| *n);
    assert_eq!(decode(&[1, 2], ops, |n| *n), Err(BaseMismatch));
    assert_eq!(decode::<u8>(&[], vec![Op::Skip(1)], |n| *n), Err(BaseMismatch));
}

#[cfg(feature = "fake")]
#[test]
fn socket_tables_whose_clocks_moved_are_carried() {
    let prev = crate::fake::connection_table(50);
    let mut cur = prev.clone();
    for socket in &mut cur.sockets {
        socket.advance_clocks(1000);
    }
    assert!(cur.sockets.len() > 6, "the fake table has {} sockets", cur.sockets.len());
    cur.sockets.swap(3, 4);
    if let Some(tcp) = cur.sockets[5].tcp.as_mut() {
        tcp.bytes_acked = Some(tcp.bytes_acked.unwrap_or(0) + 1);
    }
    cur.sockets.remove(6);
    let delta = SocketsDelta::between(&prev, &cur);
    let puts = delta.sockets.iter().filter(|op| matches!(op, Op::Put(_))).count();
    assert!(puts <= 3, "{puts} sockets written in full: {:?}", delta.sockets);
    assert_eq!(delta.apply(&prev), Ok(cur));
}
