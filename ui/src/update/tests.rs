use netlens_collectors::fake;
use netlens_collectors::model::{DnsQueryBatch, SourceId, TimelineKind};
use netlens_collectors::{Notice, Payload};

use super::*;
use crate::component::Component;
use crate::panes::{connection_model, dns_log, events, interfaces, paths, routes};
use crate::state::{ConnectionSort, InterfaceSort};
use crate::tabs::selected_path;
use crate::testing::update;

fn ui_at(tab: Tab) -> (UiState, Store) {
    let store = fake::store();
    let mut ui = UiState::new();
    update(&mut ui, &store, Action::Resize(80, 24));
    update(&mut ui, &store, Action::SelectTab(tab));
    (ui, store)
}

fn run(ui: &mut UiState, store: &Store, actions: &[Action]) -> Vec<Option<Command>> {
    actions.iter().map(|action| update(ui, store, *action)).collect()
}

/// Where a text view's last frame said scrolling ends.
fn drawn_limit(scroll: Option<crate::state::Scroll>) -> usize {
    scroll.and_then(|scroll| scroll.drawn).map_or_else(|| panic!("not drawn"), |(overflow, _)| overflow)
}

/// The events cursor and offset as the next frame or key would find them in `store`.
fn events_now(ui: &UiState, store: &Store) -> (usize, usize) {
    let mut events = ui.tabs.events.clone();
    events.settle(store);
    (events.table.cursor, events.table.offset)
}

/// The DNS log's cursor and offset as the next frame or key would find them in `store`.
fn dns_now(ui: &UiState, store: &Store) -> (usize, usize) {
    let mut dns = ui.tabs.dns.clone();
    dns.settle(store);
    (dns.table.cursor, dns.table.offset)
}

fn selected_name(ui: &UiState, store: &Store) -> String {
    let rows = interfaces::ordered(store, &ui.tabs.interfaces);
    rows.get(ui.tabs.interfaces.table.cursor).map(|e| e.info.name.clone()).unwrap_or_default()
}

#[test]
fn tabs_switch_and_wrap() {
    let (mut ui, store) = ui_at(Tab::Overview);
    for (action, expected) in [
        (Action::NextTab, Tab::Interfaces),
        (Action::NextTab, Tab::Paths),
        (Action::NextTab, Tab::Dns),
        (Action::NextTab, Tab::Connections),
        (Action::NextTab, Tab::Routes),
        (Action::NextTab, Tab::Events),
        (Action::NextTab, Tab::Overview),
        (Action::PrevTab, Tab::Events),
        (Action::SelectTab(Tab::Routes), Tab::Routes),
        (Action::PrevTab, Tab::Connections),
        (Action::PrevTab, Tab::Dns),
        (Action::PrevTab, Tab::Paths),
        (Action::PrevTab, Tab::Interfaces),
    ] {
        assert_eq!(update(&mut ui, &store, action), None);
        assert_eq!(ui.tab(), expected, "after {action:?}");
    }
}

#[test]
fn movement_clamps_to_the_rows() {
    let (mut ui, store) = ui_at(Tab::Interfaces);
    // Seven interfaces; a page at 80×24 is 18 rows.
    for (action, cursor) in [
        (Action::Up, 0),
        (Action::Down, 1),
        (Action::Down, 2),
        (Action::PageDown, 6),
        (Action::Down, 6),
        (Action::PageUp, 0),
        (Action::Bottom, 6),
        (Action::Top, 0),
    ] {
        update(&mut ui, &store, action);
        assert_eq!(ui.tabs.interfaces.table.cursor, cursor, "after {action:?}");
    }
    let (mut ui, store) = ui_at(Tab::Routes);
    run(&mut ui, &store, &[Action::Bottom]);
    let data_rows = store.routes().len() + store.rules().len() + store.neighbors().len();
    assert_eq!(ui.tabs.routes.table.cursor, data_rows - 1);
    let model = routes::model(&store, &ui.tabs.routes);
    let shown = ui.tabs.routes.table.shown.unwrap_or_else(|| panic!("drawn"));
    // 24 rows less the tab bar, the findings banner, the key hints, the status bar and
    // the pane's frame and heading.
    assert_eq!(shown, 18, "the frame recorded the rows of an 80×24 screen");
    assert!(ui.tabs.routes.table.offset + shown >= model.lines.len(), "last row visible");
    run(&mut ui, &store, &[Action::Top]);
    assert_eq!((ui.tabs.routes.table.cursor, ui.tabs.routes.table.offset), (0, 0));
}

#[test]
fn keys_before_the_first_frame_move_the_cursor_and_the_frame_scrolls_to_it() {
    let store = fake::large_store(200, 0);
    let mut ui = UiState::new();
    for action in [Action::Resize(80, 24), Action::SelectTab(Tab::Interfaces), Action::PageDown, Action::Down]
    {
        super::update(&mut ui, &store, action);
    }
    let table = &ui.tabs.interfaces.table;
    assert_eq!((table.cursor, table.offset, table.shown), (19, 0, None), "no geometry is guessed");
    crate::testing::draw(&mut ui, &store);
    let table = &ui.tabs.interfaces.table;
    assert_eq!(table.shown, Some(18), "the frame recorded its rows");
    assert_eq!((table.cursor, table.offset), (19, 2), "and scrolled the cursor into view");
    update(&mut ui, &store, Action::PageDown);
    assert_eq!((ui.tabs.interfaces.table.cursor, ui.tabs.interfaces.table.offset), (36, 19));
}

