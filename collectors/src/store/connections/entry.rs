//! One connection as the store keeps it: the latest kernel facts, when it opened and
//! closed (on both clocks), its rates, its sparkline history and the warnings that
//! hold for it now.

use crate::clock::{Mono, Stamp};
use crate::history::Ring;
use crate::model::{
    RouteMove, Socket, SocketOrigin, SocketState, SocketTimer, TcpInfo, TimerKind, Timestamp,
};

use super::{ConnectionLabel, ConnectionLimits, ConnectionWarnings};

/// Receive and send rates of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ConnectionRates {
    /// Bytes received per second.
    pub rx_bytes_per_s: f64,
    /// Bytes sent (and acknowledged, for TCP) per second.
    pub tx_bytes_per_s: f64,
}

/// One sample for a connection's sparklines; `f32` keeps 10,000 histories small.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct ConnectionSample {
    /// Smoothed RTT, milliseconds (TCP), or NaN.
    pub rtt_ms: f32,
    /// Bytes received per second.
    pub rx_bytes_per_s: f32,
    /// Bytes sent per second.
    pub tx_bytes_per_s: f32,
}

/// Samples compare by their bits: an RTT of NaN ("none", for UDP) equals itself, so a
/// store folded twice from the same events compares equal.
impl PartialEq for ConnectionSample {
    fn eq(&self, other: &Self) -> bool {
        self.rtt_ms.to_bits() == other.rtt_ms.to_bits()
            && self.rx_bytes_per_s.to_bits() == other.rx_bytes_per_s.to_bits()
            && self.tx_bytes_per_s.to_bits() == other.tx_bytes_per_s.to_bits()
    }
}

/// A connection with everything netlens derived about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionEntry {
    /// The latest kernel facts (the final ones, once closed).
    pub socket: Socket,
    /// Owning process, when known.
    pub pid: Option<u32>,
    /// How the owner was found (BPF or `/proc`) and its cgroup, when owned.
    pub origin: Option<SocketOrigin>,
    /// When netlens first saw it.
    pub first_seen: Timestamp,
    /// When it opened, if netlens saw it open (`None`: it predates netlens).
    pub opened_at: Option<Timestamp>,
    /// When it closed, if it has.
    pub closed_at: Option<Timestamp>,
    /// Current rates, once two samples exist.
    pub rates: Option<ConnectionRates>,
    /// Recent samples, oldest first.
    pub history: Ring<ConnectionSample>,
    /// Warnings raised so far.
    pub warnings: ConnectionWarnings,
    /// An explanatory label, if any.
    pub label: Option<ConnectionLabel>,
    /// How its route moved, as last seen (kept once raised, like the warning).
    pub route_move: Option<RouteMove>,
    /// Whether the kernel reported the close (a destroy event) rather than a dump
    /// merely missing the socket: dumps of a changing table can skip live sockets.
    pub(super) closed_by_kernel: bool,
    /// `first_seen`, `opened_at` and `closed_at` on the monotonic clock: what ages,
    /// bursts and retention are measured with.
    pub(super) clock: Lifetime,
    /// The number of the last dump that listed it: what the fold closes by.
    pub(super) listed_in: u64,
    baseline: Option<(Mono, u64, u64)>,
    /// When `bytes_acked` last advanced (or the connection was first seen).
    progress: Option<(Mono, u64)>,
    /// When the kernel's drop count for it (`SK_MEMINFO_DROPS`) last grew.
    drops_grew_at: Option<Mono>,
    /// When `socket` was read from the kernel: the figures that move with the clock
    /// alone are advanced from it when shown ([`Self::socket_at`]).
    pub(super) read_at: Mono,
    /// The table whose sample was the last pushed to `history`. A quiet connection
    /// (unchanged, rates zero) is not sampled again: each table since repeats that
    /// sample ([`Self::samples`]), so 10,000 idle connections cost the fold nothing.
    pub(super) sampled_in: Option<u64>,
}

/// When a connection was first seen, opened and closed, on the monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Lifetime {
    /// When netlens first saw it.
    pub(super) first_seen: Mono,
    /// When it opened, if netlens saw it open.
    pub(super) opened: Option<Mono>,
    /// When it closed, if it has.
    pub(super) closed: Option<Mono>,
}

