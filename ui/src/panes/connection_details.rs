//! The details view of one connection: every field of the socket and of the kernel's
//! TCP statistics with units, the timer, memory and congestion control, the owning
//! process, when it opened and closed, its warnings and label explained, and RTT and
//! throughput trends. Two columns on wide screens, one scrolled column on narrow ones.

use netlens_collectors::attribution::cgroup_owner;
use netlens_collectors::model::{
    Attribution, ProcessInfo, Protocol, SocketMemory, TcpInfo, TimerKind, Timestamp,
};
use netlens_collectors::{ConnectionEntry, ConnectionLabel, ConnectionWarnings, Store};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::connection_model::{Owner, owner};
use super::tones::socket_state_style;
use crate::context::Paint;
use crate::format::{Ago, BitRate, Bytes, Clock, Count, Millis, Rate, Span};
use crate::state::ConnectionDetails;
use crate::theme::Theme;
use crate::widgets::columns::{render_columns, split};
use crate::widgets::marks::{note, scroll_marks};
use crate::widgets::pane::pane;
use crate::widgets::sparkline::{bars, bars_scaled};
use crate::widgets::text::{Doc, fill, wrap};

/// Label column width.
const LABEL: usize = 11;

/// RTT trends are scaled to at least this peak (ms), so a steady LAN link draws low.
const RTT_FLOOR_MS: f64 = 1.0;

fn label(text: &str) -> String {
    format!("{text:<LABEL$}")
}

/// What a warning means and what usually causes it.
pub(crate) fn warning_explanation(name: &str) -> &'static str {
    match name {
        "stalled" => "retransmitting with no acknowledged progress: the peer or the path stopped answering",
        "long_syn_sent" => "still connecting: no answer to the SYN (host down, or a firewall dropping it)",
        "zero_window" => "the peer advertises a zero receive window: its application is not reading",
        "high_retransmits" => "over 10 % of the bytes sent were retransmitted: loss on the path",
        "near_fd_limit" => "the process is above 90 % of its open-file limit: new sockets may fail (EMFILE)",
        "orphaned" => {
            "its local address is no longer on any interface: it cannot send until the address \
                       returns (a lease changed, an interface went away)"
        }
        "route_moved" => {
            "new connections to this host would take another interface or source address than \
                          this one (normal after a VPN comes up); it keeps the address it started with"
        }
        _ => "",
    }
}

/// What a label means; labels explain, they never alarm.
pub(crate) fn label_explanation(label: ConnectionLabel) -> String {
    match label {
        ConnectionLabel::Burst { count } => format!(
            "one of {count} short connections from this process to this host within a second: retries, \
             a scan or a chatty client; not an error"
        ),
        ConnectionLabel::AlsoRan => "the losing attempt of a dual-stack (Happy Eyeballs) race: the other \
                                     address family connected first; normal"
            .to_owned(),
    }
}

const fn timer_name(kind: TimerKind) -> &'static str {
    match kind {
        TimerKind::Retransmit => "retransmit",
        TimerKind::Keepalive => "keepalive",
        TimerKind::TimeWait => "time_wait",
        TimerKind::ZeroWindowProbe => "zero-window probe",
        TimerKind::Other => "other",
    }
}

/// `tcp 192.168.1.23:51514 → example.org:443`.
fn heading(store: &Store, entry: &ConnectionEntry) -> String {
    let socket = &entry.socket;
    let remote = match store.connections().name_of(socket.remote.ip()).flatten() {
        Some(name) => format!("{name}:{}", socket.remote.port()),
        None if socket.remote.ip().is_unspecified() => "*".to_owned(),
        None => socket.remote.to_string(),
    };
    format!("{} {} → {remote}", socket.protocol.as_str(), socket.local)
}