#[test]
fn movement_on_overview_moves_over_the_findings_and_enter_opens_one() {
    let (mut ui, store) = ui_at(Tab::Overview);
    let open = store.findings().open().len();
    assert!(open > 1, "the scripted session has findings");
    run(&mut ui, &store, &[Action::Down, Action::Down]);
    assert_eq!(ui.tabs.overview.cursor, 2);
    run(&mut ui, &store, &[Action::Bottom, Action::Down]);
    assert_eq!(ui.tabs.overview.cursor, open - 1, "clamped to the last finding");
    run(&mut ui, &store, &[Action::Top, Action::Open]);
    let worst = store.findings().worst().map(|f| f.id.clone());
    assert_eq!(ui.tabs.overview.details.as_ref().map(|d| d.id.clone()), worst);
    run(&mut ui, &store, &[Action::Close]);
    assert_eq!(ui.tabs.overview.details, None);
    // Without findings, movement is nobody's business and Enter says why nothing opens.
    let quiet = netlens_collectors::Store::default();
    let mut ui = UiState::new();
    run(&mut ui, &quiet, &[Action::Down, Action::PageDown, Action::Bottom]);
    assert_eq!(ui.tabs.overview, crate::state::OverviewState::default());
    run(&mut ui, &quiet, &[Action::Open]);
    assert!(ui.tabs.overview.details.is_none());
}

#[test]
fn sort_cycles_and_keeps_the_selection() {
    let (mut ui, store) = ui_at(Tab::Interfaces);
    run(&mut ui, &store, &[Action::Down]);
    assert_eq!(selected_name(&ui, &store), "eth0");
    let expected = [
        (InterfaceSort::Name, false, ["docker0", "eth0", "lo", "tun0", "veth-lab", "wg0", "wlan0"]),
        (InterfaceSort::Kind, false, ["docker0", "eth0", "lo", "tun0", "veth-lab", "wlan0", "wg0"]),
        (InterfaceSort::State, false, ["eth0", "wlan0", "veth-lab", "lo", "wg0", "docker0", "tun0"]),
    ];
    for (sort, descending, order) in expected {
        run(&mut ui, &store, &[Action::CycleSort]);
        assert_eq!(
            (ui.tabs.interfaces.table.sort, ui.tabs.interfaces.table.descending()),
            (sort, descending)
        );
        let names: Vec<_> =
            interfaces::ordered(&store, &ui.tabs.interfaces).iter().map(|e| e.info.name.clone()).collect();
        assert_eq!(names, order, "{sort:?}");
        assert_eq!(selected_name(&ui, &store), "eth0", "selection follows eth0 under {sort:?}");
    }
    run(&mut ui, &store, &[Action::ReverseSort]);
    let names: Vec<_> =
        interfaces::ordered(&store, &ui.tabs.interfaces).iter().map(|e| e.info.name.clone()).collect();
    assert_eq!(names, ["tun0", "docker0", "wg0", "lo", "veth-lab", "wlan0", "eth0"]);
    run(&mut ui, &store, &[Action::CycleSort, Action::CycleSort]);
    assert_eq!(ui.tabs.interfaces.table.sort, InterfaceSort::Rx);
    assert!(ui.tabs.interfaces.table.descending(), "rates sort busiest first");
    assert_eq!(interfaces::ordered(&store, &ui.tabs.interfaces)[0].info.name, "eth0");
    run(&mut ui, &store, &[Action::CycleSort, Action::CycleSort]);
    assert_eq!(ui.tabs.interfaces.table.sort, InterfaceSort::Index);

    let (mut ui, store) = ui_at(Tab::Routes);
    run(&mut ui, &store, &[Action::CycleSort, Action::CycleSort, Action::ReverseSort]);
    assert_eq!(
        (ui.tabs.routes.table.sort, ui.tabs.routes.table.reversed),
        (crate::state::RouteSort::Gateway, true)
    );
    let (mut ui, store) = ui_at(Tab::Events);
    run(&mut ui, &store, &[Action::CycleSort]);
    assert_eq!(ui.status().map(|s| s.text.as_str()), Some("the timeline is always newest first"));
}

