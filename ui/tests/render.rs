//! Rendering: text snapshots of every tab and overlay at 80×24 and 160×48 from the
//! scripted store, colour dumps per theme, no panic at any small size, and the large
//! store at 200×50.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::fmt::Write as _;

use netlens_collectors::{Store, fake};
use netlens_ui::{Action, StatusLevel, Tab, Theme, UiState, draw, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// Draw a copy of `ui` (drawing records geometry into the state it draws).
fn render_with(store: &Store, ui: &UiState, theme: &Theme, width: u16, height: u16) -> Buffer {
    let mut ui = ui.clone();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, store, &mut ui, theme, fake::NOW)).unwrap();
    terminal.backend().buffer().clone()
}

fn render(ui: &UiState, width: u16, height: u16) -> Buffer {
    render_with(&fake::store(), ui, &Theme::default(), width, height)
}

/// The screen as text, trailing blanks trimmed.
fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Runs of identical style per row: `row: first-last fg bg modifiers`.
fn styles(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let _ = write!(out, "{y:2}:");
        let mut x = 0;
        while x < area.width {
            let cell = &buffer[(x, y)];
            let key = (cell.fg, cell.bg, cell.modifier);
            let start = x;
            while x < area.width && {
                let next = &buffer[(x, y)];
                (next.fg, next.bg, next.modifier) == key
            } {
                x += 1;
            }
            let _ = write!(out, " [{start}-{}] {}/{}", x - 1, colour(key.0), colour(key.1));
            if !key.2.is_empty() {
                let _ = write!(out, " {:?}", key.2);
            }
        }
        out.push('\n');
    }
    out
}

fn colour(colour: ratatui::style::Color) -> String {
    match colour {
        ratatui::style::Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        other => format!("{other:?}"),
    }
}

/// The state after `actions` on `tab`, each key followed by a frame as in the app (a
/// frame records the geometry the next key reads).
fn state(store: &Store, tab: Tab, width: u16, height: u16, actions: &[Action]) -> UiState {
    let mut ui = UiState::new();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let theme = Theme::default();
    for action in [Action::Resize(width, height), Action::SelectTab(tab)].iter().chain(actions) {
        update(&mut ui, store, *action);
        terminal.draw(|frame| draw(frame, store, &mut ui, &theme, fake::NOW)).unwrap();
    }
    ui
}

fn typed(text: &str) -> Vec<Action> {
    text.chars().map(Action::PromptInput).collect()
}

#[test]
fn every_tab_at_80x24_and_160x48() {
    let store = fake::store();
    for (width, height) in SIZES {
        for tab in Tab::ALL {
            let ui = state(&store, tab, width, height, &[]);
            let name = format!("{}_{width}x{height}", tab.title().to_lowercase());
            insta::assert_snapshot!(name, text(&render(&ui, width, height)));
        }
    }
}

#[test]
fn interface_details_and_help_overlays() {
    let store = fake::store();
    for (width, height) in SIZES {
        // wlan0: a temporary and a tentative address, receive errors.
        let ui = state(&store, Tab::Interfaces, width, height, &[Action::Down, Action::Down, Action::Open]);
        insta::assert_snapshot!(format!("details_{width}x{height}"), text(&render(&ui, width, height)));
        let ui = state(&store, Tab::Routes, width, height, &[Action::Help]);
        insta::assert_snapshot!(format!("help_{width}x{height}"), text(&render(&ui, width, height)));
    }
}