/// The socket: state, endpoints, identity, times, queues, timer.
fn connection(store: &Store, entry: &ConnectionEntry, theme: &Theme, now: Timestamp) -> Doc {
    let socket = &entry.socket;
    let mut doc = Doc::default();
    doc.line([("Connection", theme.title())]);
    let mut state = vec![
        (label("state"), theme.muted()),
        (socket.state.as_str().to_owned(), socket_state_style(theme, entry)),
    ];
    if let Some(closed) = entry.closed_at {
        state.push(("  closed ".to_owned(), theme.muted()));
        state.push((Ago { at: closed, now }.to_string(), theme.closed()));
        state.push((" · final counters".to_owned(), theme.muted()));
    }
    doc.line(state);
    doc.line([
        (label("protocol"), theme.muted()),
        (format!("{} · {}", socket.protocol.as_str(), socket.family.as_str()), theme.text()),
    ]);
    doc.line([(label("local"), theme.muted()), (socket.local.to_string(), theme.text())]);
    let mut remote = vec![(label("remote"), theme.muted())];
    if socket.remote.ip().is_unspecified() {
        remote.push(("* (no peer)".to_owned(), theme.muted()));
    } else {
        remote.push((socket.remote.to_string(), theme.text()));
        match store.connections().name_of(socket.remote.ip()) {
            Some(Some(name)) => remote.push((format!("  {name}"), theme.accent())),
            Some(None) => remote.push(("  no reverse-DNS name".to_owned(), theme.muted())),
            None => remote.push(("  name not looked up yet".to_owned(), theme.muted())),
        }
    }
    doc.line(remote);
    let interface = match socket.interface_index {
        Some(index) => store
            .interface(index)
            .map_or_else(|| format!("index {index}"), |i| format!("{} (index {index})", i.info.name)),
        None => "any (not bound to a device)".to_owned(),
    };
    doc.line([(label("interface"), theme.muted()), (interface, theme.text())]);
    doc.line([
        (label("identity"), theme.muted()),
        (format!("uid {} · inode {} · cookie {:#x}", socket.uid, socket.inode, socket.cookie), theme.text()),
    ]);
    let opened = match entry.opened_at {
        Some(at) => vec![
            (label("opened"), theme.muted()),
            (Ago { at, now }.to_string(), theme.text()),
            (format!(" at {} UTC", Clock(at)), theme.muted()),
        ],
        None => vec![
            (label("opened"), theme.muted()),
            ("before netlens saw it".to_owned(), theme.text()),
            (format!(" · first seen {}", Ago { at: entry.first_seen, now }), theme.muted()),
        ],
    };
    doc.line(opened);
    let age = Span(entry.age(now).whole_seconds().max(0).unsigned_abs());
    let at_least = if entry.opened_at.is_none() { "at least " } else { "" };
    doc.line([(label("age"), theme.muted()), (format!("{at_least}{age}"), theme.text())]);
    doc.line([
        (label("queues"), theme.muted()),
        (
            format!(
                "receive {} · send {}",
                Bytes(u64::from(socket.recv_queue)),
                Bytes(u64::from(socket.send_queue))
            ),
            theme.text(),
        ),
    ]);
    let timer = match socket.timer {
        Some(timer) => vec![
            (label("timer"), theme.muted()),
            (
                timer_name(timer.kind).to_owned(),
                if timer.kind == TimerKind::Retransmit { theme.warn() } else { theme.text() },
            ),
            (format!(" fires in {}", Millis(Some(f64::from(timer.expires_ms)))), theme.text()),
            (format!(" · {} retries", timer.retransmits), theme.muted()),
        ],
        None => vec![(label("timer"), theme.muted()), ("none armed".to_owned(), theme.muted())],
    };
    doc.line(timer);
    doc.line([
        (label("congestion"), theme.muted()),
        (socket.congestion.clone().unwrap_or_else(|| "–".to_owned()), theme.text()),
        (
            format!("  tos {}", socket.tos.map_or_else(|| "–".to_owned(), |t| format!("{t:#04x}"))),
            theme.muted(),
        ),
    ]);
    doc
}

