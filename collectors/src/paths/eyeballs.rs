//! Happy Eyeballs v2 connection racing (RFC 8305 §4–5), recorded attempt by
//! attempt so the path pane can show why a dual-stack connect took as long as it
//! did and label the losers as the normal also-rans they are (DESIGN.md §1 note 7).
//!
//! The race is generic over a [`Connector`] so its scheduling is tested with a
//! fake under paused time; [`TcpConnector`] is the real one. It measures, it does
//! not connect for anyone: the winning connection is closed too.

use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use super::probe::{ProbeError, ProbeSpec, tcp_connect};
use crate::model::{AttemptOutcome, ConnectAttempt};

/// RFC 8305 §5's recommended connection attempt delay.
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// A boxed connection attempt borrowing its [`Connector`].
pub type ConnectFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ProbeError>> + Send + 'a>>;

/// Makes one connection attempt; the race cancels it by dropping the future.
pub trait Connector: Send + Sync {
    /// Connect to `address`: `Ok` once connected, or why not.
    fn connect(&self, address: SocketAddr) -> ConnectFuture<'_>;
}

/// The real connector: a TCP connect through [`tcp_connect`], bound to the
/// target's interface and mark like every other probe, closed as soon as it is up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcpConnector {
    /// Output interface (`SO_BINDTODEVICE`).
    pub interface: Option<String>,
    /// Firewall mark (`SO_MARK`).
    pub mark: Option<u32>,
    /// Per-attempt timeout of the connect itself.
    pub timeout: Duration,
}

impl Connector for TcpConnector {
    fn connect(&self, address: SocketAddr) -> ConnectFuture<'_> {
        Box::pin(async move {
            let spec = ProbeSpec {
                address,
                interface: self.interface.clone(),
                mark: self.mark,
                timeout: self.timeout,
            };
            tcp_connect(&spec).await.map(drop)
        })
    }
}

/// The outcome of a race.
#[derive(Debug, Clone, PartialEq)]
pub struct Race {
    /// One entry per address, in the order given (which is the start order).
    pub attempts: Vec<ConnectAttempt>,
    /// The address whose attempt connected first.
    pub winner: Option<SocketAddr>,
    /// From the first attempt's start to the winner connecting, or to the last
    /// attempt failing.
    pub elapsed: Duration,
}

/// Interleave resolved addresses as RFC 8305 §4 orders them, with a First
/// Address Family Count of 1: IPv6 first, then alternating families; when one
/// family runs out the rest of the other follows. Each family keeps its own order.
#[must_use]
pub fn interleave(v6: &[Ipv6Addr], v4: &[Ipv4Addr], port: u16) -> Vec<SocketAddr> {
    let mut v6 = v6.iter().map(|&ip| SocketAddr::from((ip, port)));
    let mut v4 = v4.iter().map(|&ip| SocketAddr::from((ip, port)));
    let mut addresses = Vec::with_capacity(v6.len() + v4.len());
    loop {
        match (v6.next(), v4.next()) {
            (None, None) => return addresses,
            (first, second) => addresses.extend(first.into_iter().chain(second)),
        }
    }
}

/// How an attempt stands while the race runs.
enum Slot {
    Waiting,
    Running { started: Instant },
    Done(ConnectAttempt),
}

/// Race connection attempts to `addresses`, in order (RFC 8305 §5): the first
/// starts at once; each next one starts `attempt_delay` (see [`ATTEMPT_DELAY`])
/// after the previous one started, or at once when an attempt fails. Each
/// attempt gives up after `attempt_timeout`. The first to connect wins;
/// attempts still running are cancelled (dropped) and recorded as
/// [`AttemptOutcome::Cancelled`], those never started as
/// [`AttemptOutcome::NotStarted`] with zero start and duration.
pub async fn race(
    addresses: &[SocketAddr],
    connect: &dyn Connector,
    attempt_delay: Duration,
    attempt_timeout: Duration,
) -> Race {
    let began = Instant::now();
    let millis = |duration: Duration| duration.as_secs_f64() * 1000.0;
    let mut slots: Vec<Slot> = addresses.iter().map(|_| Slot::Waiting).collect();
    let mut running: Vec<(usize, ConnectFuture<'_>)> = Vec::new();
    let mut next = 0;
    let mut winner = None;
    let next_start = tokio::time::sleep_until(began);
    tokio::pin!(next_start);

    while winner.is_none() && (next < addresses.len() || !running.is_empty()) {
        // Start the next attempt when its time has come, or when nothing is running
        // (the previous attempt failed: RFC 8305 §5 starts the next one at once).
        if next < addresses.len() && (running.is_empty() || Instant::now() >= next_start.deadline()) {
            let address = addresses[next];
            let attempt = tokio::time::timeout(attempt_timeout, connect.connect(address));
            running.push((
                next,
                Box::pin(async move { attempt.await.unwrap_or(Err(ProbeError::TimedOut(attempt_timeout))) }),
            ));
            let now = Instant::now();
            slots[next] = Slot::Running { started: now };
            next += 1;
            next_start.as_mut().reset(now + attempt_delay);
            continue;
        }

        let waiting = next < addresses.len();
        let finished = std::future::poll_fn(|cx| {
            for (position, (index, attempt)) in running.iter_mut().enumerate() {
                if let Poll::Ready(result) = attempt.as_mut().poll(cx) {
                    return Poll::Ready(Some((position, *index, result)));
                }
            }
            if waiting && next_start.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        let Some((position, index, result)) = finished else {
            continue; // The timer fired: start the next attempt.
        };
        // The finished attempt's future is spent; dropping it is all that is left.
        drop(running.swap_remove(position));

        let started = match slots[index] {
            Slot::Running { started } => started,
            Slot::Waiting | Slot::Done(_) => began,
        };
        let now = Instant::now();
        let (outcome, error) = match &result {
            Ok(()) => (AttemptOutcome::Connected, None),
            Err(error) => (outcome_of(error), Some(error.to_string())),
        };
        if result.is_ok() {
            winner = Some(addresses[index]);
        } else {
            // A failure brings the next attempt forward to now.
            next_start.as_mut().reset(now);
        }
        slots[index] = Slot::Done(ConnectAttempt {
            address: addresses[index],
            started_ms: millis(started - began),
            duration_ms: millis(now - started),
            outcome,
            winner: result.is_ok(),
            error,
        });
    }
    // Dropping the losers' futures closes their sockets: that is the cancel.
    drop(running);

    let ended = Instant::now();
    let attempts = addresses
        .iter()
        .zip(slots)
        .map(|(&address, slot)| match slot {
            Slot::Done(attempt) => attempt,
            Slot::Running { started } => ConnectAttempt {
                address,
                started_ms: millis(started - began),
                duration_ms: millis(ended - started),
                outcome: AttemptOutcome::Cancelled,
                winner: false,
                error: None,
            },
            Slot::Waiting => ConnectAttempt {
                address,
                started_ms: 0.0,
                duration_ms: 0.0,
                outcome: AttemptOutcome::NotStarted,
                winner: false,
                error: None,
            },
        })
        .collect();
    Race { attempts, winner, elapsed: ended - began }
}

fn outcome_of(error: &ProbeError) -> AttemptOutcome {
    match error {
        ProbeError::Refused => AttemptOutcome::Refused,
        ProbeError::TimedOut(_) => AttemptOutcome::TimedOut,
        ProbeError::Unreachable(_) => AttemptOutcome::Unreachable,
        ProbeError::NotPermitted(_) | ProbeError::NoSuchInterface(_) | ProbeError::Io(_) => {
            AttemptOutcome::Error
        }
    }
}

#[cfg(test)]
mod tests;