#[test]
fn paths_details_lookup_and_add_target() {
    let store = fake::store();
    let mut lookup = vec![Action::RouteLookup];
    lookup.extend(typed("1.1.1.1"));
    lookup.push(Action::PromptSubmit);
    let mut pending = vec![Action::RouteLookup];
    pending.extend(typed("10.8.0.7 mark=0xca6c"));
    pending.push(Action::PromptSubmit);
    let mut lookup_error = vec![Action::RouteLookup];
    lookup_error.extend(typed("10.8.0.7 mark=seven"));
    let mut add_error = vec![Action::AddTarget];
    add_error.extend(typed("example.com:99999,probe=tcp"));
    let cases: [(&str, Vec<Action>); 6] = [
        // example.org:443: checks, a probe with one failure, a Happy Eyeballs race.
        ("path_details", vec![Action::Down, Action::Down, Action::Open]),
        // The default IPv4 path: moved to a tunnel and back.
        ("path_details_default", vec![Action::Open]),
        ("route_lookup", lookup),
        ("route_lookup_pending", pending),
        ("route_lookup_error", lookup_error),
        ("add_target_error", add_error),
    ];
    for (width, height) in SIZES {
        for (name, actions) in &cases {
            let ui = state(&store, Tab::Paths, width, height, actions);
            insta::assert_snapshot!(format!("{name}_{width}x{height}"), text(&render(&ui, width, height)));
        }
    }
    // The split tunnel whose probe has just failed: `→ failing?` while debounced.
    let ui = state(&store, Tab::Paths, 120, 36, &[Action::Bottom]);
    let screen = text(&render(&ui, 120, 36));
    // On the tunnel's own row of the table, and its tunnel mode in the preview below
    // (this width has no NOTES column), not merely somewhere on the screen.
    let row = screen.lines().find(|line| line.contains("10.8.0.1,probe=icmp"));
    assert!(row.is_some_and(|row| row.contains("satisfied → failing?")), "{screen}");
    let available = screen.lines().find(|line| line.starts_with("│ available"));
    assert!(available.is_some_and(|line| line.contains("· split")), "{screen}");
}

#[test]
fn paths_colours() {
    let store = fake::store();
    let ui = state(&store, Tab::Paths, 120, 30, &[Action::Down]);
    insta::assert_snapshot!(
        "styles_paths_dark",
        styles(&render_with(&store, &ui, &Theme::default(), 120, 30))
    );
}

#[test]
fn no_paths_says_why() {
    use netlens_collectors::Payload;
    use netlens_collectors::model::{SourceId, SourceState, SourceStatus};
    let mut store = Store::default();
    let ui = state(&store, Tab::Paths, 100, 24, &[]);
    let screen = text(&render_with(&store, &ui, &Theme::default(), 100, 24));
    assert!(screen.contains("waiting for the paths source…"), "{screen}");
    let detail = "route lookups need rtnetlink: netlink unavailable";
    let status = SourceStatus { name: SourceId::Paths, status: SourceState::Failed, detail: detail.into() };
    store.apply(fake::event(fake::NOW, SourceId::Paths, Payload::Status(status)));
    let screen = text(&render_with(&store, &ui, &Theme::default(), 100, 24));
    assert!(screen.contains("paths source failed: route lookups need rtnetlink"), "{screen}");
    let mut ok = Store::default();
    let status = SourceStatus { name: SourceId::Paths, status: SourceState::Ok, detail: String::new() };
    ok.apply(fake::event(fake::NOW, SourceId::Paths, Payload::Status(status)));
    let screen = text(&render_with(&ok, &ui, &Theme::default(), 100, 24));
    assert!(screen.contains("no paths yet"), "{screen}");
}