#[test]
fn filter_prompt_edits_applies_and_cancels() {
    let (mut ui, store) = ui_at(Tab::Interfaces);
    let type_text = |ui: &mut UiState, text: &str| {
        for c in text.chars() {
            update(ui, &store, Action::PromptInput(c));
        }
    };
    update(&mut ui, &store, Action::Filter);
    assert_eq!(ui.mode(), Mode::Prompt);
    type_text(&mut ui, "kind:wifi extra");
    assert_eq!(ui.draft(), "kind:wifi extra");
    update(&mut ui, &store, Action::PromptDeleteWord);
    assert_eq!(ui.draft(), "kind:wifi ");
    update(&mut ui, &store, Action::PromptBackspace);
    assert_eq!(ui.draft(), "kind:wifi");
    // While typing, only quitting leaves the prompt; other actions wait.
    assert_eq!(update(&mut ui, &store, Action::Export), None);
    assert_eq!(ui.mode(), Mode::Prompt);
    update(&mut ui, &store, Action::PromptSubmit);
    assert_eq!((ui.mode(), ui.filter(Tab::Interfaces)), (Mode::Normal, "kind:wifi"));
    assert_eq!(interfaces::ordered(&store, &ui.tabs.interfaces).len(), 1);

    update(&mut ui, &store, Action::Filter);
    assert_eq!(ui.draft(), "kind:wifi", "the prompt starts from the applied filter");
    update(&mut ui, &store, Action::PromptClear);
    type_text(&mut ui, "eth");
    update(&mut ui, &store, Action::PromptCancel);
    assert_eq!(
        (ui.mode(), ui.filter(Tab::Interfaces)),
        (Mode::Normal, "kind:wifi"),
        "cancel keeps the old filter"
    );

    update(&mut ui, &store, Action::Close);
    assert_eq!(ui.filter(Tab::Interfaces), "", "esc clears an applied filter");
    assert_eq!(ui.status().map(|s| s.text.as_str()), Some("filter cleared"));

    let (mut ui, store) = ui_at(Tab::Overview);
    update(&mut ui, &store, Action::Filter);
    assert_eq!(ui.mode(), Mode::Normal, "nothing to filter on Overview");
    assert!(ui.status().is_some());
    update(&mut ui, &store, Action::Down);
    assert!(ui.status().is_none(), "a hint lasts one key press");
}

#[test]
fn filters_are_per_tab() {
    let (mut ui, store) = ui_at(Tab::Events);
    update(&mut ui, &store, Action::Filter);
    for c in "kind:route".chars() {
        update(&mut ui, &store, Action::PromptInput(c));
    }
    update(&mut ui, &store, Action::PromptSubmit);
    assert_eq!(events::filtered_len(&store, &ui.tabs.events), 3);
    assert_eq!(ui.filter(Tab::Routes), "");
    update(&mut ui, &store, Action::SelectTab(Tab::Routes));
    update(&mut ui, &store, Action::Filter);
    for c in "dev:wg0".chars() {
        update(&mut ui, &store, Action::PromptInput(c));
    }
    update(&mut ui, &store, Action::PromptSubmit);
    assert_eq!(
        routes::model(&store, &ui.tabs.routes).data.len(),
        2,
        "two routes via wg0; rules and neighbours drop out"
    );
    assert_eq!(ui.filter(Tab::Events), "kind:route");
}

#[test]
fn details_open_scroll_and_close() {
    let (mut ui, store) = ui_at(Tab::Interfaces);
    run(&mut ui, &store, &[Action::Down, Action::Down, Action::Open]);
    assert_eq!(ui.tabs.interfaces.details.map(|d| (d.index, d.scroll.line)), Some((3, 0)), "wlan0");
    run(&mut ui, &store, &[Action::Down, Action::Down]);
    assert_eq!(ui.tabs.interfaces.details.map(|d| d.scroll.line), Some(2));
    run(&mut ui, &store, &[Action::Bottom]);
    let limit = drawn_limit(ui.tabs.interfaces.details.map(|d| d.scroll));
    assert!(limit > 0);
    assert_eq!(ui.tabs.interfaces.details.map(|d| d.scroll.line), Some(limit));
    run(&mut ui, &store, &[Action::Down]);
    assert_eq!(ui.tabs.interfaces.details.map(|d| d.scroll.line), Some(limit), "scrolling stops at the end");
    assert_eq!(ui.tabs.interfaces.table.cursor, 2, "the table cursor stays put");
    run(&mut ui, &store, &[Action::Close]);
    assert_eq!(ui.tabs.interfaces.details, None);
    run(&mut ui, &store, &[Action::SelectTab(Tab::Routes), Action::Open]);
    assert_eq!(ui.tabs.interfaces.details, None, "enter on Routes opens nothing");
}

#[test]
fn pause_help_quit_and_export() {
    let (mut ui, store) = ui_at(Tab::Overview);
    assert!(!ui.paused());
    update(&mut ui, &store, Action::TogglePause);
    assert!(ui.paused());
    update(&mut ui, &store, Action::TogglePause);
    assert!(!ui.paused());

    assert_eq!(update(&mut ui, &store, Action::Export), Some(Command::Export));
    assert_eq!(update(&mut ui, &store, Action::Help), None);
    assert_eq!(ui.mode(), Mode::Help);
    assert_eq!(update(&mut ui, &store, Action::Quit), Some(Command::Quit), "quit works in help");
    update(&mut ui, &store, Action::Help);
    assert_eq!(ui.mode(), Mode::Normal, "? toggles help");
    run(&mut ui, &store, &[Action::Help, Action::Close]);
    assert_eq!(ui.mode(), Mode::Normal);
    run(&mut ui, &store, &[Action::Help, Action::SelectTab(Tab::Events)]);
    assert_eq!((ui.mode(), ui.tab()), (Mode::Normal, Tab::Events), "a tab key leaves help for that tab");
    run(&mut ui, &store, &[Action::Filter]);
    assert_eq!(update(&mut ui, &store, Action::Quit), Some(Command::Quit), "quit works in the prompt");
    assert_eq!(update(&mut ui, &store, Action::Resize(120, 40)), None);
    assert_eq!(ui.viewport(), (120, 40));
}