/// Two TCP counter readings closer than this give no rate (too noisy); the older one
/// stays the baseline.
const MIN_RATE_INTERVAL: time::Duration = time::Duration::milliseconds(200);

impl ConnectionEntry {
    pub(super) fn new(socket: Socket, at: Stamp, opened: bool, capacity: usize) -> Self {
        Self {
            socket,
            pid: None,
            origin: None,
            first_seen: at.wall,
            opened_at: opened.then_some(at.wall),
            closed_at: None,
            rates: None,
            history: Ring::new(capacity),
            warnings: ConnectionWarnings::default(),
            label: None,
            route_move: None,
            closed_by_kernel: false,
            clock: Lifetime { first_seen: at.mono, opened: opened.then_some(at.mono), closed: None },
            listed_in: 0,
            baseline: None,
            progress: None,
            drops_grew_at: None,
            read_at: at.mono,
            sampled_in: None,
        }
    }

    /// Its socket as the kernel would report it at `now`: the time since the last
    /// send, receive and acknowledgement grown and a timer's time left shrunk by the
    /// time since it was read (an unchanged socket is not read again); a closed
    /// one's as last read.
    #[must_use]
    pub fn socket_at(&self, now: Mono) -> Socket {
        let mut socket = self.socket.clone();
        (socket.timer, socket.tcp) = self.clocks_at(now);
        socket
    }

    /// Its socket's timer and TCP statistics at `now` (see [`Self::socket_at`]),
    /// without copying the rest.
    #[must_use]
    pub fn clocks_at(&self, now: Mono) -> (Option<SocketTimer>, Option<TcpInfo>) {
        // A closed one keeps its last facts, as read (or as its destroy event said).
        let until = if self.clock.closed.is_some() { self.read_at } else { now };
        let elapsed = (until - self.read_at).whole_milliseconds().max(0);
        let ms = u32::try_from(elapsed).unwrap_or(u32::MAX);
        let (mut timer, mut tcp) = (self.socket.timer, self.socket.tcp);
        if let Some(timer) = &mut timer {
            timer.advance_clocks(ms);
        }
        if let Some(tcp) = &mut tcp {
            tcp.advance_clocks(ms);
        }
        (timer, tcp)
    }

    /// The connection as of table number `table` at `now` (`None`: as read): its
    /// socket's clocks advanced ([`Self::socket_at`]) and the samples of the tables
    /// that found it quiet written out ([`Self::samples`]). A copy, for views of one
    /// connection; the store itself does not write quiet connections.
    #[must_use]
    pub fn as_of(&self, table: u64, now: Option<Mono>) -> Self {
        let mut current = self.clone();
        if let Some(now) = now {
            current.socket = self.socket_at(now);
            current.read_at = now;
        }
        current.write_out_repeats(table.saturating_add(1));
        current
    }

    /// Its sparkline samples as of table number `table`, oldest first: the history,
    /// then the last sample once for each table since that found it quiet.
    #[must_use]
    pub fn samples(&self, table: u64) -> Vec<ConnectionSample> {
        let mut samples: Vec<ConnectionSample> = self.history.iter().copied().collect();
        let repeats = self.repeats(table);
        if let Some(&last) = samples.last() {
            samples.extend(std::iter::repeat_n(last, repeats));
        }
        let excess = samples.len().saturating_sub(self.history.capacity());
        samples.drain(..excess);
        samples
    }

    /// Tables since the last sample that found it quiet (none once closed: a close
    /// writes them out).
    fn repeats(&self, table: u64) -> usize {
        match self.sampled_in {
            Some(sampled) if self.closed_at.is_none() => {
                usize::try_from(table.saturating_sub(sampled)).unwrap_or(usize::MAX)
            }
            _ => 0,
        }
    }

    /// Push the repeats of the last sample for the tables before `table` that found
    /// it quiet; returns whether there were any.
    pub(super) fn write_out_repeats(&mut self, table: u64) -> bool {
        let repeats = self.repeats(table.saturating_sub(1)).min(self.history.capacity());
        if let Some(&last) = self.history.last() {
            for _ in 0..repeats {
                self.history.push(last);
            }
        }
        self.sampled_in = Some(table.saturating_sub(1)).filter(|_| self.sampled_in.is_some());
        repeats > 0
    }

