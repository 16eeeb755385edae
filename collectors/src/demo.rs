//! `netlens --demo`: the scripted session of [`crate::fake`] played live, so the TUI
//! can be tried (and screenshotted) on any machine without touching the network.

use std::time::Duration;

use crate::clock::Stamp;
use crate::event::{Event, Notice, Payload};
use crate::fake;
use crate::model::{
    LinkFlags, NetworkTable, OperState, PathState, PathStatus, SourceId, TimelineKind, Timestamp,
};
use crate::source::{EventSink, Source, SourceError};

/// Replays the script shifted to the present, then keeps the counters moving.
#[derive(Debug)]
pub struct DemoSource {
    refresh: Duration,
}

impl DemoSource {
    /// A demo sending a counter sample every `refresh`.
    #[must_use]
    pub const fn new(refresh: Duration) -> Self {
        Self { refresh }
    }
}

/// The scripted events with their times moved so the last one happens at `now`, on
/// both clocks (the live events that follow are stamped on the same ones).
#[must_use]
pub fn shifted_events(now: Stamp) -> Vec<Event> {
    let shift = now.wall - fake::NOW;
    let mono_shift = now.mono - fake::mono(fake::NOW);
    fake::events()
        .into_iter()
        .map(|mut event| {
            event.at += shift;
            event.mono += mono_shift;
            // Paths carry their own times (time in state, transitions): move them too.
            match &mut event.payload {
                Payload::Paths(paths) => {
                    for path in paths {
                        path.since += shift;
                        path.evaluated_at += shift;
                        if let Some(pending) = &mut path.pending {
                            pending.since += shift;
                        }
                        for transition in &mut path.transitions {
                            transition.at += shift;
                        }
                    }
                }
                Payload::RouteLookup(report) => report.at += shift,
                Payload::DnsQueries(batch) => {
                    for query in &mut batch.queries {
                        query.at += shift;
                    }
                }
                Payload::DnsTrace(trace) => trace.started_at += shift,
                Payload::Dns64(report) => report.checked_at += shift,
                _ => {}
            }
            event
        })
        .collect()
}

/// The interface whose carrier the demo drops and restores.
const FLAPPING: &str = "wlan0";

/// The scripted network with the flapping interface's carrier as the demo left it:
/// without carrier it is `lowerlayerdown` without `LOWER_UP`/`RUNNING`, as the kernel
/// reports it, so no pane shows it up while its notice says the carrier was lost.
#[must_use]
pub fn network_with_carrier(carrier: bool) -> NetworkTable {
    let mut table = fake::network();
    for interface in table.interfaces.iter_mut().filter(|i| i.name == FLAPPING && !carrier) {
        interface.carrier = false;
        interface.oper_state = OperState::LowerLayerDown;
        interface.flags = LinkFlags(interface.flags.0 & !(LinkFlags::LOWER_UP.0 | LinkFlags::RUNNING.0));
    }
    table
}

/// One probe round of the demo at tick `n`: each probed path answers with the next
/// RTT of its scripted history (cycled; a lost probe there is lost here too, and a
/// failing path keeps failing), evaluated `at`.
fn probe_tick(paths: &mut [PathState], n: u32, at: Timestamp) {
    for path in paths {
        path.evaluated_at = at;
        let failing = path.status == PathStatus::Failing;
        if let Some(probe) = &mut path.probe
            && !probe.history.is_empty()
        {
            let rtt = probe.history[n as usize % probe.history.len()].filter(|_| !failing);
            probe.ok = rtt.is_some();
            if rtt.is_some() {
                probe.rtt_ms = rtt;
            }
            probe.sent += 1;
        }
    }
}

