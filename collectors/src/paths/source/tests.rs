//! A target removed while its name resolution and probe are in flight: the late
//! results are dropped, never filed under the target that took its place in the list.

#![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::sync::Notify;

use super::super::evaluate::NameCheck;
use super::super::resolve::{LookupFuture, NameLookup};
use super::names::Names;
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