#[test]
fn help_scrolls_when_the_screen_is_short() {
    let (mut ui, store) = ui_at(Tab::Overview);
    run(&mut ui, &store, &[Action::Resize(60, 20), Action::Help, Action::Bottom]);
    let limit = drawn_limit(Some(ui.help.scroll));
    assert!(limit > 0);
    assert_eq!(ui.help.scroll.line, limit);
    run(&mut ui, &store, &[Action::Up, Action::Top]);
    assert_eq!(ui.help.scroll.line, 0);
    // From 80 columns the three columns fit 24 rows: nothing to scroll.
    run(&mut ui, &store, &[Action::Resize(80, 24), Action::Bottom]);
    assert_eq!(ui.help.scroll.line, 0, "everything fits at 80×24");
}

fn with_notices(store: &Store, count: usize) -> Store {
    let mut store = store.clone();
    let notices = (0..count)
        .map(|i| Notice::new(TimelineKind::LinkChanged, "eth0", format!("eth0 change {i}")))
        .collect();
    store.apply(fake::event(fake::NOW, SourceId::Interfaces, Payload::Notices(notices)));
    store
}

#[test]
fn follow_mode_stays_on_newest_until_scrolled() {
    let (mut ui, store) = ui_at(Tab::Events);
    assert!(ui.follow());
    let newer = with_notices(&store, 3);
    update(&mut ui, &newer, Action::Resize(80, 24));
    assert_eq!(events_now(&ui, &newer), (0, 0), "following: on the newest");

    run(&mut ui, &newer, &[Action::Down, Action::Down]);
    assert!(!ui.follow(), "scrolling away stops following");
    assert_eq!(ui.tabs.events.table.cursor, 2);
    let selected = newer.timeline().from_newest(2).cloned();

    // Five more arrive: the cursor stays on the same entry.
    let newest = with_notices(&newer, 5);
    let (cursor, _) = events_now(&ui, &newest);
    assert_eq!(cursor, 7);
    assert_eq!(newest.timeline().from_newest(cursor).cloned(), selected);
    update(&mut ui, &newest, Action::Up);
    assert_eq!(ui.tabs.events.table.cursor, 6);

    update(&mut ui, &newest, Action::Follow);
    assert!(ui.follow());
    assert_eq!(events_now(&ui, &newest), (0, 0));
    update(&mut ui, &newest, Action::SelectTab(Tab::Overview));
    update(&mut ui, &newest, Action::Follow);
    assert!(!ui.follow());
    assert_eq!(ui.status().map(|s| s.text.as_str()), Some("events follow the newest: off"));
}

#[test]
fn follow_off_with_a_filter_counts_only_matching_arrivals() {
    let (mut ui, store) = ui_at(Tab::Events);
    update(&mut ui, &store, Action::Filter);
    for c in "subject:wlan0".chars() {
        update(&mut ui, &store, Action::PromptInput(c));
    }
    run(&mut ui, &store, &[Action::PromptSubmit, Action::Down]);
    assert_eq!(ui.tabs.events.table.cursor, 1);
    let mut newer = store.clone();
    let notices = vec![
        Notice::new(TimelineKind::LinkChanged, "eth0", "eth0 carrier lost"),
        Notice::new(TimelineKind::LinkChanged, "wlan0", "wlan0 carrier lost"),
    ];
    newer.apply(fake::event(fake::NOW, SourceId::Interfaces, Payload::Notices(notices)));
    assert_eq!(events_now(&ui, &newer).0, 2, "only the wlan0 entry counts");
}

fn type_text(ui: &mut UiState, store: &Store, text: &str) {
    for c in text.chars() {
        update(ui, store, Action::PromptInput(c));
    }
}

/// The cookie of the selected connection as the view would place it.
fn selected_cookie(ui: &UiState, store: &Store) -> Option<u64> {
    let mut model = connection_model::Model::build(store, &ui.tabs.connections, fake::NOW);
    let (cursor, _) =
        connection_model::placement(&model, &ui.tabs.connections, ui.tabs.connections.table.shown);
    model.row_at(cursor).map(|entry| entry.socket.cookie)
}

#[test]
fn connections_cursor_follows_the_connection() {
    let (mut ui, store) = ui_at(Tab::Connections);
    assert_eq!(selected_cookie(&ui, &store), Some(31), "curl's connection is first by state and owner");
    run(&mut ui, &store, &[Action::Down, Action::Down]);
    assert_eq!((ui.tabs.connections.table.cursor, ui.tabs.connections.selected), (2, Some(8)));
    // Sorting keeps the same connection selected wherever it lands.
    run(&mut ui, &store, &[Action::CycleSort]);
    assert_eq!(ui.tabs.connections.table.sort, ConnectionSort::Local);
    assert_eq!(ui.tabs.connections.selected, Some(8));
    assert_eq!(selected_cookie(&ui, &store), Some(8));
    run(&mut ui, &store, &[Action::CycleSort, Action::CycleSort, Action::CycleSort]);
    assert_eq!(
        (ui.tabs.connections.table.sort, ui.tabs.connections.table.descending()),
        (ConnectionSort::Rx, true)
    );
    run(&mut ui, &store, &[Action::ReverseSort]);
    assert!(!ui.tabs.connections.table.descending());
    assert_eq!(selected_cookie(&ui, &store), Some(8));
    run(&mut ui, &store, &[Action::Bottom]);
    assert_eq!(ui.tabs.connections.table.cursor, 14, "15 open rows; the 6 closed ones are folded");
    run(&mut ui, &store, &[Action::PageUp, Action::Top]);
    assert_eq!(ui.tabs.connections.table.cursor, 0);
    // Ten sort keys, then back to the first.
    for _ in 0..6 {
        run(&mut ui, &store, &[Action::CycleSort]);
    }
    assert_eq!(ui.tabs.connections.table.sort, ConnectionSort::State);
}

