//! The journal's contract: keyframes are exact, replay is the recorded fold, a cut
//! journal reads as a prefix, foreign and newer files are named as such.
#![cfg(feature = "fake")]

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::event::Event;
use crate::store::Store;

fn header() -> JournalHeader {
    let at = crate::fake::NOW;
    JournalHeader {
        netlens_version: "test".into(),
        host: "devbox".into(),
        netns: Some("lab".into()),
        recording_started_at: at,
        segment: 0,
        segment_started_at: at,
    }
}

fn options(keyframe_every: Duration) -> WriterOptions {
    WriterOptions { flush_every: Duration::from_secs(1), keyframe_every, ..WriterOptions::default() }
}

/// The events written to one in-memory segment, and the segment's bytes.
fn record(events: &[Event], options: WriterOptions) -> (Store, Vec<u8>) {
    let mut writer =
        Writer::new(MemorySink::new(Duration::MAX, usize::MAX), header(), options, Store::default());
    for event in events {
        writer.write(event.clone()).unwrap_or_else(|e| panic!("{e}"));
    }
    let store = writer.store().clone();
    let sink = writer.finish("test done").unwrap_or_else(|e| panic!("{e}"));
    let bytes = sink.segments().flat_map(|segment| segment.bytes.clone()).collect();
    (store, bytes)
}

fn fold_all(events: &[Event]) -> Store {
    let mut store = Store::default();
    for event in events {
        fold(&mut store, event.clone());
    }
    store
}

#[test]
fn a_keyframe_holds_the_whole_store() {
    let store = crate::fake::store();
    let bytes = rmp_serde::to_vec_named(&store).unwrap_or_else(|e| panic!("{e}"));
    let back: Store = rmp_serde::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, store);
}

#[test]
fn every_event_survives_the_journal() {
    for event in crate::fake::events() {
        let mut bases = record::Bases::default();
        let record = bases.encode(&event);
        let bytes = rmp_serde::to_vec_named(&record).unwrap_or_else(|e| panic!("{e}"));
        let back = rmp_serde::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let mut reader = record::Bases::default();
        assert_eq!(reader.decode(back), Ok(event));
    }
}