#[test]
fn connections_normal_grouped_details_and_filter_error() {
    let store = fake::store();
    let mut error = vec![Action::Filter];
    error.extend(typed("port:443 rtt>fast"));
    error.push(Action::PromptSubmit);
    let mut filtered = vec![Action::Filter];
    filtered.extend(typed("proc:firefox"));
    filtered.push(Action::PromptSubmit);
    let mut filtered_then_error = filtered.clone();
    filtered_then_error.push(Action::Filter);
    filtered_then_error.extend(typed(" remote:10.0.0.0/99"));
    let cases: [(&str, Vec<Action>); 6] = [
        ("connections_selected", vec![Action::Down, Action::Down]),
        ("connections_grouped", vec![Action::ToggleGroup, Action::Down]),
        // rsync's stalled upload: warnings, a retransmit timer, TCP info.
        (
            "connections_details",
            vec![
                Action::Down,
                Action::Down,
                Action::Down,
                Action::Down,
                Action::Down,
                Action::Down,
                Action::Open,
            ],
        ),
        ("connections_filter_error", error),
        ("connections_filtered", filtered),
        ("connections_filtered_then_error", filtered_then_error),
    ];
    for (width, height) in SIZES {
        for (name, actions) in &cases {
            let ui = state(&store, Tab::Connections, width, height, actions);
            insta::assert_snapshot!(format!("{name}_{width}x{height}"), text(&render(&ui, width, height)));
        }
    }
    // A burst probe: dimmed, closed, and its label explained in the details.
    let ui = state(&store, Tab::Connections, 120, 40, &[Action::ToggleClosed, Action::Bottom, Action::Open]);
    insta::assert_snapshot!("connections_details_closed_burst_120x40", text(&render(&ui, 120, 40)));
}

#[test]
fn hidden_owners_and_missing_capture_are_said_once() {
    use netlens_collectors::Payload;
    use netlens_collectors::model::{SourceId, SourceState, SourceStatus};
    // A fresh store: an owner once seen would be remembered.
    let mut store = Store::default();
    let at = fake::NOW;
    let detail = "needs CAP_NET_RAW for UDP byte counts: run as root or setcap cap_net_raw+ep";
    let status =
        SourceStatus { name: SourceId::Capture, status: SourceState::Degraded, detail: detail.into() };
    store.apply(fake::event(at, SourceId::Capture, Payload::Status(status)));
    let mut table = fake::connection_table(30);
    // Unprivileged: root's sshd sockets cannot be attributed.
    let root_inodes: Vec<u64> = table.sockets.iter().filter(|s| s.uid == 0).map(|s| s.inode).collect();
    table.owners.retain(|(inode, _)| !root_inodes.contains(inode));
    table.all_owners_visible = false;
    store.apply(fake::event(at, SourceId::Connections, Payload::Sockets(table)));
    let ui = state(&store, Tab::Connections, 160, 48, &[]);
    let screen = text(&render_with(&store, &ui, &Theme::default(), 160, 48));
    let once = |needle: &str| screen.matches(needle).count();
    assert_eq!(once("– owner unknown: other users' sockets need root"), 1, "{screen}");
    assert_eq!(once("UDP rates n/a: needs CAP_NET_RAW"), 1, "{screen}");
    let sshd_rows = screen.lines().filter(|l| l.contains("listen") && l.contains(":22 ")).count();
    assert_eq!(sshd_rows, 2, "{screen}");
    assert!(
        screen
            .lines()
            .filter(|l| l.contains("listen") && l.contains(":22 "))
            .all(|l| l.contains(" – ") && !l.contains(" ? ") && !l.contains("pid ") && !l.contains("sshd")),
        "each unattributed row shows –, nothing more:\n{screen}"
    );
}

#[test]
fn connections_colours() {
    let store = fake::store();
    let ui = state(&store, Tab::Connections, 100, 30, &[Action::Down]);
    insta::assert_snapshot!(
        "styles_connections_dark",
        styles(&render_with(&store, &ui, &Theme::default(), 100, 30))
    );
}

#[test]
fn prompt_pause_and_status_message() {
    let store = fake::store();
    let mut actions = vec![Action::Filter];
    actions.extend(typed("kind:link"));
    actions.push(Action::PromptSubmit);
    actions.push(Action::Down);
    actions.push(Action::TogglePause);
    actions.push(Action::Filter);
    // The prompt opens with the applied filter selected; → keeps it to add to it.
    actions.push(Action::PromptKeep);
    actions.extend(typed(" wlan"));
    let mut ui = state(&store, Tab::Events, 80, 24, &actions);
    ui.set_status(
        "export failed: ./snapshots: Permission denied (os error 13)",
        StatusLevel::Error,
        fake::NOW,
    );
    insta::assert_snapshot!("events_filtered_paused_prompt_80x24", text(&render(&ui, 80, 24)));
}