#[test]
fn connections_filter_applies_only_when_valid() {
    let (mut ui, store) = ui_at(Tab::Connections);
    run(&mut ui, &store, &[Action::Filter]);
    type_text(&mut ui, &store, "proc:firefox");
    run(&mut ui, &store, &[Action::PromptSubmit]);
    assert_eq!((ui.mode(), ui.filter(Tab::Connections)), (Mode::Normal, "proc:firefox"));
    let model = connection_model::Model::build(&store, &ui.tabs.connections, fake::NOW);
    assert_eq!(model.rows(), 3);
    assert_eq!(selected_cookie(&ui, &store), Some(6));

    // A malformed expression stays in the prompt; the table keeps its filter.
    run(&mut ui, &store, &[Action::Filter, Action::PromptClear]);
    type_text(&mut ui, &store, "rtt>fast");
    run(&mut ui, &store, &[Action::PromptSubmit]);
    assert_eq!(ui.mode(), Mode::Prompt, "enter on an invalid filter does not apply it");
    assert_eq!(ui.draft(), "rtt>fast", "the text stays to be fixed");
    assert_eq!(ui.filter(Tab::Connections), "proc:firefox");
    assert_eq!(ui.prompt.error.as_deref(), Some("not applied: fix it, or esc keeps the current filter"));
    run(&mut ui, &store, &[Action::PromptCancel]);
    assert_eq!((ui.mode(), ui.filter(Tab::Connections)), (Mode::Normal, "proc:firefox"));

    // Fixed, it applies; the selection moves to a row that passes.
    run(&mut ui, &store, &[Action::Filter, Action::PromptClear]);
    type_text(&mut ui, &store, "rtt>100ms");
    run(&mut ui, &store, &[Action::PromptSubmit]);
    assert_eq!(ui.filter(Tab::Connections), "rtt>100ms");
    assert_eq!(selected_cookie(&ui, &store), Some(14), "rsync's stalled upload, then curl's SYN");
    run(&mut ui, &store, &[Action::Close]);
    assert_eq!(ui.filter(Tab::Connections), "", "esc clears it");
    assert_eq!(selected_cookie(&ui, &store), Some(14), "and the selection stays");
}

#[test]
fn grouping_toggles_and_keeps_the_selection() {
    let (mut ui, store) = ui_at(Tab::Connections);
    run(&mut ui, &store, &[Action::Down]);
    assert_eq!(ui.tabs.connections.selected, Some(6));
    run(&mut ui, &store, &[Action::ToggleGroup]);
    assert!(ui.grouped());
    assert_eq!(selected_cookie(&ui, &store), Some(6));
    // Groups by owner name: curl (2 open, its closed one folded), firefox (3), …:
    // firefox's first row is row 2.
    assert_eq!(ui.tabs.connections.table.cursor, 2);
    run(&mut ui, &store, &[Action::ToggleGroup]);
    assert!(!ui.grouped());
    assert_eq!(selected_cookie(&ui, &store), Some(6));
    // Elsewhere grouping only says where it works, and moves nothing.
    let (mut ui, store) = ui_at(Tab::Routes);
    run(&mut ui, &store, &[Action::Down, Action::Down]);
    assert_eq!(ui.tabs.routes.table.cursor, 2);
    run(&mut ui, &store, &[Action::ToggleGroup]);
    assert!(!ui.grouped());
    assert_eq!(ui.tabs.routes.table.cursor, 2);
    assert!(ui.status().is_some_and(|s| s.text.contains("Connections tab (5)")));
}

#[test]
fn connection_details_open_scroll_and_close() {
    let (mut ui, store) = ui_at(Tab::Connections);
    run(&mut ui, &store, &[Action::Down, Action::Open]);
    assert_eq!(ui.connection_details(), Some(6));
    run(&mut ui, &store, &[Action::Down, Action::Down]);
    assert_eq!(ui.tabs.connections.details.map(|d| d.scroll.line), Some(2));
    run(&mut ui, &store, &[Action::Bottom]);
    let limit = drawn_limit(ui.tabs.connections.details.map(|d| d.scroll));
    assert!(limit > 0);
    assert_eq!(ui.tabs.connections.details.map(|d| d.scroll.line), Some(limit));
    assert_eq!(ui.tabs.connections.table.cursor, 1, "the table cursor stays put");
    run(&mut ui, &store, &[Action::Filter]);
    assert_eq!(ui.mode(), Mode::Normal, "no filtering inside details");
    run(&mut ui, &store, &[Action::CycleSort, Action::ToggleGroup]);
    assert_eq!(
        (ui.tabs.connections.table.sort, ui.grouped()),
        (ConnectionSort::State, false),
        "nor sorting or grouping"
    );
    run(&mut ui, &store, &[Action::Close]);
    assert_eq!(ui.connection_details(), None);
    assert_eq!(selected_cookie(&ui, &store), Some(6));
}

fn typed(ui: &mut UiState, store: &Store, text: &str) {
    for c in text.chars() {
        update(ui, store, Action::PromptInput(c));
    }
}

