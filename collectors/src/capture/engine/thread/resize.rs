//! Moving an interface to a ring of another size without losing or double-counting a
//! frame (see `ring`'s documentation for the fanout group that makes it possible).
//!
//! The steps that wait — replacing the group's program makes the kernel wait for the
//! frames being delivered under the old one, measured at 20–50 ms on a loaded 2-core
//! VM — run on a short-lived helper thread, while this thread goes on reading both
//! rings: a ring's blocks are retired every millisecond under load, so a 2 MiB ring of
//! 8 blocks holds only some 8 ms of a flood, and a swap that stalled the reader for
//! 50 ms lost 3,000 frames of 100,000 a second.
//!
//! 1. Here: the new ring joins the group as member 1 (receiving nothing yet) and is
//!    read alongside the old one from now on.
//! 2. Helper: steers the group to member 1, the new ring ([`Step::Steered`]).
//! 3. Here: nothing more arrives in the old ring; it is read until the kernel's counts
//!    say it is empty, and closed; the new ring becomes member 0.
//! 4. Helper: steers the group back to member 0 ([`Step::Done`]), so that the next
//!    ring to join receives nothing until it is steered to.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use super::{Live, Open, Worker, add_ring_statistics, read_frames};
use crate::capture::filter;
use crate::capture::frame::Frame;
use crate::capture::ring::{Ring, Steering};

/// The longest a replaced ring is read for, waiting for the kernel to hand over the
/// frames it counted (its last block is handed over by the 1 ms retire timer).
const DRAIN_FOR: Duration = Duration::from_millis(200);

/// What the helper thread reports.
#[derive(Debug)]
pub(super) enum Step {
    /// The group now sends every frame to the new ring (or could not be steered).
    Steered(io::Result<()>),
    /// The group is steered back to member 0, the new ring alone in it.
    Done(io::Result<()>),
}

/// A resize under way.
#[derive(Debug)]
pub(super) struct Swap {
    /// The ring being replaced: read alongside the new one until the group is steered
    /// away from it, then drained and closed.
    pub(super) old: Option<Ring>,
    steps: mpsc::Receiver<Step>,
    /// Told when the old ring is closed.
    closed: mpsc::Sender<()>,
    started: Instant,
}

impl Worker {
    /// Start moving interface `index` to a ring of the busy size, or back to the quiet
    /// one (see the module documentation). On failure the old ring stays, and the
    /// interface's ring is not resized again.
    pub(super) fn resize(&mut self, index: u32, busy: bool) {
        let config = self.config.rings.ring(busy);
        let Some(open) = self.rings.get_mut(&index) else { return };
        let filter = filter::socket_filter(open.link.framing, open.link.loopback);
        let started = Instant::now();
        // A new ring that fails here leaves the group unread: nothing was steered to it.
        let next = open.ring.open_beside(&filter, config).and_then(|next| {
            let steering = next.steering()?;
            let wake = self.control.try_clone()?;
            rustix::event::epoll::add(
                &self.epoll,
                &next,
                rustix::event::epoll::EventData::new_u64(u64::from(index)),
                rustix::event::epoll::EventFlags::IN,
            )?;
            Ok((next, steering, wake))
        });
        let (steps_to, steps) = mpsc::channel();
        let (closed, closed_from) = mpsc::channel();
        let helper = next.and_then(|(next, steering, wake)| {
            std::thread::Builder::new()
                .name("capture-steer".to_owned())
                .spawn(move || steer(&steering, &steps_to, &closed_from, &wake))
                .map(|_| next)
        });
        match helper {
            Ok(next) => {
                let old = std::mem::replace(&mut open.ring, next);
                open.busy = busy;
                open.swap = Some(Swap { old: Some(old), steps, closed, started });
            }
            Err(error) => {
                tracing::warn!(interface = %open.counters.name, busy, %error, "capture ring not resized");
                open.fixed = true;
            }
        }
    }

    /// Take the helpers' reports: drain and close the rings steered away from.
    /// Returns whether any ring was read.
    pub(super) fn advance_swaps(&mut self) -> bool {
        let mut read = false;
        for open in self.rings.values_mut() {
            let Some(mut swap) = open.swap.take() else { continue };
            let name = open.counters.name.clone();
            match swap.steps.try_recv() {
                Err(TryRecvError::Empty) => open.swap = Some(swap),
                Ok(Step::Steered(Ok(()))) => {
                    if let Some(old) = swap.old.take() {
                        let took = swap.started.elapsed();
                        drain(old, open, &mut self.batch, &self.live);
                        // Only now: steered back to member 0 while the old ring was in
                        // the group, frames would go to it again.
                        let _ = swap.closed.send(());
                        read = true;
                        tracing::info!(
                            interface = %name,
                            ring_bytes = self.config.rings.ring(open.busy).bytes(),
                            took_us = took.as_micros(),
                            dropped = open.counters.dropped,
                            "capture ring resized"
                        );
                    }
                    // Until the helper reports the group steered back.
                    open.swap = Some(swap);
                }
                Ok(Step::Steered(Err(error))) => {
                    // Every frame still goes to the old ring: it stays, the new one
                    // (which received nothing) closes.
                    tracing::warn!(interface = %name, %error, "capture ring not resized");
                    if let Some(old) = swap.old.take() {
                        drop(std::mem::replace(&mut open.ring, old));
                        open.busy = !open.busy;
                    }
                    open.fixed = true;
                }
                Ok(Step::Done(outcome)) => {
                    if let Err(error) = outcome {
                        // The next ring to join would take frames before its filter.
                        tracing::warn!(interface = %name, %error, "capture ring fanout not reset");
                        open.fixed = true;
                    }
                }
                Err(TryRecvError::Disconnected) => {
                    // The helper is gone without a word. Once the old ring is closed the
                    // new one is alone in the group and takes every frame whatever the
                    // program says; the group is not steered again.
                    tracing::warn!(interface = %name, "capture ring resize interrupted");
                    if let Some(old) = swap.old.take() {
                        drain(old, open, &mut self.batch, &self.live);
                        read = true;
                    }
                    open.fixed = true;
                }
            }
        }
        read
    }
}

/// Read `old`, a ring nothing arrives in any more, until the kernel's counts say it is
/// empty (its last block comes with the retire timer), and close it (it leaves the
/// group then).
fn drain(mut old: Ring, open: &mut Open, batch: &mut Vec<Frame>, live: &Live) {
    let deadline = Instant::now() + DRAIN_FOR;
    loop {
        open.received += read_frames(&mut old, open.link.framing, batch, live).frames;
        add_ring_statistics(&mut old, &mut open.counters);
        if old.pending() == 0 {
            return;
        }
        if Instant::now() >= deadline {
            let lost = old.pending();
            tracing::warn!(interface = %open.counters.name, lost, "frames left unread in a replaced ring");
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The helper thread: steer the group to the new ring, wait for the old one to be
/// closed, steer back to member 0; each step reported and the engine woken.
fn steer(steering: &Steering, steps: &mpsc::Sender<Step>, closed: &mpsc::Receiver<()>, wake: &OwnedFd) {
    let report = |step: Step| {
        let _ = steps.send(step);
        let _ = rustix::io::write(wake, &1u64.to_ne_bytes());
    };
    let steered = steering.steer(1);
    let ok = steered.is_ok();
    report(Step::Steered(steered));
    // The engine stopped or the interface closed meanwhile: nothing to steer back.
    if !ok || closed.recv().is_err() {
        return;
    }
    report(Step::Done(steering.steer(0)));
}