/// The prompts as a user meets them at 80×24: a duplicate target refused inline, the
/// question before a removal, a previous entry selected, and an event shown whole.
#[test]
fn prompts_confirmation_and_event_details_80x24() {
    let store = fake::store();
    let mut duplicate = vec![Action::AddTarget];
    duplicate.extend(typed("db.internal"));
    duplicate.push(Action::PromptSubmit);
    let remove = vec![Action::Down, Action::Down, Action::RemoveTarget];
    let mut again = vec![Action::RouteLookup];
    again.extend(typed("10.0.0.1"));
    again.extend([Action::PromptSubmit, Action::Close, Action::RouteLookup]);
    for (name, tab, actions) in [
        ("add_target_duplicate", Tab::Paths, duplicate),
        ("remove_target_confirm", Tab::Paths, remove),
        ("route_lookup_again_selected", Tab::Overview, again),
        ("event_details", Tab::Events, vec![Action::Down, Action::Open]),
    ] {
        let ui = state(&store, tab, 80, 24, &actions);
        insta::assert_snapshot!(format!("{name}_80x24"), text(&render(&ui, 80, 24)));
    }
}

#[test]
fn routes_scrolled_and_sorted() {
    let store = fake::store();
    let ui = state(&store, Tab::Routes, 80, 24, &[Action::CycleSort, Action::CycleSort, Action::Bottom]);
    insta::assert_snapshot!("routes_by_gateway_bottom_80x24", text(&render(&ui, 80, 24)));
}

#[test]
fn themes_colour_the_same_screen_differently() {
    let store = fake::store();
    let ui = state(&store, Tab::Interfaces, 80, 24, &[Action::Down]);
    let mut dumps = Vec::new();
    for name in Theme::builtin_names() {
        let theme = Theme::builtin(name).unwrap();
        let dump = styles(&render_with(&store, &ui, &theme, 80, 24));
        insta::assert_snapshot!(format!("styles_{name}"), dump);
        dumps.push(dump);
    }
    assert_ne!(dumps[0], dumps[1]);
    assert_ne!(dumps[0], dumps[2]);
    let plain = styles(&render_with(&store, &ui, &Theme::default().without_color(), 80, 24));
    insta::assert_snapshot!("styles_no_color", plain);
}

#[test]
fn too_small_says_so() {
    let ui = UiState::new();
    insta::assert_snapshot!("too_small_30x8", text(&render(&ui, 30, 8)));
}

#[test]
fn no_panic_at_any_small_size() {
    let store = fake::store();
    let mut states: Vec<UiState> =
        Tab::ALL.iter().map(|tab| state(&store, *tab, 80, 24, &[Action::Down])).collect();
    states.push(state(&store, Tab::Interfaces, 80, 24, &[Action::Down, Action::Open, Action::Down]));
    states.push(state(&store, Tab::Events, 80, 24, &[Action::Help, Action::Down]));
    let mut prompt = vec![Action::Filter];
    prompt.extend(typed("kind:route a very long filter that cannot fit anywhere at all"));
    states.push(state(&store, Tab::Events, 80, 24, &prompt));
    states.push(state(&store, Tab::Connections, 80, 24, &[Action::ToggleGroup, Action::Down]));
    states.push(state(&store, Tab::Connections, 80, 24, &[Action::Down, Action::Open, Action::Down]));
    let mut error = vec![Action::Filter];
    error.extend(typed("proc:curl rtt>fast and a long tail of words that cannot fit"));
    states.push(state(&store, Tab::Connections, 80, 24, &error));
    for open in 0..6 {
        let mut actions = vec![Action::Down; open];
        actions.extend([Action::Open, Action::Down, Action::Down]);
        states.push(state(&store, Tab::Paths, 80, 24, &actions));
    }
    let mut lookup = vec![Action::RouteLookup];
    lookup.extend(typed("1.1.1.1"));
    lookup.push(Action::PromptSubmit);
    states.push(state(&store, Tab::Paths, 80, 24, &lookup));
    let mut pending = vec![Action::RouteLookup];
    pending.extend(typed("10.8.0.7 via=wg0"));
    pending.push(Action::PromptSubmit);
    states.push(state(&store, Tab::Overview, 80, 24, &pending));
    let mut add_error = vec![Action::AddTarget];
    add_error.extend(typed("example.com:99999 with a long tail that cannot fit"));
    states.push(state(&store, Tab::Paths, 80, 24, &add_error));
    states.push(state(&store, Tab::Dns, 80, 24, &[Action::Down, Action::SwitchFocus, Action::Down]));
    let mut tracing = vec![Action::Trace];
    tracing.extend(typed(" a.very.long.name.that.cannot.fit.anywhere.example"));
    states.push(state(&store, Tab::Dns, 80, 24, &tracing));
    tracing.push(Action::PromptSubmit);
    states.push(state(&store, Tab::Dns, 80, 24, &tracing));
    let themes = [Theme::default(), Theme::default().without_color()];
    for width in 1..=40 {
        for height in 1..=12 {
            for ui in &states {
                for theme in &themes {
                    render_with(&store, ui, theme, width, height);
                }
            }
        }
    }
}

