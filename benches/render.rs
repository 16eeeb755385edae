//! One full frame of every tab at 200×50 with 200 interfaces, 10,000 timeline events
//! and 10,000 established connections (budgets: at most 2 ms per frame for issue 2's
//! tabs, 3 ms for the Connections tab), and of the DNS tab with a full 2,000-entry
//! query log (budget: well under 3 ms), and of the Paths tab and a path's details over
//! the scripted store (verdict band and RTT chart over its path history), drawn
//! through ratatui's `TestBackend` so the cost includes the terminal's diff of the frame.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use netlens_collectors::{Store, fake};
use netlens_ui::{Action, Tab, Theme, UiState, draw, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;

/// Apply `actions` as the app does: each key followed by a frame, which records the
/// geometry (rows shown, page sizes) the next key reads.
fn apply(ui: &mut UiState, store: &Store, actions: &[Action]) {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap_or_else(|e| panic!("{e}"));
    let theme = Theme::default();
    for action in actions {
        update(ui, store, *action);
        terminal.draw(|frame| draw(frame, store, ui, &theme, fake::NOW)).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn frames(c: &mut Criterion) {
    let store = fake::large_connection_store(10_000);
    let theme = Theme::default();
    let mut group = c.benchmark_group("frame_200x50");
    let mut cases: Vec<(String, UiState)> = Tab::ALL
        .iter()
        .map(|tab| {
            let mut ui = UiState::new();
            apply(&mut ui, &store, &[Action::Resize(WIDTH, HEIGHT), Action::SelectTab(*tab)]);
            (tab.title().to_lowercase(), ui)
        })
        .collect();
    // The worst cases: a filter that scans every event, the details view, the help overlay.
    let mut filtered = UiState::new();
    let mut actions = vec![Action::Resize(WIDTH, HEIGHT), Action::SelectTab(Tab::Events), Action::Filter];
    actions.extend("subject:veth0042 added".chars().map(Action::PromptInput));
    actions.push(Action::PromptSubmit);
    apply(&mut filtered, &store, &actions);
    cases.push(("events_filtered".to_owned(), filtered));
    let mut details = UiState::new();
    apply(
        &mut details,
        &store,
        &[Action::Resize(WIDTH, HEIGHT), Action::SelectTab(Tab::Interfaces), Action::Down, Action::Open],
    );
    cases.push(("interface_details".to_owned(), details));
    let mut help = UiState::new();
    apply(&mut help, &store, &[Action::Resize(WIDTH, HEIGHT), Action::Help]);
    cases.push(("help".to_owned(), help));
    // The Connections tab's heavier cases: sorted by a measure and scrolled into the
    // middle (selection over 10,000 rows), grouped by process, filtered, and the
    // Overview's top talkers (covered by "overview" above).
    let connections = |actions: &[Action]| {
        let mut ui = UiState::new();
        apply(&mut ui, &store, &[Action::Resize(WIDTH, HEIGHT), Action::SelectTab(Tab::Connections)]);
        apply(&mut ui, &store, actions);
        ui
    };
    let mut rtt_middle = vec![Action::CycleSort; 6];
    rtt_middle.extend([Action::PageDown; 100]);
    cases.push(("connections_by_rtt_scrolled".to_owned(), connections(&rtt_middle)));
    cases.push(("connections_grouped".to_owned(), connections(&[Action::ToggleGroup, Action::PageDown])));
    let mut filtered = vec![Action::Filter];
    filtered.extend("port:8080 rtt>10ms".chars().map(Action::PromptInput));
    filtered.push(Action::PromptSubmit);
    cases.push(("connections_filtered".to_owned(), connections(&filtered)));
    cases.push(("connection_details".to_owned(), connections(&[Action::Down, Action::Open])));

    for (name, ui) in &mut cases {
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap_or_else(|e| panic!("{e}"));
        group.bench_function(name.as_str(), |b| {
            b.iter(|| {
                // A fresh previous frame each time, so every cell is diffed and written,
                // as after a tab switch.
                terminal.clear().unwrap_or_else(|e| panic!("{e}"));
                terminal
                    .draw(|frame| draw(frame, black_box(&store), black_box(&mut *ui), &theme, fake::NOW))
                    .unwrap_or_else(|e| panic!("{e}"));
            });
        });
    }

    // The DNS tab over its own store: a full query log, filtered (every row tested) and
    // scrolled into the middle, and with the trace focused.
    let dns_store = fake::large_dns_store(2_000);
    let dns = |actions: &[Action]| {
        let mut ui = UiState::new();
        apply(&mut ui, &dns_store, &[Action::Resize(WIDTH, HEIGHT), Action::SelectTab(Tab::Dns)]);
        apply(&mut ui, &dns_store, actions);
        ui
    };
    let mut filtered = vec![Action::Filter];
    filtered.extend("proc:curl svc3".chars().map(Action::PromptInput));
    filtered.push(Action::PromptSubmit);
    let mut dns_cases = [
        ("dns_full_log", dns(&[])),
        ("dns_log_scrolled", dns(&[Action::PageDown; 20])),
        ("dns_log_filtered", dns(&filtered)),
        ("dns_trace_focused", dns(&[Action::SwitchFocus])),
    ];
    for (name, ui) in &mut dns_cases {
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap_or_else(|e| panic!("{e}"));
        group.bench_function(*name, |b| {
            b.iter(|| {
                terminal.clear().unwrap_or_else(|e| panic!("{e}"));
                terminal
                    .draw(|frame| draw(frame, black_box(&dns_store), black_box(&mut *ui), &theme, fake::NOW))
                    .unwrap_or_else(|e| panic!("{e}"));
            });
        });
    }
    path_frames(&mut group, &theme);
    group.finish();
}

/// The path pictures over the scripted store: the preview's band and RTT chart under
/// the table, and the details with both beneath the two columns.
fn path_frames(group: &mut BenchmarkGroup<'_, WallTime>, theme: &Theme) {
    let path_store = fake::store();
    let paths = |actions: &[Action]| {
        let mut ui = UiState::new();
        apply(&mut ui, &path_store, &[Action::Resize(WIDTH, HEIGHT), Action::SelectTab(Tab::Paths)]);
        apply(&mut ui, &path_store, actions);
        ui
    };
    let mut path_cases = [
        ("paths_preview_chart", paths(&[Action::Down, Action::Down])),
        ("path_details_chart", paths(&[Action::Down, Action::Down, Action::Open])),
    ];
    for (name, ui) in &mut path_cases {
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap_or_else(|e| panic!("{e}"));
        group.bench_function(*name, |b| {
            b.iter(|| {
                terminal.clear().unwrap_or_else(|e| panic!("{e}"));
                terminal
                    .draw(|frame| draw(frame, black_box(&path_store), black_box(&mut *ui), theme, fake::NOW))
                    .unwrap_or_else(|e| panic!("{e}"));
            });
        });
    }
}

criterion_group!(benches, frames);
criterion_main!(benches);
