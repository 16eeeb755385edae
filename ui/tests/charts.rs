//! The pictures (issue 11, item 9): rate charts on the Overview and in the interface
//! details, a path's verdict band with its RTT chart, the DNS waterfall and the Events
//! activity strip, snapshotted at 80×24, 120×40 and 200×50 from the scripted store;
//! the details panes fill their height; the charts draw without colour and in the
//! screenshot SVG.

use netlens_collectors::{Store, fake};
use netlens_ui::{Action, Tab, Theme, UiState, draw, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 50)];

/// The UI after `actions` on `tab`, each followed by a frame (frames record geometry).
fn state(store: &Store, tab: Tab, width: u16, height: u16, actions: &[Action]) -> UiState {
    let mut ui = UiState::new();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
    let theme = Theme::default();
    for action in [Action::Resize(width, height), Action::SelectTab(tab)].iter().chain(actions) {
        update(&mut ui, store, *action);
        terminal
            .draw(|frame| draw(frame, store, &mut ui, &theme, fake::NOW))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    ui
}

fn render(store: &Store, ui: &UiState, theme: &Theme, width: u16, height: u16) -> Buffer {
    let mut ui = ui.clone();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
    terminal.draw(|frame| draw(frame, store, &mut ui, theme, fake::NOW)).unwrap_or_else(|e| panic!("{e}"));
    terminal.backend().buffer().clone()
}

/// The screen as lines, trailing blanks trimmed.
fn lines(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    (0..area.height)
        .map(|y| (0..area.width).map(|x| buffer[(x, y)].symbol()).collect::<String>().trim_end().to_owned())
        .collect()
}

fn text(buffer: &Buffer) -> String {
    lines(buffer).join("\n") + "\n"
}

fn is_braille(c: char) -> bool {
    ('\u{2801}'..='\u{28ff}').contains(&c)
}

/// Rows inside the screen's panes with nothing but their borders.
fn blank_rows(buffer: &Buffer) -> usize {
    lines(buffer)
        .iter()
        .filter(|line| line.starts_with('│') && line[3..].trim_end_matches('│').trim().is_empty())
        .count()
}

/// The cases of the details panes: the Interfaces tab with its preview, an interface's
/// details, the Paths tab with example.org's preview, and its details.
fn details_cases() -> [(&'static str, Tab, Vec<Action>); 4] {
    [
        // eth0: the busiest interface.
        ("interfaces_preview", Tab::Interfaces, vec![Action::Down]),
        ("interface_details", Tab::Interfaces, vec![Action::Down, Action::Open]),
        // example.org:443: probed, one probe lost, satisfied throughout.
        ("paths_preview", Tab::Paths, vec![Action::Down, Action::Down]),
        ("path_details", Tab::Paths, vec![Action::Down, Action::Down, Action::Open]),
    ]
}

#[test]
fn details_panes_at_three_sizes() {
    let store = fake::store();
    for (width, height) in SIZES {
        for (name, tab, actions) in details_cases() {
            let ui = state(&store, tab, width, height, &actions);
            let screen = render(&store, &ui, &Theme::default(), width, height);
            insta::assert_snapshot!(format!("{name}_{width}x{height}"), text(&screen));
        }
    }
}

#[test]
fn details_panes_use_their_height() {
    let store = fake::store();
    for (width, height) in [(120, 40), (200, 50)] {
        for (name, tab, actions) in details_cases() {
            let ui = state(&store, tab, width, height, &actions);
            let screen = render(&store, &ui, &Theme::default(), width, height);
            let blank = blank_rows(&screen);
            assert!(blank <= 4, "{name} at {width}x{height}: {blank} blank rows\n{}", text(&screen));
            let braille = lines(&screen)
                .iter()
                .flat_map(|l| l.chars().collect::<Vec<_>>())
                .filter(|c| is_braille(*c))
                .count();
            assert!(braille > 20, "{name} at {width}x{height} has a chart\n{}", text(&screen));
        }
    }
}

#[test]
fn charts_label_their_scale_and_time() {
    let store = fake::store();
    let ui = state(&store, Tab::Interfaces, 120, 40, &[Action::Down, Action::Open]);
    let screen = lines(&render(&store, &ui, &Theme::default(), 120, 40));
    // eth0 peaks near 2.6 MB/s receive: the round top above it, both directions.
    assert!(screen.iter().any(|l| l.contains("│ rx 3.00 MB/s│")), "{screen:#?}");
    assert!(screen.iter().any(|l| l.contains("│ tx 3.00 MB/s│")), "{screen:#?}");
    assert!(screen.iter().any(|l| l.contains("-1m28s") && l.contains("now")), "{screen:#?}");
    // The Interfaces table says its one scale in the TRAFFIC header.
    let ui = state(&store, Tab::Interfaces, 200, 50, &[]);
    let screen = lines(&render(&store, &ui, &Theme::default(), 200, 50));
    assert!(screen.iter().any(|l| l.contains("TRAFFIC ≤ 3.00 MB/s")), "{screen:#?}");
    // The Overview scales the same data the same way.
    let ui = state(&store, Tab::Overview, 200, 50, &[]);
    let screen = lines(&render(&store, &ui, &Theme::default(), 200, 50));
    assert!(screen.iter().any(|l| l.contains("TRAFFIC ≤ 3.00 MB/s")), "{screen:#?}");
}

#[test]
fn overview_events_and_trace_pictures() {
    let store = fake::store();
    let cases = [
        ("overview_charts_200x50", Tab::Overview, vec![], (200, 50)),
        ("overview_charts_120x40", Tab::Overview, vec![], (120, 40)),
        ("events_activity_120x40", Tab::Events, vec![], (120, 40)),
        ("dns_waterfall_120x40", Tab::Dns, vec![Action::SwitchFocus], (120, 40)),
        // The worst finding shown whole: evidence, cause and fix.
        ("finding_details_120x40", Tab::Overview, vec![Action::Open], (120, 40)),
    ];
    for (name, tab, actions, (width, height)) in cases {
        let ui = state(&store, tab, width, height, &actions);
        insta::assert_snapshot!(name, text(&render(&store, &ui, &Theme::default(), width, height)));
    }
}

#[test]
fn the_overview_charts_the_busiest_interfaces() {
    let store = fake::store();
    let ui = state(&store, Tab::Overview, 200, 50, &[]);
    let screen = lines(&render(&store, &ui, &Theme::default(), 200, 50));
    let titles: Vec<&String> = screen.iter().filter(|l| l.starts_with("╭ eth0 rx")).collect();
    assert_eq!(titles.len(), 1, "{screen:#?}");
    // Busiest first: eth0, wlan0, wg0, lo (by receive plus transmit).
    let row = titles[0];
    let order: Vec<usize> = ["╭ eth0", "╭ wlan0", "╭ wg0", "╭ lo"]
        .iter()
        .map(|name| row.find(name).unwrap_or(usize::MAX))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{row}");
    // At 80×24 there is no room: the charts go, the rest stays.
    let ui = state(&store, Tab::Overview, 80, 24, &[]);
    let screen = lines(&render(&store, &ui, &Theme::default(), 80, 24));
    assert!(!screen.iter().any(|l| l.chars().any(is_braille)), "{screen:#?}");
    assert!(screen.iter().any(|l| l.contains("Latest events")), "{screen:#?}");
}

#[test]
fn charts_draw_without_colour() {
    let store = fake::store();
    let plain = Theme::default().without_color();
    for (tab, actions) in [
        (Tab::Interfaces, vec![Action::Down, Action::Open]),
        (Tab::Paths, vec![Action::Down, Action::Down, Action::Open]),
        (Tab::Overview, vec![]),
    ] {
        let ui = state(&store, tab, 200, 50, &actions);
        let screen = render(&store, &ui, &plain, 200, 50);
        let braille = lines(&screen)
            .iter()
            .flat_map(|l| l.chars().collect::<Vec<_>>())
            .filter(|c| is_braille(*c))
            .count();
        assert!(braille > 20, "{tab:?}\n{}", text(&screen));
        let area = screen.area;
        let coloured = (0..area.height)
            .flat_map(|y| (0..area.width).map(move |x| (x, y)))
            .filter(|&(x, y)| screen[(x, y)].fg != ratatui::style::Color::Reset)
            .count();
        assert_eq!(coloured, 0, "{tab:?}: no colour at all under NO_COLOR");
    }
}

#[test]
fn charts_render_in_the_screenshot_svg() {
    let store = fake::store();
    let ui = state(&store, Tab::Interfaces, 120, 40, &[Action::Down, Action::Open]);
    let screen = render(&store, &ui, &Theme::default(), 120, 40);
    let svg = netlens_ui::svg::buffer_to_svg(&screen, &Theme::default());
    let dots = svg.lines().filter(|l| l.contains(r#"width="3" height="3""#)).count();
    assert!(dots > 100, "braille drawn as dots: {dots}");
    assert!(!svg.chars().any(is_braille), "no braille left to the viewer's font");
}

#[test]
fn a_small_overview_leaves_no_box_without_a_row() {
    let store = fake::store();
    for (width, height) in
        [60, 70, 80].into_iter().flat_map(|width| (16..=26).map(move |height| (width, height)))
    {
        let ui = state(&store, Tab::Overview, width, height, &[]);
        let screen = lines(&render(&store, &ui, &Theme::default(), width, height));
        let empty = screen.windows(2).position(|pair| pair[0].starts_with('╭') && pair[1].starts_with('╰'));
        assert_eq!(empty, None, "{width}×{height}: a box with no row\n{}", screen.join("\n"));
    }
}