#[test]
fn large_store_renders_only_what_fits() {
    let store = fake::large_store(200, 10_000);
    for tab in Tab::ALL {
        let ui = state(&store, tab, 200, 50, &[Action::PageDown, Action::Down]);
        let screen = text(&render_with(&store, &ui, &Theme::default(), 200, 50));
        match tab {
            Tab::Overview => assert!(screen.contains("more on the Interfaces tab"), "{screen}"),
            Tab::Interfaces => assert!(screen.contains("/200"), "{screen}"),
            // The large store holds no sockets and no paths: those panes say so (the
            // tab bar alone would show their names).
            Tab::Connections => {
                assert!(screen.contains("╭ Connections 0 "), "{screen}");
                assert!(screen.contains("waiting for the connections source…"), "{screen}");
            }
            Tab::Events => assert!(screen.contains("Events 10000"), "{screen}"),
            Tab::Routes => {
                assert!(screen.contains("Routes by table"), "{screen}");
                assert!(screen.contains(" 27/27 "), "the page moved the cursor to the last row: {screen}");
            }
            Tab::Paths => {
                assert!(screen.contains("╭ Paths 0 "), "{screen}");
                assert!(screen.contains("waiting for the paths source…"), "{screen}");
            }
            Tab::Dns => assert!(screen.contains("waiting for the first resolver read…"), "{screen}"),
        }
    }
    let mut actions = vec![Action::Filter];
    actions.extend(typed("subject:veth0042"));
    actions.push(Action::PromptSubmit);
    let ui = state(&store, Tab::Events, 200, 50, &actions);
    let screen = text(&render_with(&store, &ui, &Theme::default(), 200, 50));
    assert!(screen.contains("50 of 10000"), "{screen}");
}

#[test]
fn dns_trace_focus_prompt_and_filter() {
    let store = fake::store();
    let mut tracing = vec![Action::Trace, Action::PromptClear];
    tracing.extend(typed("example.org"));
    tracing.push(Action::PromptSubmit);
    let mut trace_error = vec![Action::Trace, Action::PromptClear];
    trace_error.extend(typed("db..corp"));
    trace_error.push(Action::PromptSubmit);
    let mut filtered = vec![Action::Filter];
    filtered.extend(typed("proc:firefox"));
    filtered.push(Action::PromptSubmit);
    filtered.extend([Action::Down, Action::Down]);
    let cases: [(&str, Vec<Action>); 4] = [
        // The trace takes the log's room on a short screen when it has the focus.
        ("dns_trace", vec![Action::SwitchFocus]),
        ("dns_tracing", tracing),
        ("dns_trace_error", trace_error),
        ("dns_filtered", filtered),
    ];
    for (width, height) in SIZES {
        for (name, actions) in &cases {
            let ui = state(&store, Tab::Dns, width, height, actions);
            insta::assert_snapshot!(format!("{name}_{width}x{height}"), text(&render(&ui, width, height)));
        }
    }
}