impl Source for DemoSource {
    fn id(&self) -> SourceId {
        SourceId::Interfaces
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        let events = shifted_events(Stamp::now());
        // The paths as the script left them, re-evaluated every tick below so their
        // history (verdict band, RTT chart) keeps moving.
        let mut paths = events
            .iter()
            .rev()
            .find_map(|event| match &event.payload {
                Payload::Paths(paths) => Some(paths.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for event in events {
            sink.send_event(event).await?;
        }
        let interfaces: Vec<(u32, bool)> =
            fake::network().interfaces.iter().map(|i| (i.index, i.name == FLAPPING)).collect();
        let mut ticker = tokio::time::interval(self.refresh);
        ticker.tick().await;
        // Seconds the flapping interface spent without carrier: its counters stand
        // still then, and resume where they stopped (no burst when it comes back).
        let (mut carrier, mut stalled) = (true, 0);
        for n in fake::SAMPLES + 1.. {
            ticker.tick().await;
            if !carrier {
                stalled += 1;
            }
            let samples = interfaces
                .iter()
                .map(|&(index, flapping)| {
                    (index, fake::counters(index, if flapping { n - stalled } else { n }))
                })
                .collect();
            sink.send(Payload::Counters(samples)).await?;
            let sockets = fake::connection_table(n - (fake::SAMPLES - fake::CONNECTION_SAMPLES));
            sink.send_event(Event::now(SourceId::Connections, Payload::Sockets(sockets))).await?;
            sink.send_event(Event::now(SourceId::Capture, Payload::Flows(fake::connection_flows()))).await?;
            probe_tick(&mut paths, n, Stamp::now().wall);
            sink.send_event(Event::now(SourceId::Paths, Payload::Paths(paths.clone()))).await?;
            if n % 15 == 0 {
                let (what, detail) = if n % 30 == 0 {
                    ("gained", "wlan0 carrier gained")
                } else {
                    ("lost", "wlan0 carrier lost")
                };
                tracing::debug!(what, "demo notice");
                carrier = what == "gained";
                sink.send(Payload::Network(network_with_carrier(carrier))).await?;
                sink.notices(vec![Notice::new(TimelineKind::LinkChanged, FLAPPING, detail)]).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Mono;

    #[test]
    fn an_interface_without_carrier_is_not_up() {
        let down = network_with_carrier(false);
        let wlan0 = down.interfaces.iter().find(|i| i.name == FLAPPING);
        assert!(wlan0.is_some_and(|i| !i.carrier && i.oper_state != OperState::Up));
        assert!(wlan0.is_some_and(|i| i.flags.0 & LinkFlags::LOWER_UP.0 == 0));
        assert_eq!(network_with_carrier(true), fake::network(), "with carrier: the script's own table");
    }

    #[test]
    fn probes_keep_answering_in_the_demo() {
        let mut paths = fake::path_states();
        let at = fake::NOW + time::Duration::seconds(5);
        let answered = |paths: &[PathState], target: &str| {
            paths.iter().find(|p| p.target == target).and_then(|p| p.probe.as_ref()).map(|p| (p.ok, p.rtt_ms))
        };
        probe_tick(&mut paths, 1, at);
        let first = answered(&paths, "example.org:443");
        probe_tick(&mut paths, 2, at);
        let second = answered(&paths, "example.org:443");
        assert!(first.is_some_and(|(ok, rtt)| ok && rtt.is_some()), "{first:?}");
        assert_ne!(first, second, "the RTT moves from tick to tick");
        assert_eq!(answered(&paths, "10.20.0.5:22").map(|(ok, _)| ok), Some(false), "failing stays failing");
        assert!(paths.iter().all(|p| p.evaluated_at == at));
    }

    #[test]
    fn shifted_script_ends_now() {
        let now = time::macros::datetime!(2030-01-01 12:00:00 UTC);
        let mono = Mono::from_nanos(1_000_000_000);
        let events = shifted_events(Stamp { wall: now, mono });
        assert_eq!(events.last().map(|e| (e.at, e.mono)), Some((now, mono)));
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "still in time order");
        assert!(
            events.iter().all(|e| mono - e.mono == now - e.at),
            "the monotonic stamps moved with the wall ones, keeping the script's intervals"
        );
        let paths = events.iter().find_map(|e| match &e.payload {
            Payload::Paths(paths) => Some(paths),
            _ => None,
        });
        let since = paths.and_then(|paths| paths.first()).map(|path| path.since);
        assert_eq!(since, Some(now - time::Duration::seconds(19)), "path times moved with the script");
    }
}