/// Warnings and the label, each with what it means, wrapped to `width`.
fn notes(entry: &ConnectionEntry, theme: &Theme, width: u16) -> Doc {
    let width = usize::from(width).saturating_sub(2).max(20);
    let mut doc = Doc::default();
    let count = entry.warnings.names().count() + usize::from(entry.label.is_some());
    doc.line([(format!("Warnings and labels ({count})"), theme.title())]);
    if count == 0 {
        doc.line([("  none: nothing unusual seen".to_owned(), theme.muted())]);
    }
    for name in entry.warnings.names() {
        // A fact (a moved route) is marked like a label, not like a problem.
        let (mark, style) = if ConnectionWarnings::is_informational(name) {
            ("~ ", theme.info())
        } else {
            ("! ", theme.warn())
        };
        doc.line([(mark.to_owned(), style), (name.to_owned(), style)]);
        for line in wrap(warning_explanation(name), width) {
            doc.line([(format!("  {line}"), theme.text())]);
        }
        // What it means for this connection: which interfaces, which address.
        if let Some(detail) = entry.warning_detail(name) {
            for line in wrap(&detail, width) {
                doc.line([(format!("  {line}"), theme.muted())]);
            }
        }
    }
    if let Some(label) = entry.label {
        let name = match label {
            ConnectionLabel::Burst { .. } => "burst",
            ConnectionLabel::AlsoRan => "also-ran",
        };
        doc.line([
            ("~ ".to_owned(), theme.info()),
            (name.to_owned(), theme.info()),
            (format!(": {}", label.text()), theme.muted()),
        ]);
        for line in wrap(&label_explanation(label), width) {
            doc.line([(format!("  {line}"), theme.text())]);
        }
    }
    doc
}

/// The owning process; a long command line wraps to `width` (three lines at most).
fn process(store: &Store, entry: &ConnectionEntry, theme: &Theme, width: u16) -> Doc {
    let mut doc = Doc::default();
    doc.line([("Process", theme.title())]);
    let connections = store.connections();
    let process: &ProcessInfo = match owner(entry, connections) {
        Owner::Process(process) => process,
        Owner::Unknown(why) => {
            let reason = why.reason(entry.closed_at.is_some());
            doc.line([
                (label("owner"), theme.muted()),
                ("– ".to_owned(), theme.muted()),
                (reason, theme.muted()),
            ]);
            return doc;
        }
    };
    doc.line([(label("pid"), theme.muted()), (process.pid.to_string(), theme.text())]);
    doc.line([(label("name"), theme.muted()), (process.name.clone(), theme.accent())]);
    doc.line([(label("user"), theme.muted()), (process.user.clone(), theme.text())]);
    let room = usize::from(width).saturating_sub(LABEL).max(20);
    if let Some(origin) = &entry.origin {
        let how = match origin.attribution {
            Attribution::Bpf => "BPF, as it connected or sent",
            Attribution::Proc => "/proc, among its descriptors",
        };
        doc.line([(label("found by"), theme.muted()), (how.to_owned(), theme.text())]);
        if let Some(path) = &origin.cgroup {
            let text = match cgroup_owner(path) {
                Some(owner) => format!("{owner} ({path})"),
                None => path.to_string(),
            };
            for (i, line) in wrap(&text, room).into_iter().take(2).enumerate() {
                doc.line([(label(if i == 0 { "cgroup" } else { "" }), theme.muted()), (line, theme.text())]);
            }
        }
    }
    for (i, line) in wrap(&process.cmdline, room).into_iter().take(3).enumerate() {
        doc.line([(label(if i == 0 { "command" } else { "" }), theme.muted()), (line, theme.text())]);
    }
    let files = match (process.open_files, process.open_files_limit) {
        (Some(open), Some(limit)) if limit > 0 => {
            let share = open as f64 * 100.0 / limit as f64;
            let style = if open * 10 >= limit * 9 { theme.warn() } else { theme.text() };
            vec![
                (label("open files"), theme.muted()),
                (format!("{} of {}", Count(open), Count(limit)), style),
                (format!(" ({share:.0} % of the limit)"), theme.muted()),
            ]
        }
        (Some(open), _) => {
            vec![(label("open files"), theme.muted()), (Count(open).to_string(), theme.text())]
        }
        _ => vec![(label("open files"), theme.muted()), ("not readable".to_owned(), theme.muted())],
    };
    doc.line(files);
    doc
}

