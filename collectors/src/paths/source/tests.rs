//! The evaluator's bookkeeping: a target removed while its name resolution and probe
//! are in flight has its late results dropped, never filed under the target that took
//! its place in the list; and the status line counts the targets it holds now.

#![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::sync::Notify;

use super::super::evaluate::NameCheck;
use super::super::resolve::{LookupFuture, NameLookup};
use super::names::Names;
use super::target_state::TargetState;
use super::*;

/// Answers every name with 192.0.2.1 once released.
struct HeldLookup {
    release: Arc<Notify>,
}

impl NameLookup for HeldLookup {
    fn lookup_v6<'a>(&'a self, _name: &'a str) -> LookupFuture<'a, Ipv6Addr> {
        Box::pin(async move {
            self.release.notified().await;
            Ok(Vec::new())
        })
    }

    fn lookup_v4<'a>(&'a self, _name: &'a str) -> LookupFuture<'a, Ipv4Addr> {
        Box::pin(async move {
            self.release.notified().await;
            Ok(vec![Ipv4Addr::new(192, 0, 2, 1)])
        })
    }
}

#[tokio::test]
async fn a_removed_targets_late_answer_is_dropped() {
    let Ok(kernel) = KernelView::start(KernelViewConfig::default()) else {
        panic!("rtnetlink is needed for the evaluator");
    };
    let release = Arc::new(Notify::new());
    let lookup: Arc<dyn NameLookup> = Arc::new(HeldLookup { release: Arc::clone(&release) });
    let server: SocketAddr = "192.0.2.53:53".parse().unwrap();
    let names = Names::Fixed { server, lookup: Ok(lookup) };
    let config = PathsConfig { targets: vec!["old.example".parse().unwrap()], ..PathsConfig::default() };
    let mut paths = Evaluator::new(&config, kernel, names);
    let old = paths.targets.iter().find(|state| state.target.text == "old.example").unwrap().id;
    paths.spawn_resolve(old);
    assert!(paths.targets.iter().any(|state| state.id == old && state.resolving));

    // Removed while resolving; another target takes its place at the end of the list.
    paths.targets.retain(|state| state.id != old);
    let new = paths.add_target("new.example".parse().unwrap(), Instant::now());
    assert_eq!(paths.targets.last().map(|state| state.id), Some(new));

    release.notify_waiters();
    let deadline = Instant::now() + Duration::from_secs(5);
    let (id, outcome) = loop {
        release.notify_waiters();
        tokio::select! {
            done = paths.resolving.join_next() => break done.unwrap().unwrap(),
            () = tokio::time::sleep(Duration::from_millis(10)) => {
                assert!(Instant::now() < deadline, "the held resolution never finished");
            }
        }
    };
    assert_eq!(id, old);
    assert!(matches!(outcome.check, NameCheck::Resolved(_)));
    assert!(!paths.record_resolution(id, outcome), "the removed target's answer was filed");
    // A probe of the removed target landing late is dropped the same way.
    paths.record_probe(old, ProbeOutcome { result: Ok(Duration::from_millis(3)), race: None });
    let new_state = paths.targets.iter().find(|state| state.id == new).unwrap();
    assert_eq!(new_state.name, NameCheck::Pending, "the new target got the old one's answer");
    assert!(new_state.resolved_at.is_none());
    assert_eq!(new_state.window.sent(), 0, "the new target got the old one's probe");
    assert!(paths.targets.iter().all(|state| state.window.sent() == 0), "a probe was filed elsewhere");
}

/// The status line after the next `Payload::Status` whose detail satisfies `done`.
async fn status_until(events: &mut mpsc::Receiver<crate::Event>, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no matching status within 10 s"))
            .unwrap();
        if let Payload::Status(status) = event.payload
            && done(&status.detail)
        {
            return status.detail;
        }
    }
}

#[tokio::test]
async fn the_status_line_counts_targets_added_and_removed_while_running() {
    // Loopback only: the probed targets' SYNs never leave the host.
    let config = PathsConfig { targets: vec!["127.0.0.1:9".parse().unwrap()], ..PathsConfig::default() };
    let (handle, source) = paths(config);
    let (tx, mut events) = mpsc::channel(1024);
    let task = crate::source::spawn_supervised(source, tx);
    let first = status_until(&mut events, |detail| detail.contains("user target")).await;
    assert!(first.ends_with("1 user target, 1 probed"), "{first}");
    for text in ["127.0.0.2", "127.0.0.3:9", "127.0.0.4,probe=icmp", "127.0.0.5"] {
        assert!(handle.send(PathsControl::Add(text.parse().unwrap())));
    }
    let added = status_until(&mut events, |detail| detail.contains("5 user targets")).await;
    assert!(added.ends_with("5 user targets, 3 probed"), "{added}");
    assert!(handle.send(PathsControl::Remove("127.0.0.3:9".to_owned())));
    let removed = status_until(&mut events, |detail| detail.contains("4 user targets")).await;
    assert!(removed.ends_with("4 user targets, 2 probed"), "{removed}");
    task.abort();
}

#[test]
fn the_schedule_starts_over_within_a_period_of_the_last_probe_sent() {
    let now = Instant::now();
    let period = Duration::from_secs(5);
    let mut state = TargetState::new(TargetId(1), "10.1.0.1:8080".parse().unwrap(), now);
    // Four failures in a row: backed off to 40 s.
    state.backoff = 4;
    state.last_probe = Some(now);
    state.next_probe = now + Duration::from_secs(40);
    // The path changes 2 s later: the next probe comes a period after the last one.
    state.restart_schedule(now + Duration::from_secs(2), period);
    assert_eq!(state.backoff, 0);
    assert_eq!(state.next_probe, now + period);
    // Long after the last probe: at once, never later than it was due.
    state.next_probe = now + Duration::from_secs(40);
    state.restart_schedule(now + Duration::from_secs(30), period);
    assert_eq!(state.next_probe, now + Duration::from_secs(30));
}

#[test]
fn a_verdict_settles_once_the_name_is_known_and_the_probe_has_spoken() {
    let now = Instant::now();
    let mut probed = TargetState::new(TargetId(1), "10.1.0.1:8080".parse().unwrap(), now);
    assert!(!probed.settled(true), "a satisfied kernel without its first probe is not a verdict yet");
    assert!(probed.settled(false), "a refused path needs no probe to be judged");
    probed.window.record_failure("connection refused".to_owned());
    assert!(probed.settled(true));
    probed.window.record_blocked("blackhole route to 10.1.0.1");
    assert!(!probed.settled(true), "back from a refusal: wait for a probe on the restored path");
    let unprobed = TargetState::new(TargetId(2), "10.1.0.1".parse().unwrap(), now);
    assert!(unprobed.settled(true));
    let name = TargetState::new(TargetId(3), "db.example".parse().unwrap(), now);
    assert!(!name.settled(false), "a name being resolved has no verdict yet");
}