    /// Whether nothing a table could change about it would change, were it found
    /// unchanged again: no rate to fall to zero, no retransmission or connect whose
    /// warning waits on the clock.
    pub(super) fn quiet(&self) -> bool {
        if self.closed_at.is_some() {
            return false;
        }
        // A time-wait remnant carries no traffic and raises no warning (a connection
        // storm leaves tens of thousands of them).
        if self.socket.state == SocketState::TimeWait {
            return true;
        }
        let idle = self.rates.is_some_and(|rates| rates.rx_bytes_per_s == 0.0 && rates.tx_bytes_per_s == 0.0);
        let waiting = self.socket.tcp.is_some_and(|tcp| tcp.retransmits > 0 || tcp.lost > 0)
            || self.socket.state == SocketState::SynSent;
        idle && !waiting && self.sampled_in.is_some()
    }

    /// Mark closed at `at`, before table number `table` (the samples of the tables
    /// before that found it quiet are written out); a closed connection has no
    /// current rate (its final counters stay in the socket).
    pub(super) fn close(&mut self, at: Stamp, by_kernel: bool, table: u64) {
        if self.closed_at.is_none() {
            self.write_out_repeats(table);
            self.closed_at = Some(at.wall);
            self.clock.closed = Some(at.mono);
            self.rates = None;
        }
        self.closed_by_kernel |= by_kernel;
    }

    /// Open again: a later dump showed the socket a dump had skipped, or its
    /// `time_wait` remnant.
    pub(super) fn reopen(&mut self) {
        self.closed_at = None;
        self.clock.closed = None;
        self.closed_by_kernel = false;
    }

    /// Take newer kernel facts. A `time_wait` or destroyed socket carries no owner
    /// and often no TCP statistics: the connection's last known ones stay.
    pub(super) fn update(&mut self, socket: Socket, at: Mono) {
        self.read_at = at;
        let drops = |socket: &Socket| socket.memory.map(|memory| memory.drops);
        if let (Some(then), Some(now)) = (drops(&self.socket), drops(&socket))
            && now > then
        {
            self.drops_grew_at = Some(at);
        }
        let tcp = self.socket.tcp;
        let congestion = self.socket.congestion.take();
        let inode = self.socket.inode;
        self.socket = socket;
        if self.socket.tcp.is_none() {
            self.socket.tcp = tcp;
        }
        if self.socket.congestion.is_none() {
            self.socket.congestion = congestion;
        }
        if self.socket.inode == 0 {
            self.socket.inode = inode;
        }
    }

    /// When the kernel's drop count for this socket (`SK_MEMINFO_DROPS`) last grew
    /// between two reads; `None` if it has not since netlens first read it.
    #[must_use]
    pub const fn drops_grew_at(&self) -> Option<Mono> {
        self.drops_grew_at
    }

    /// What a raised warning means for this connection in particular, where that says
    /// more than the warning's name: the interfaces and addresses of a moved route,
    /// the address an orphaned connection lost.
    #[must_use]
    pub fn warning_detail(&self, name: &str) -> Option<String> {
        match name {
            "route_moved" => self.route_move.as_ref().map(RouteMove::text),
            "orphaned" if self.warnings.contains(ConnectionWarnings::ORPHANED) => Some(format!(
                "its local address {} was removed from every interface",
                self.socket.local.ip().to_canonical()
            )),
            _ => None,
        }
    }

    /// How long it has existed as far as netlens knows, at `now`, on the wall clock:
    /// wrong by as much as the clock stepped in between; prefer [`Self::lifetime`].
    #[must_use]
    pub fn age(&self, now: Timestamp) -> time::Duration {
        self.closed_at.unwrap_or(now) - self.opened_at.unwrap_or(self.first_seen)
    }

    /// How long it has existed as far as netlens knows, at `now` on the monotonic
    /// clock (e.g. [`crate::Store::updated_mono`]): unmoved by wall-clock steps.
    #[must_use]
    pub fn lifetime(&self, now: Mono) -> time::Duration {
        self.clock.closed.unwrap_or(now) - self.clock.opened.unwrap_or(self.clock.first_seen)
    }