/// The kernel's TCP statistics, every field with its unit.
fn tcp(tcp: Option<&TcpInfo>, protocol: Protocol, theme: &Theme) -> Doc {
    let mut doc = Doc::default();
    doc.line([("TCP statistics", theme.title())]);
    let Some(tcp) = tcp else {
        let why = if protocol == Protocol::Udp {
            "UDP has none"
        } else {
            "not reported in this state (listening and time_wait sockets carry none)"
        };
        doc.line([(format!("  {why}"), theme.muted())]);
        return doc;
    };
    tcp_path(&mut doc, tcp, theme);
    tcp_volume(&mut doc, tcp, theme);
    doc
}

/// How the path behaves: RTT, windows, segment sizes, retransmissions.
fn tcp_path(doc: &mut Doc, tcp: &TcpInfo, theme: &Theme) {
    let opt_count = |v: Option<u32>| v.map_or_else(|| "–".to_owned(), |v| Count(u64::from(v)).to_string());
    let line = |doc: &mut Doc, name: &str, text: String, style: Style| {
        doc.line([(label(name), theme.muted()), (text, style)]);
    };
    let rtt = if tcp.rtt_ms > 0.0 {
        format!(
            "{} ± {} · min {} · rto {}",
            Millis(Some(tcp.rtt_ms)),
            Millis(Some(tcp.rttvar_ms)),
            Millis(tcp.min_rtt_ms),
            Millis(Some(tcp.rto_ms))
        )
    } else {
        format!("no sample yet · rto {}", Millis(Some(tcp.rto_ms)))
    };
    line(doc, "rtt", rtt, theme.text());
    line(
        doc,
        "window",
        format!(
            "cwnd {} · ssthresh {} · peer window {}",
            tcp.cwnd,
            tcp.ssthresh.map_or_else(|| "∞".to_owned(), |s| s.to_string()),
            tcp.snd_wnd.map_or_else(|| "–".to_owned(), |w| Bytes(u64::from(w)).to_string()),
        ),
        theme.text(),
    );
    line(
        doc,
        "segments",
        format!(
            "mss {} B · pmtu {} B · in {} · out {}",
            tcp.mss,
            tcp.pmtu,
            opt_count(tcp.segs_in),
            opt_count(tcp.segs_out)
        ),
        theme.text(),
    );
    let retrans_style =
        if tcp.total_retrans > 0 || tcp.retransmits > 0 { theme.warn() } else { theme.text() };
    line(
        doc,
        "retransmit",
        format!(
            "{} now · {} total · {} lost · reordering {}",
            tcp.retransmits, tcp.total_retrans, tcp.lost, tcp.reordering
        ),
        retrans_style,
    );
}

/// What went through: bytes, rates, limits, last activity.
fn tcp_volume(doc: &mut Doc, tcp: &TcpInfo, theme: &Theme) {
    let opt_bytes = |v: Option<u64>| v.map_or_else(|| "–".to_owned(), |v| Bytes(v).to_string());
    let opt_ms = |v: Option<u64>| v.map_or_else(|| "–".to_owned(), |v| Millis(Some(v as f64)).to_string());
    let line = |doc: &mut Doc, name: &str, text: String, style: Style| {
        doc.line([(label(name), theme.muted()), (text, style)]);
    };
    line(
        doc,
        "bytes",
        format!("received {} · acked {}", opt_bytes(tcp.bytes_received), opt_bytes(tcp.bytes_acked)),
        theme.text(),
    );
    line(
        doc,
        "",
        format!("sent {} · retransmitted {}", opt_bytes(tcp.bytes_sent), opt_bytes(tcp.bytes_retrans)),
        theme.text(),
    );
    line(
        doc,
        "rates",
        format!(
            "delivery {} · pacing {}",
            tcp.delivery_rate_bps.map_or_else(|| "–".to_owned(), |r| BitRate(r).to_string()),
            tcp.pacing_rate_bps.map_or_else(|| "unlimited".to_owned(), |r| BitRate(r).to_string()),
        ),
        theme.text(),
    );
    line(doc, "busy", opt_ms(tcp.busy_time_ms), theme.text());
    line(
        doc,
        "limited",
        format!(
            "by peer window {} · by send buffer {}",
            opt_ms(tcp.rwnd_limited_ms),
            opt_ms(tcp.sndbuf_limited_ms)
        ),
        theme.text(),
    );
    line(
        doc,
        "last",
        format!(
            "send {} · receive {} · ack {} ago",
            Millis(Some(f64::from(tcp.last_send_ms))),
            Millis(Some(f64::from(tcp.last_recv_ms))),
            Millis(Some(f64::from(tcp.last_ack_recv_ms)))
        ),
        theme.text(),
    );
}

