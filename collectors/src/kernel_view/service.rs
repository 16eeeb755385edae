//! The kernel view's task: read notifications, re-read on change, answer requests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use netlink_packet_core::NetlinkPayload;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use crate::interfaces::known::{Change, RouteKey};
use crate::interfaces::netlink::notify;
use crate::interfaces::sysfs::{SysfsCache, SystemSysfs};
use crate::model::Route;
use crate::netlink::dump::Dumper;
use crate::netlink::route_socket::RouteSocket;

use super::{KernelViewConfig, NetworkView, Request};

/// Datagrams read per wake-up.
const MAX_BATCH: usize = 256;
/// Datagrams thrown away at most after an overrun before re-reading anyway.
const MAX_DISCARD: usize = 65_536;
/// After a failed read or socket, wait this long before trying again.
const RETRY: Duration = Duration::from_secs(1);

/// The two rtnetlink sockets, opened before the service starts so that a kernel
/// without rtnetlink is known at once (the interfaces source falls back then).
#[derive(Debug)]
pub(super) struct Sockets {
    notifications: RouteSocket,
    requests: RouteSocket,
}

impl Sockets {
    pub(super) fn open(receive_buffer: Option<usize>) -> std::io::Result<Self> {
        Ok(Self {
            notifications: RouteSocket::notifications(receive_buffer)?,
            requests: RouteSocket::requests()?,
        })
    }
}

struct Service {
    dumper: Dumper,
    sysfs: SysfsCache,
    view: watch::Sender<Arc<NetworkView>>,
    changes: broadcast::Sender<Arc<Vec<Change>>>,
    /// The routes as last read, kept up to date by route notifications since.
    routes: BTreeMap<RouteKey, Route>,
    generation: u64,
    resyncs: u64,
}

impl Service {
    /// Read everything and publish it; a failure is published too (with the last
    /// good table) and returned.
    async fn read(&mut self, changed_at: Instant) -> Result<Arc<NetworkView>, String> {
        match self.dumper.network(&mut self.sysfs).await {
            Ok(table) => {
                self.report_silent_removals(&table.routes);
                self.generation += 1;
                let view = Arc::new(NetworkView {
                    generation: self.generation,
                    table,
                    resyncs: self.resyncs,
                    changed_at: Some(changed_at),
                    failure: None,
                });
                self.view.send_replace(Arc::clone(&view));
                Ok(view)
            }
            Err(error) => {
                let failure = error.to_string();
                let mut view = NetworkView::clone(&self.view.borrow());
                view.failure = Some(failure.clone());
                self.view.send_replace(Arc::new(view));
                Err(failure)
            }
        }
    }
}

impl Service {
    /// Follow one notification batch's routes.
    fn follow(&mut self, batch: &[Change]) {
        for change in batch {
            match change {
                Change::Route(route) => {
                    self.routes.insert(RouteKey::of(route), route.clone());
                }
                Change::RouteRemoved(route) => {
                    self.routes.remove(&RouteKey::of(route));
                }
                _ => {}
            }
        }
    }

    /// Report the routes gone since the last read that no notification said were
    /// removed. The kernel sends no `RTM_DELROUTE` for the IPv4 routes it flushes when
    /// a link goes down or loses its address (`fib_sync_down_dev`, `fib_disable_ip`),
    /// so only a re-read shows them gone. A removal announced while the dump was being
    /// read may be reported here and by its own message: the interfaces timeline
    /// phrases a removal only while it knows the route, so it says it once.
    fn report_silent_removals(&mut self, routes: &[Route]) {
        let fresh: BTreeMap<RouteKey, Route> =
            routes.iter().map(|route| (RouteKey::of(route), route.clone())).collect();
        let mut gone: Vec<Change> = Vec::new();
        for (key, route) in std::mem::replace(&mut self.routes, fresh) {
            if !self.routes.contains_key(&key) {
                gone.push(Change::RouteRemoved(route));
            }
        }
        if !gone.is_empty() && self.generation > 0 {
            // Nobody listening is fine: the interfaces source may be off.
            let _ = self.changes.send(Arc::new(gone));
        }
    }
}

/// Run until every handle is gone.
pub(super) async fn run(
    sockets: Sockets,
    config: KernelViewConfig,
    view: watch::Sender<Arc<NetworkView>>,
    changes: broadcast::Sender<Arc<Vec<Change>>>,
    mut requests: mpsc::Receiver<Request>,
) {
    let Sockets { mut notifications, requests: request_socket } = sockets;
    let mut service = Service {
        dumper: Dumper::new(request_socket),
        sysfs: SysfsCache::new(Box::new(SystemSysfs)),
        view,
        changes,
        routes: BTreeMap::new(),
        generation: 0,
        resyncs: 0,
    };
    // The first read at once (not through the timer, whose millisecond ticks a
    // one-shot `netlens path` would wait out); one that fails is retried after RETRY.
    let start = Instant::now();
    let mut due: Option<Instant> = service.read(start).await.err().map(|_| start + RETRY);
    let mut changed_at: Option<Instant> = None;
    loop {
        tokio::select! {
            received = notifications.recv(MAX_BATCH) => {
                let received = match received {
                    Ok(received) => received,
                    Err(error) => {
                        tracing::warn!(%error, "reading rtnetlink notifications failed; retrying");
                        tokio::time::sleep(RETRY).await;
                        continue;
                    }
                };
                let now = Instant::now();
                let batch: Vec<Change> = received
                    .frames
                    .into_iter()
                    .filter_map(|frame| match frame.payload {
                        Some(NetlinkPayload::InnerMessage(message)) => notify::change(&message, &mut service.sysfs),
                        _ => None,
                    })
                    .collect();
                if !batch.is_empty() {
                    service.follow(&batch);
                    // Nobody listening is fine: the interfaces source may be off.
                    let _ = service.changes.send(Arc::new(batch));
                }
                if received.lost {
                    let discarded = notifications.discard_queued(MAX_DISCARD).unwrap_or_else(|error| {
                        tracing::debug!(%error, "draining rtnetlink notifications after an overrun");
                        0
                    });
                    tracing::info!(discarded, "rtnetlink receive buffer overran; re-reading everything");
                    service.resyncs += 1;
                    let since = changed_at.take().unwrap_or(now);
                    if service.read(since).await.is_err() {
                        due = Some(Instant::now() + RETRY);
                    } else {
                        due = None;
                    }
                } else {
                    changed_at.get_or_insert(now);
                    // Never pushed back: a steady stream still gets read every `coalesce`.
                    due.get_or_insert(now + config.coalesce);
                }
            }
            () = sleep_until(due), if due.is_some() => {
                let since = changed_at.take().unwrap_or_else(Instant::now);
                due = service.read(since).await.err().map(|_| Instant::now() + RETRY);
            }
            request = requests.recv() => match request {
                None => return,
                Some(Request::Counters(reply)) => {
                    let counters = service.dumper.counters().await.map_err(|error| error.to_string());
                    let _ = reply.send(counters);
                }
                Some(Request::Refresh(reply)) => {
                    let since = changed_at.take().unwrap_or_else(Instant::now);
                    let _ = service.read(since).await;
                    due = None;
                    let _ = reply.send(Arc::clone(&service.view.borrow()));
                }
            },
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}