#[test]
fn dns_colours() {
    let store = fake::store();
    let ui = state(&store, Tab::Dns, 120, 36, &[Action::Down]);
    insta::assert_snapshot!("styles_dns_dark", styles(&render_with(&store, &ui, &Theme::default(), 120, 36)));
}

#[test]
fn dns_without_data_or_capture_says_why() {
    use netlens_collectors::Payload;
    use netlens_collectors::model::{SourceId, SourceState, SourceStatus};
    let mut store = Store::default();
    let ui = state(&store, Tab::Dns, 100, 30, &[]);
    let screen = text(&render_with(&store, &ui, &Theme::default(), 100, 30));
    assert!(screen.contains("waiting for the first resolver read…"), "{screen}");
    assert!(screen.contains("waiting for the DNS capture…"), "{screen}");
    assert!(screen.contains("no trace yet: t traces a name"), "{screen}");
    let detail = "passive DNS capture needs CAP_NET_RAW: run as root or `setcap cap_net_raw+ep`";
    let status =
        SourceStatus { name: SourceId::DnsCapture, status: SourceState::Degraded, detail: detail.into() };
    store.apply(fake::event(fake::NOW, SourceId::DnsCapture, Payload::Status(status)));
    let screen = text(&render_with(&store, &ui, &Theme::default(), 100, 30));
    assert!(
        screen.contains("⚠ dns_capture source degraded: passive DNS capture needs CAP_NET_RAW"),
        "{screen}"
    );
    assert!(screen.contains("no queries: dns capture degraded"), "{screen}");
    // With data the banner still says the log is not the whole story.
    let mut scripted = fake::store();
    let status =
        SourceStatus { name: SourceId::DnsCapture, status: SourceState::Degraded, detail: detail.into() };
    scripted.apply(fake::event(fake::NOW, SourceId::DnsCapture, Payload::Status(status)));
    let screen = text(&render_with(&scripted, &ui, &Theme::default(), 80, 24));
    assert!(screen.contains("⚠ dns_capture source degraded"), "{screen}");
    assert!(screen.contains("push.example.org"), "the newest query still shows:\n{screen}");
    let overview = state(&scripted, Tab::Overview, 160, 48, &[]);
    let screen = text(&render_with(&scripted, &overview, &Theme::default(), 160, 48));
    assert!(screen.contains("capture degraded: passive DNS capture needs CAP_NET_RAW"), "{screen}");
}

#[test]
fn a_full_dns_log_renders_a_page() {
    let store = fake::large_dns_store(2_000);
    let ui = state(&store, Tab::Dns, 200, 50, &[Action::PageDown, Action::Down]);
    let screen = text(&render_with(&store, &ui, &Theme::default(), 200, 50));
    assert!(screen.contains("2 040 logged"), "{screen}");
    assert!(screen.contains("/2000"), "{screen}");
}

#[test]
fn a_thousand_paths_render_a_page() {
    let store = fake::large_path_store(1000);
    let ui = state(&store, Tab::Paths, 200, 50, &[Action::PageDown, Action::Down]);
    let screen = text(&render_with(&store, &ui, &Theme::default(), 200, 50));
    assert!(screen.contains("Paths 1002"), "{screen}");
    assert!(screen.contains("/1002"), "{screen}");
}

#[test]
fn ten_thousand_connections_render_a_page() {
    let store = fake::large_connection_store(10_000);
    for actions in [vec![Action::PageDown, Action::Down], vec![Action::ToggleGroup, Action::Bottom]] {
        let ui = state(&store, Tab::Connections, 200, 50, &actions);
        let screen = text(&render_with(&store, &ui, &Theme::default(), 200, 50));
        assert!(screen.contains("Connections 10000"), "{screen}");
        assert!(screen.contains("10000 established"), "{screen}");
        assert!(screen.contains("/10000"), "{screen}");
    }
}