    /// Whether it opened and closed within `window`.
    pub(super) fn short_lived(&self, window: time::Duration) -> bool {
        match (self.clock.opened, self.clock.closed) {
            (Some(opened), Some(closed)) => closed - opened <= window,
            // Seen only by its destroy event: it lived between two dumps.
            (None, Some(closed)) => closed == self.clock.first_seen,
            _ => false,
        }
    }

    /// When it opened, or was first seen, on the monotonic clock.
    pub(super) fn opened_mono(&self) -> Mono {
        self.clock.opened.unwrap_or(self.clock.first_seen)
    }

    /// Fold a TCP counter reading of table number `table` into the rates and the
    /// history; `previous`: when the table before was folded.
    pub(super) fn sample_tcp(&mut self, at: Mono, table: u64, previous: Option<Mono>) {
        let Some(tcp) = self.socket.tcp else { return };
        let rx = tcp.bytes_received.unwrap_or(0);
        let tx = tcp.bytes_acked.unwrap_or(0);
        // Quiet through the table before: its counters had not moved then, so the
        // rate is over the time since, not since it went quiet.
        if self.write_out_repeats(table)
            && let (Some(baseline), Some(previous)) = (&mut self.baseline, previous)
        {
            baseline.0 = previous;
        }
        if let Some((then, old_rx, old_tx)) = self.baseline {
            let elapsed = at - then;
            if elapsed < MIN_RATE_INTERVAL {
                return;
            }
            let elapsed = elapsed.as_seconds_f64();
            self.rates = (rx >= old_rx && tx >= old_tx).then(|| ConnectionRates {
                rx_bytes_per_s: (rx - old_rx) as f64 / elapsed,
                tx_bytes_per_s: (tx - old_tx) as f64 / elapsed,
            });
        }
        self.baseline = Some((at, rx, tx));
        let rates = self.rates.unwrap_or_default();
        self.history.push(ConnectionSample {
            rtt_ms: tcp.rtt_ms as f32,
            rx_bytes_per_s: rates.rx_bytes_per_s as f32,
            tx_bytes_per_s: rates.tx_bytes_per_s as f32,
        });
        self.sampled_in = Some(table);
    }

    /// The warnings that hold now, from the latest facts.
    pub(super) fn current_warnings(
        &mut self,
        at: Mono,
        limits: &ConnectionLimits,
        fd_pressure: bool,
    ) -> ConnectionWarnings {
        let mut warnings = 0;
        if let Some(tcp) = self.socket.tcp {
            let acked = tcp.bytes_acked.unwrap_or(0);
            let since = match self.progress {
                Some((since, old)) if old == acked => since,
                _ => at,
            };
            self.progress = Some((since, acked));
            let retransmitting = tcp.retransmits > 0 || tcp.lost > 0;
            if self.socket.state == SocketState::Established
                && retransmitting
                && at - since >= limits.stall_after
            {
                warnings |= ConnectionWarnings::STALLED.0;
            }
            let zero_window = tcp.snd_wnd == Some(0)
                || self.socket.timer.is_some_and(|timer| timer.kind == TimerKind::ZeroWindowProbe);
            if zero_window && self.socket.state == SocketState::Established {
                warnings |= ConnectionWarnings::ZERO_WINDOW.0;
            }
            let sent = tcp.bytes_sent.unwrap_or(0);
            let retrans = tcp.bytes_retrans.unwrap_or(0);
            // A ratio over a few packets means nothing: wait for 64 KB.
            if sent >= 64 * 1024 && retrans * 10 > sent {
                warnings |= ConnectionWarnings::HIGH_RETRANSMITS.0;
            }
        }
        if self.socket.state == SocketState::SynSent && at - self.clock.first_seen >= limits.syn_sent_after {
            warnings |= ConnectionWarnings::LONG_SYN_SENT.0;
        }
        if fd_pressure {
            warnings |= ConnectionWarnings::NEAR_FD_LIMIT.0;
        }
        ConnectionWarnings(warnings)
    }
}