#[test]
fn replay_is_the_recorded_fold_and_ends_where_the_recording_did() {
    let events = crate::fake::events();
    let (written, bytes) = record(&events, options(Duration::from_secs(10)));
    assert_eq!(written, fold_all(&events));
    let journal =
        Journal::from_memory(&[MemorySegment { header: header(), bytes }]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(journal.events(), events.len() as u64);
    assert_eq!(journal.ended(), Some("test done"));
    let mut replay = Replay::new(&journal).unwrap_or_else(|e| panic!("{e}"));
    let mut seen = Vec::new();
    while replay.step_with(|event| seen.push(event.clone())).unwrap_or_else(|e| panic!("{e}")) {}
    assert_eq!(seen, events);
    assert_eq!(replay.store(), &written);
}

#[test]
fn seeking_by_time_and_index_gives_the_fold_up_to_there() {
    let events = crate::fake::events();
    let (_, bytes) = record(&events, options(Duration::from_secs(7)));
    let journal =
        Journal::from_memory(&[MemorySegment { header: header(), bytes }]).unwrap_or_else(|e| panic!("{e}"));
    let mut replay = Replay::new(&journal).unwrap_or_else(|e| panic!("{e}"));
    for index in [events.len() - 3, 5, 40, 41, 0, events.len()] {
        replay.seek_index(index as u64).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(replay.position(), index as u64);
        assert_eq!(replay.store(), &fold_all(&events[..index]), "state after {index} events");
    }
    let middle = events[events.len() / 2].at;
    replay.seek_time(middle).unwrap_or_else(|e| panic!("{e}"));
    let upto: Vec<Event> = events.iter().take_while(|event| event.at <= middle).cloned().collect();
    assert_eq!(replay.store(), &fold_all(&upto));
}

/// Events drawn from the scripted session, in a random order and with random gaps,
/// restamped so time goes forward.
fn sequences() -> impl Strategy<Value = Vec<Event>> {
    let pool = crate::fake::events();
    let len = pool.len();
    prop::collection::vec((0..len, 0u32..4000), 1..120).prop_map(move |picks| {
        let mut at = crate::fake::NOW;
        picks
            .into_iter()
            .map(|(index, gap_ms)| {
                at += time::Duration::milliseconds(i64::from(gap_ms));
                let mut event = pool[index].clone();
                event.at = at;
                event.mono = crate::fake::mono(at);
                event
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Folding all the events equals folding a keyframe plus the rest, at every keyframe.
    #[test]
    fn a_keyframe_plus_the_rest_is_the_fold_of_all(events in sequences(), every in 1u64..20) {
        let (written, bytes) = record(&events, options(Duration::from_secs(every)));
        prop_assert_eq!(&written, &fold_all(&events));
        let journal = Journal::from_memory(&[MemorySegment { header: header(), bytes }])
            .unwrap_or_else(|e| panic!("{e}"));
        let keyframes: Vec<u64> = journal.keyframe_positions().collect();
        prop_assert!(!keyframes.is_empty());
        for position in keyframes {
            let mut replay = Replay::new(&journal).unwrap_or_else(|e| panic!("{e}"));
            replay.seek_index(position).unwrap_or_else(|e| panic!("{e}"));
            let at_keyframe = replay.store().clone();
            prop_assert_eq!(&at_keyframe, &fold_all(&events[..position as usize]));
            while replay.step().unwrap_or_else(|e| panic!("{e}")) {}
            prop_assert_eq!(replay.store(), &written);
        }
    }

    /// A journal cut at any byte reads, without a panic, as a prefix of the session.
    #[test]
    fn a_journal_cut_anywhere_reads_as_a_prefix(cut in 0.0f64..1.0) {
        let events: Vec<Event> = crate::fake::events();
        let (_, bytes) = record(&events, options(Duration::from_secs(5)));
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let cut = (bytes.len() as f64 * cut) as usize;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("cut.nlj");
        std::fs::write(&path, &bytes[..cut]).unwrap_or_else(|e| panic!("{e}"));
        match Journal::open(&path) {
            Err(JournalError::Empty { .. }) => {}
            Err(other) => prop_assert!(false, "cut at {cut}: {other}"),
            Ok(journal) => {
                let mut replay = Replay::new(&journal).unwrap_or_else(|e| panic!("{e}"));
                let mut seen = Vec::new();
                while replay
                    .step_with(|event| seen.push(event.clone()))
                    .unwrap_or_else(|e| panic!("cut at {cut}: {e}"))
                {}
                prop_assert_eq!(&seen[..], &events[..seen.len()]);
                prop_assert_eq!(replay.store(), &fold_all(&seen));
            }
        }
    }
}

#[test]
fn foreign_and_newer_files_are_named() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let snapshot = dir.path().join("snap.json");
    std::fs::write(&snapshot, b"{\"schema_version\": 1}").unwrap_or_else(|e| panic!("{e}"));
    let error = Journal::open(&snapshot).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.contains("snap.json is not a netlens journal") && error.contains("netlens open"),
        "{error}"
    );

    let (_, mut bytes) = record(&crate::fake::events()[..10], WriterOptions::default());
    bytes[8..12].copy_from_slice(&9u32.to_le_bytes());
    let newer = dir.path().join("newer.nlj");
    std::fs::write(&newer, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let error = Journal::open(&newer).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("format version 9") && error.contains("newer.nlj"), "{error}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap_or_else(|e| panic!("{e}"));
    let error = Journal::open(&empty).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("holds no netlens journal segments"), "{error}");
}

#[test]
fn a_directory_rotates_its_own_segments_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bystander = dir.path().join("netlens-notes.nlj");
    std::fs::write(&bystander, b"my notes").unwrap_or_else(|e| panic!("{e}"));
    let events = crate::fake::events();
    let sink = DirSink::open(dir.path(), 150_000).unwrap_or_else(|e| panic!("{e}"));
    let options = WriterOptions {
        segment_age: Duration::from_secs(10),
        keyframe_every: Duration::from_secs(10),
        ..options(Duration::from_secs(10))
    };
    let mut writer = Writer::new(sink, header(), options, Store::default());
    for event in &events {
        writer.write(event.clone()).unwrap_or_else(|e| panic!("{e}"));
    }
    let written = writer.store().clone();
    let sink = writer.finish("done").unwrap_or_else(|e| panic!("{e}"));
    let kept: Vec<_> = sink.segments().map(std::path::Path::to_path_buf).collect();
    let sizes: Vec<u64> = kept.iter().map(|path| std::fs::metadata(path).map_or(0, |m| m.len())).collect();
    assert!(kept.len() >= 2, "{kept:?} {sizes:?}");
    let total: u64 = kept.iter().map(|path| std::fs::metadata(path).map_or(0, |m| m.len())).sum();
    assert!(
        total <= 150_000 + kept.last().map_or(0, |p| std::fs::metadata(p).map_or(0, |m| m.len())),
        "{total}"
    );
    assert_eq!(std::fs::read(&bystander).ok().as_deref(), Some(&b"my notes"[..]), "a bystander was touched");
    // The oldest segments are gone, the rest replays to the same end state.
    let journal = Journal::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(journal.events() < events.len() as u64);
    let mut replay = Replay::new(&journal).unwrap_or_else(|e| panic!("{e}"));
    while replay.step().unwrap_or_else(|e| panic!("{e}")) {}
    assert_eq!(replay.store(), &written);
}