#[test]
fn route_lookup_prompt_asks_and_shows_the_answer() {
    use crate::state::PromptKind;
    use netlens_collectors::paths::query::LookupRequest;
    for tab in [Tab::Overview, Tab::Paths, Tab::Events] {
        let (mut ui, store) = ui_at(tab);
        assert_eq!(update(&mut ui, &store, Action::RouteLookup), None);
        assert_eq!((ui.mode(), ui.prompt_kind()), (Mode::Prompt, PromptKind::RouteLookup));
        typed(&mut ui, &store, "1.1.1.1 mark=x");
        assert_eq!(update(&mut ui, &store, Action::PromptSubmit), None, "a bad request is not asked");
        assert_eq!(ui.mode(), Mode::Prompt, "the prompt stays open with its error");
        assert!(
            ui.prompt.error.as_ref().is_some_and(|e| e.contains("not looked up")),
            "the reason is inline"
        );
        run(&mut ui, &store, &[Action::PromptDeleteWord]);
        let request: LookupRequest = "1.1.1.1".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            update(&mut ui, &store, Action::PromptSubmit),
            Some(Command::RouteLookup(request.clone()))
        );
        assert_eq!((ui.mode(), ui.lookup()), (Mode::RouteLookup, Some(&request)));
        assert_eq!(ui.tab(), tab);
        // `r` again starts from the previous question; esc closes the popup.
        run(&mut ui, &store, &[Action::PromptCancel]);
        assert_eq!(ui.mode(), Mode::Normal, "esc closes the popup");
        run(&mut ui, &store, &[Action::RouteLookup]);
        assert_eq!((ui.mode(), ui.draft()), (Mode::Prompt, "1.1.1.1"), "r starts from the last question");
    }
    let (mut ui, store) = ui_at(Tab::Overview);
    run(&mut ui, &store, &[Action::RouteLookup]);
    typed(&mut ui, &store, "1.1.1.1");
    run(&mut ui, &store, &[Action::PromptSubmit, Action::RouteLookup]);
    assert_eq!((ui.mode(), ui.draft()), (Mode::Prompt, "1.1.1.1"), "r in the popup asks again");
    run(&mut ui, &store, &[Action::PromptCancel]);
    assert_eq!(ui.mode(), Mode::Normal);
    run(&mut ui, &store, &[Action::RouteLookup, Action::PromptSubmit]);
    assert_eq!(ui.mode(), Mode::RouteLookup);
    run(&mut ui, &store, &[Action::SelectTab(Tab::Paths)]);
    assert_eq!((ui.mode(), ui.tab()), (Mode::Normal, Tab::Paths), "a tab key leaves the popup");
}

#[test]
fn add_target_prompt_parses_and_refuses_duplicates() {
    use crate::state::PromptKind;
    use netlens_collectors::paths::target::Target;
    let (mut ui, store) = ui_at(Tab::Interfaces);
    assert_eq!(update(&mut ui, &store, Action::AddTarget), None);
    assert_eq!(ui.mode(), Mode::Normal, "only on the Paths tab");
    assert!(ui.status().is_some_and(|s| s.text.contains("Paths tab (3)")));

    let (mut ui, store) = ui_at(Tab::Paths);
    run(&mut ui, &store, &[Action::AddTarget]);
    assert_eq!((ui.mode(), ui.prompt_kind()), (Mode::Prompt, PromptKind::AddTarget));
    typed(&mut ui, &store, "example.com:99999");
    assert_eq!(update(&mut ui, &store, Action::PromptSubmit), None);
    assert_eq!(ui.mode(), Mode::Prompt);
    assert!(ui.prompt.error.as_ref().is_some_and(|e| e.contains("not added")), "the reason is inline");
    run(&mut ui, &store, &[Action::PromptClear]);
    typed(&mut ui, &store, "Example.COM:443,probe=icmp");
    let target: Target = "example.com:443,probe=icmp".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(update(&mut ui, &store, Action::PromptSubmit), Some(Command::AddTarget(target)));
    assert_eq!(ui.mode(), Mode::Normal);

    // A target already watched is refused inline; the prompt stays open and the
    // selection under it does not move.
    run(&mut ui, &store, &[Action::AddTarget]);
    typed(&mut ui, &store, "db.internal");
    assert_eq!(update(&mut ui, &store, Action::PromptSubmit), None);
    assert_eq!(ui.mode(), Mode::Prompt);
    assert!(ui.prompt.error.as_ref().is_some_and(|e| e.contains("already watched")));
    assert_eq!(ui.tabs.paths.table.cursor, 0);
}