#[test]
fn coalesced_bursts_show_their_count() {
    use netlens_collectors::model::{SourceId, TimelineKind};
    use netlens_collectors::{Notice, Payload};
    let mut store = fake::store();
    let flap = Notice::new(TimelineKind::LinkChanged, "wlan0", "wlan0 carrier lost");
    for ms in [0, 100, 200] {
        store.apply(fake::event(
            fake::NOW + time::Duration::milliseconds(ms),
            SourceId::Interfaces,
            Payload::Notices(vec![flap.clone()]),
        ));
    }
    let ui = state(&store, Tab::Events, 80, 24, &[]);
    let screen = text(&render_with(&store, &ui, &Theme::default(), 80, 24));
    assert!(screen.contains("2 bursts coalesced"), "the script's burst and this one: {screen}");
    assert!(screen.contains("wlan0 carrier lost ×3"), "{screen}");
}

#[test]
fn a_degraded_source_says_so_on_its_panes() {
    use netlens_collectors::Payload;
    use netlens_collectors::model::{NetworkTable, SourceId, SourceState, SourceStatus};
    let mut store = fake::store();
    let at = fake::NOW;
    let detail = "portable fallback (if-addrs + sysinfo): --no-netlink";
    let status =
        SourceStatus { name: SourceId::Interfaces, status: SourceState::Degraded, detail: detail.into() };
    store.apply(fake::event(at, SourceId::Interfaces, Payload::Status(status)));
    let interfaces_only = NetworkTable { interfaces: fake::network().interfaces, ..NetworkTable::default() };
    store.apply(fake::event(at, SourceId::Interfaces, Payload::Network(interfaces_only)));
    for (tab, also) in
        [(Tab::Interfaces, "eth0"), (Tab::Routes, "routes, rules and neighbours come from rtnetlink")]
    {
        let ui = state(&store, tab, 100, 24, &[]);
        let screen = text(&render_with(&store, &ui, &Theme::default(), 100, 24));
        assert!(screen.contains("interfaces source degraded: portable fallback"), "{tab:?}:\n{screen}");
        assert!(screen.contains(also), "{tab:?}:\n{screen}");
    }
    // Without rtnetlink the paths source is off: Routes does not count zeros it never read.
    let off = "route lookups need rtnetlink (--no-netlink)";
    let status = SourceStatus { name: SourceId::Paths, status: SourceState::Off, detail: off.into() };
    store.apply(fake::event(at, SourceId::Paths, Payload::Status(status)));
    let ui = state(&store, Tab::Routes, 100, 24, &[]);
    let screen = text(&render_with(&store, &ui, &Theme::default(), 100, 24));
    assert!(screen.contains("Routes  not read without rtnetlink"), "{screen}");
    assert!(!screen.contains("0 routes"), "{screen}");
}

#[test]
fn a_replay_shows_its_cursor_keys_and_says_read_only() {
    use netlens_ui::replay::{Cursor, ReadOnly};
    let store = fake::store();
    let mut ui = state(&store, Tab::Overview, 120, 30, &[]);
    let cursor = Cursor {
        at: fake::NOW,
        first: fake::NOW - time::Duration::minutes(14),
        last: fake::NOW + time::Duration::minutes(46),
        position: 12_345,
        total: 67_890,
        playing: true,
        speed: "8×".into(),
    };
    ui.set_read_only(Some(ReadOnly { source: "replay incident.nlj".into(), cursor: Some(cursor) }));
    let _ = update(&mut ui, &store, Action::AddTarget);
    insta::assert_snapshot!("replay_overview_120x30", text(&render(&ui, 120, 30)));
    ui.set_read_only(Some(ReadOnly { source: "snapshot host-a.json".into(), cursor: None }));
    let _ = update(&mut ui, &store, Action::TogglePause);
    insta::assert_snapshot!("open_snapshot_overview_120x30", text(&render(&ui, 120, 30)));
}