/// Socket memory.
fn memory(memory: Option<&SocketMemory>, theme: &Theme) -> Doc {
    let mut doc = Doc::default();
    doc.line([("Socket memory", theme.title())]);
    let Some(m) = memory else {
        doc.line([("  not reported".to_owned(), theme.muted())]);
        return doc;
    };
    let b = |v: u32| Bytes(u64::from(v)).to_string();
    doc.line([
        (label("receive"), theme.muted()),
        (format!("{} used of a {} buffer", b(m.rmem_alloc), b(m.rcvbuf)), theme.text()),
    ]);
    doc.line([
        (label("send"), theme.muted()),
        (
            format!("{} used of a {} buffer · {} queued", b(m.wmem_alloc), b(m.sndbuf), b(m.wmem_queued)),
            theme.text(),
        ),
    ]);
    let drop_style = if m.drops > 0 { theme.error() } else { theme.text() };
    doc.line([
        (label("other"), theme.muted()),
        (
            format!("forward {} · options {} · backlog {} · ", b(m.fwd_alloc), b(m.optmem), m.backlog),
            theme.text(),
        ),
        (format!("drops {}", m.drops), drop_style),
    ]);
    doc
}

/// Rates now and the trends from the history.
fn traffic(entry: &ConnectionEntry, theme: &Theme, width: u16) -> Doc {
    let mut doc = Doc::default();
    doc.line([("Traffic", theme.title())]);
    let unknown = if entry.socket.protocol == Protocol::Udp {
        "n/a: UDP rates need packet capture"
    } else {
        "– (after the next sample)"
    };
    match entry.rates {
        Some(rates) => doc.line([
            (label("rate"), theme.muted()),
            ("rx ".to_owned(), theme.muted()),
            (Rate(Some(rates.rx_bytes_per_s)).to_string(), theme.rx()),
            ("  tx ".to_owned(), theme.muted()),
            (Rate(Some(rates.tx_bytes_per_s)).to_string(), theme.tx()),
        ]),
        None => doc.line([(label("rate"), theme.muted()), (unknown.to_owned(), theme.muted())]),
    }
    let history = &entry.history;
    if history.is_empty() {
        doc.line([(label("trends"), theme.muted()), ("no samples yet".to_owned(), theme.muted())]);
        return doc;
    }
    let spark = usize::from(width.saturating_sub(LABEL as u16)).min(history.len());
    let rx = bars(history.iter().map(|s| f64::from(s.rx_bytes_per_s)), spark);
    let tx = bars(history.iter().map(|s| f64::from(s.tx_bytes_per_s)), spark);
    doc.line([(label("rx trend"), theme.muted()), (rx, theme.rx())]);
    doc.line([(label("tx trend"), theme.muted()), (tx, theme.tx())]);
    let rtts: Vec<f64> =
        history.iter().map(|s| f64::from(s.rtt_ms)).filter(|r| r.is_finite() && *r > 0.0).collect();
    if rtts.is_empty() {
        let samples = history.len();
        let plural = if samples == 1 { "" } else { "s" };
        doc.line([(format!("{:LABEL$}{samples} sample{plural}, one per refresh", ""), theme.muted())]);
    } else {
        // Scaled so the slowest sample draws at three quarters: a steady RTT reads as a
        // steady line, not as a wall of alarm.
        let peak = rtts.iter().copied().fold(RTT_FLOOR_MS, f64::max) * 4.0 / 3.0;
        let rtt = bars_scaled(history.iter().map(|s| f64::from(s.rtt_ms)), spark, peak);
        doc.line([(label("rtt trend"), theme.muted()), (rtt, theme.accent())]);
        let (low, high) = rtts.iter().fold((f64::MAX, 0.0_f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let samples = history.len();
        let plural = if samples == 1 { "" } else { "s" };
        let (low, high) = (Millis(Some(low)), Millis(Some(high)));
        doc.line([(format!("{:LABEL$}{samples} sample{plural} · rtt {low} – {high}", ""), theme.muted())]);
    }
    doc
}

/// The lines of each column: one, or two when `right` exists.
fn columns(
    store: &Store,
    entry: &ConnectionEntry,
    theme: &Theme,
    now: Timestamp,
    (left, right): (Rect, Option<Rect>),
) -> (Doc, Option<Doc>) {
    let mut main = connection(store, entry, theme, now);
    main.blank();
    main.append(notes(entry, theme, left.width));
    main.blank();
    main.append(process(store, entry, theme, left.width));
    let side_width = right.map_or(left.width, |r| r.width);
    let mut side = traffic(entry, theme, side_width);
    side.blank();
    side.append(tcp(entry.socket.tcp.as_ref(), entry.socket.protocol, theme));
    side.blank();
    side.append(memory(entry.socket.memory.as_ref(), theme));
    if right.is_some() {
        return (main, Some(side));
    }
    main.blank();
    main.append(side);
    (main, None)
}

/// A preview of the selected connection under a table that leaves room for one: the
/// socket and what is unusual about it beside its traffic and TCP statistics.
pub(crate) fn preview(
    buf: &mut Buffer,
    area: Rect,
    store: &Store,
    entry: &ConnectionEntry,
    theme: &Theme,
    now: Timestamp,
    hint: &str,
) {
    let entry = &current(store, entry);
    let heading = heading(store, entry);
    let title = [(heading.as_str(), theme.title())];
    let inner = pane(buf, area, theme.border(), &title, &[(hint, theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let (left, right) = split(inner);
    let mut main = Doc::default();
    if !entry.warnings.is_empty() || entry.label.is_some() {
        main.append(notes(entry, theme, left.width));
        main.blank();
    }
    main.append(connection(store, entry, theme, now));
    let side_width = right.map_or(left.width, |r| r.width);
    let mut side = traffic(entry, theme, side_width);
    side.blank();
    side.append(tcp(entry.socket.tcp.as_ref(), entry.socket.protocol, theme));
    let tallest = if let Some(right) = right {
        for y in right.top()..right.bottom() {
            buf[(right.x - 2, y)].set_char('│').set_style(theme.border());
        }
        side.render(buf, right, 0);
        main.len().max(side.len())
    } else {
        main.blank();
        main.append(side);
        main.len()
    };
    main.render(buf, left, 0);
    scroll_marks(buf, area, 0, usize::from(inner.height), tallest, theme);
}

/// The connection as of the latest socket table: clocks advanced and quiet samples
/// written out (the store leaves quiet connections untouched).
fn current(store: &Store, entry: &ConnectionEntry) -> ConnectionEntry {
    let connections = store.connections();
    entry.as_of(connections.tables(), connections.last_table())
}

/// Draw the details of the open connection into `area`.
pub(crate) fn render(frame: &mut Frame, area: Rect, open: &mut ConnectionDetails, ctx: &Paint<'_>) {
    let Paint { store, theme, now, .. } = *ctx;
    let buf = frame.buffer_mut();
    fill(buf, area, theme.overlay());
    let Some(entry) = store.connections().get(open.cookie).map(|entry| current(store, entry)) else {
        let inner = pane(
            buf,
            area,
            theme.border_focused(),
            &[("Connection", theme.title())],
            &[("esc back", theme.muted())],
        );
        note(
            buf,
            inner,
            "this connection closed and is no longer kept · esc goes back to the list",
            theme.muted(),
        );
        return;
    };
    let entry = &entry;
    let heading = heading(store, entry);
    let owner = match entry.pid.and_then(|pid| store.connections().process(pid)) {
        Some(process) => format!("  {} {}", process.name, process.pid),
        None => String::new(),
    };
    let title = [(heading.as_str(), theme.title()), (owner.as_str(), theme.muted())];
    let inner = pane(buf, area, theme.border_focused(), &title, &[("↑↓ scroll  esc back", theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let (left, right) = split(inner);
    let (main, side) = columns(store, entry, theme, now, (left, right));
    let (overflow, shown) =
        render_columns(buf, area, inner, (left, right), (main, side), open.scroll.line, theme);
    open.scroll.record(overflow, shown);
}