#[test]
fn remove_and_probe_act_on_user_targets_only() {
    let (mut ui, store) = ui_at(Tab::Paths);
    // default-ipv4 is selected.
    assert_eq!(update(&mut ui, &store, Action::RemoveTarget), None);
    assert!(ui.status().is_some_and(|s| s.text.contains("cannot be removed")));
    assert_eq!(update(&mut ui, &store, Action::ProbeNow), None);
    assert!(ui.status().is_some_and(|s| s.text.contains("never probed")));
    run(&mut ui, &store, &[Action::Down, Action::Down]);
    assert_eq!(update(&mut ui, &store, Action::ProbeNow), Some(Command::ProbeNow("example.org:443".into())));
    assert_eq!(update(&mut ui, &store, Action::RemoveTarget), None, "asked first");
    assert_eq!((ui.mode(), ui.prompt_kind()), (Mode::Prompt, crate::state::PromptKind::ConfirmRemove));
    assert_eq!(
        update(&mut ui, &store, Action::PromptInput('y')),
        Some(Command::RemoveTarget("example.org:443".into()))
    );
    // db.internal has no port and no probe= option: nothing to probe.
    run(&mut ui, &store, &[Action::Down, Action::Down]);
    assert_eq!(update(&mut ui, &store, Action::ProbeNow), None);
    assert!(ui.status().is_some_and(|s| s.text.contains("has no probe")));
    // From the details view it acts on the open path, and removing closes the view.
    run(&mut ui, &store, &[Action::Down, Action::Open]);
    assert_eq!(ui.path_details(), Some("10.8.0.1,probe=icmp"));
    assert_eq!(update(&mut ui, &store, Action::RemoveTarget), None, "asked first");
    assert_eq!(ui.path_details(), Some("10.8.0.1,probe=icmp"), "open until removed");
    assert_eq!(
        update(&mut ui, &store, Action::PromptInput('y')),
        Some(Command::RemoveTarget("10.8.0.1,probe=icmp".into()))
    );
    assert_eq!(ui.path_details(), None);
    // Elsewhere the keys only say where they work.
    let (mut ui, store) = ui_at(Tab::Connections);
    assert_eq!(update(&mut ui, &store, Action::RemoveTarget), None);
    assert_eq!(update(&mut ui, &store, Action::ProbeNow), None);
}

#[test]
fn paths_filter_sort_and_details() {
    let (mut ui, store) = ui_at(Tab::Paths);
    run(&mut ui, &store, &[Action::Down, Action::Down]);
    run(&mut ui, &store, &[Action::Filter]);
    typed(&mut ui, &store, "dev:eth0");
    run(&mut ui, &store, &[Action::PromptSubmit]);
    assert_eq!(ui.filter(Tab::Paths), "dev:eth0");
    assert_eq!(paths::ordered(&store, &ui.tabs.paths).len(), 4);
    assert_eq!(
        selected_path(&ui.tabs.paths, &store).as_deref(),
        Some("example.org:443"),
        "the selection stays"
    );
    run(&mut ui, &store, &[Action::Close]);
    assert_eq!(ui.filter(Tab::Paths), "");
    // By status: what needs a look first, and the selection follows its row.
    run(&mut ui, &store, &[Action::CycleSort, Action::CycleSort]);
    let order: Vec<&str> = paths::ordered(&store, &ui.tabs.paths).iter().map(|p| p.target.as_str()).collect();
    assert_eq!(&order[..3], ["default-ipv6", "db.internal", "10.20.0.5:22"]);
    assert_eq!(selected_path(&ui.tabs.paths, &store).as_deref(), Some("example.org:443"));
    run(&mut ui, &store, &[Action::Open]);
    assert_eq!(ui.path_details(), Some("example.org:443"));
    run(&mut ui, &store, &[Action::Down, Action::Down]);
    assert!(ui.tabs.paths.details.as_ref().is_some_and(|open| open.scroll.line == 2), "details scroll");
    run(&mut ui, &store, &[Action::Close]);
    assert_eq!(ui.path_details(), None);
}

#[test]
fn trace_prompt_checks_the_name_and_shows_the_trace() {
    use crate::state::{DnsFocus, PromptKind};
    let (mut ui, store) = ui_at(Tab::Interfaces);
    assert_eq!(update(&mut ui, &store, Action::Trace), None);
    assert_eq!((ui.mode(), ui.prompt_kind()), (Mode::Prompt, PromptKind::Trace));
    assert_eq!(ui.draft(), "db", "the prompt starts from the name traced last");
    run(&mut ui, &store, &[Action::PromptClear]);
    assert_eq!(update(&mut ui, &store, Action::PromptSubmit), None, "nothing to trace");
    typed(&mut ui, &store, "db..corp");
    assert_eq!(update(&mut ui, &store, Action::PromptSubmit), None);
    assert_eq!(ui.mode(), Mode::Prompt, "the prompt stays open with its error");
    assert!(ui.prompt.error.as_ref().is_some_and(|e| e.contains("not traced")), "the reason is inline");
    run(&mut ui, &store, &[Action::PromptClear]);
    typed(&mut ui, &store, " Example.ORG ");
    assert_eq!(update(&mut ui, &store, Action::PromptSubmit), Some(Command::Trace("Example.ORG".into())));
    assert_eq!((ui.mode(), ui.tab(), ui.dns_focus()), (Mode::Normal, Tab::Dns, DnsFocus::Trace));
    assert_eq!(ui.pending_trace(), Some("Example.ORG"));
    assert_eq!(
        crate::panes::dns_trace::pending(&ui.tabs.dns, &store),
        Some("Example.ORG"),
        "not in the store yet"
    );
    run(&mut ui, &store, &[Action::Trace]);
    assert_eq!(ui.draft(), "Example.ORG", "t again starts from the pending name");
    run(&mut ui, &store, &[Action::PromptCancel]);

    // The trace arrives: it is no longer pending, and the view shows it.
    let mut arrived = store.clone();
    let mut trace = arrived.dns().last_user_trace().cloned().unwrap_or_else(|| panic!("no trace"));
    trace.name = "example.org.".into();
    trace.started_at = fake::NOW;
    arrived.apply(fake::event(fake::NOW, SourceId::Dns, Payload::DnsTrace(Box::new(trace))));
    assert_eq!(
        crate::panes::dns_trace::pending(&ui.tabs.dns, &arrived),
        None,
        "case and the trailing dot do not count"
    );
    // At 80×20 the trace is taller than its view.
    run(&mut ui, &arrived, &[Action::Resize(80, 20), Action::Down]);
    assert_eq!(ui.pending_trace(), None);
    assert_eq!(ui.tabs.dns.trace.line, 1, "the focused trace scrolls");
}

#[test]
fn a_trace_of_the_same_name_from_before_is_not_the_answer() {
    let (mut ui, store) = ui_at(Tab::Dns);
    run(&mut ui, &store, &[Action::Trace]);
    assert_eq!(ui.draft(), "db");
    assert_eq!(update(&mut ui, &store, Action::PromptSubmit), Some(Command::Trace("db".into())));
    assert_eq!(
        crate::panes::dns_trace::pending(&ui.tabs.dns, &store),
        Some("db"),
        "the store's trace of db started earlier"
    );
}

#[test]
fn dns_focus_switches_and_esc_goes_back_to_the_log() {
    use crate::state::DnsFocus;
    let (mut ui, store) = ui_at(Tab::Overview);
    run(&mut ui, &store, &[Action::SwitchFocus]);
    assert_eq!(ui.dns_focus(), DnsFocus::Log, "the arrows do nothing off the DNS tab");
    assert!(ui.status().is_none(), "not even a hint");
    run(&mut ui, &store, &[Action::SelectTab(Tab::Dns), Action::SwitchFocus]);
    assert_eq!(ui.dns_focus(), DnsFocus::Trace);
    run(&mut ui, &store, &[Action::Bottom]);
    let limit = drawn_limit(Some(ui.tabs.dns.trace));
    assert_eq!(ui.tabs.dns.trace.line, limit);
    assert_eq!(ui.tabs.dns.table.cursor, 0, "the log stays put");
    run(&mut ui, &store, &[Action::Close]);
    assert_eq!(ui.dns_focus(), DnsFocus::Log, "esc leaves the trace view");
    run(&mut ui, &store, &[Action::SwitchFocus, Action::SwitchFocus]);
    assert_eq!(ui.dns_focus(), DnsFocus::Log);
}

#[test]
fn dns_log_moves_filters_and_keeps_its_row() {
    let (mut ui, store) = ui_at(Tab::Dns);
    let visible = ui.tabs.dns.table.shown.unwrap_or_else(|| panic!("drawn"));
    assert_eq!(visible, 12, "80×24 less the findings banner");
    run(&mut ui, &store, &[Action::Down, Action::Down, Action::PageDown]);
    assert_eq!(ui.tabs.dns.table.cursor, 2 + visible - 1);
    run(&mut ui, &store, &[Action::Bottom]);
    assert_eq!(ui.tabs.dns.table.cursor, 39);
    assert_eq!(ui.tabs.dns.table.offset, 40 - visible);
    run(&mut ui, &store, &[Action::Top, Action::Down]);
    let selected = store.dns().queries().rev().nth(1).cloned();

    // Three more arrive: the cursor stays on the same query.
    let mut newer = store.clone();
    let batch = DnsQueryBatch {
        // Sent after every logged one: the log orders by send time.
        queries: store
            .dns()
            .queries()
            .take(3)
            .map(|query| netlens_collectors::model::DnsQuery { at: fake::NOW, ..query.clone() })
            .collect(),
        counters: store.dns().counters(),
    };
    newer.apply(fake::event(fake::NOW, SourceId::DnsCapture, Payload::DnsQueries(batch)));
    let (cursor, _) = dns_now(&ui, &newer);
    assert_eq!(cursor, 4);
    assert_eq!(newer.dns().queries().rev().nth(cursor).cloned(), selected);
    // On the newest row it stays on the newest.
    run(&mut ui, &store, &[Action::Top]);
    assert_eq!(dns_now(&ui, &newer).0, 0);

    run(&mut ui, &store, &[Action::Filter]);
    typed(&mut ui, &store, "proc:curl");
    run(&mut ui, &store, &[Action::PromptSubmit]);
    assert_eq!((ui.filter(Tab::Dns), dns_log::filtered_len(&store, &ui.tabs.dns)), ("proc:curl", 5));
    run(&mut ui, &store, &[Action::Bottom]);
    assert_eq!(ui.tabs.dns.table.cursor, 4);
    run(&mut ui, &store, &[Action::CycleSort]);
    assert_eq!(ui.status().map(|s| s.text.as_str()), Some("the query log is always newest first"));
    run(&mut ui, &store, &[Action::Close]);
    assert_eq!(ui.filter(Tab::Dns), "", "esc clears the filter");
    assert_eq!((ui.tabs.dns.table.cursor, ui.tabs.dns.table.offset), (0, 0));
}

#[test]
fn an_abandoned_trace_is_no_longer_awaited() {
    let (mut ui, store) = ui_at(Tab::Dns);
    run(&mut ui, &store, &[Action::Trace, Action::PromptClear]);
    typed(&mut ui, &store, "example.org");
    run(&mut ui, &store, &[Action::PromptSubmit]);
    assert_eq!(ui.pending_trace(), Some("example.org"));
    // The app could not hand the request to the DNS source.
    ui.abandon_trace();
    assert_eq!(ui.pending_trace(), None);
    assert_eq!(
        crate::panes::dns_trace::pending(&ui.tabs.dns, &store),
        None,
        "the view shows the last trace again"
    );
}
