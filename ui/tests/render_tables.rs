//! Tables that use their space: the Connections and Paths panes at 80×24, 120×40 and
//! 200×50 from the scripted store, with closed connections folded and shown.

use netlens_collectors::{Store, fake};
use netlens_ui::{Action, Tab, Theme, UiState, draw, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 50)];

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

/// The screen after `actions` on `tab`, each key followed by a frame as in the app.
fn screen(store: &Store, tab: Tab, width: u16, height: u16, actions: &[Action]) -> String {
    let mut ui = UiState::new();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let theme = Theme::default();
    for action in [Action::Resize(width, height), Action::SelectTab(tab)].iter().chain(actions) {
        update(&mut ui, store, *action);
        terminal.draw(|frame| draw(frame, store, &mut ui, &theme, fake::NOW)).unwrap();
    }
    text(terminal.backend().buffer())
}

fn typed(text: &str) -> Vec<Action> {
    text.chars().map(Action::PromptInput).collect()
}

#[test]
fn connections_and_paths_at_three_sizes() {
    let store = fake::store();
    for (width, height) in SIZES {
        let name = format!("connections_{width}x{height}");
        insta::assert_snapshot!(name, screen(&store, Tab::Connections, width, height, &[]));
        let name = format!("connections_closed_shown_{width}x{height}");
        insta::assert_snapshot!(
            name,
            screen(&store, Tab::Connections, width, height, &[Action::ToggleClosed])
        );
        let name = format!("paths_{width}x{height}");
        insta::assert_snapshot!(name, screen(&store, Tab::Paths, width, height, &[]));
    }
}

#[test]
fn connections_filtered_counts_agree() {
    let store = fake::store();
    let mut filter = vec![Action::Filter];
    filter.extend(typed("proc:curl"));
    filter.push(Action::PromptSubmit);
    insta::assert_snapshot!(
        "connections_filtered_120x40",
        screen(&store, Tab::Connections, 120, 40, &filter)
    );
}

#[test]
fn a_long_verdict_is_whole_while_the_row_has_room() {
    use netlens_collectors::Payload;
    use netlens_collectors::model::{PathReason, PathStatus, SourceId};
    let mut store = fake::store();
    let mut paths = fake::path_states();
    let path =
        paths.iter_mut().find(|p| p.target == "10.20.0.5:22").unwrap_or_else(|| panic!("no such path"));
    path.status = PathStatus::Unsatisfied;
    path.reason = Some(PathReason::GatewayUnreachable);
    path.reason_subject = Some("192.168.1.1".to_owned());
    path.probe = None;
    store.apply(fake::event(fake::NOW, SourceId::Paths, Payload::Paths(paths)));
    for width in [100, 120, 200] {
        let screen = screen(&store, Tab::Paths, width, 40, &[]);
        // The table's row (the findings banner above the pane names the target too).
        let row = screen
            .lines()
            .find(|l| l.contains("10.20.0.5:22") && (l.starts_with('│') || l.starts_with('◆')))
            .unwrap_or_default();
        assert!(row.contains("unsatisfied gateway_unreachable 192.168.1.1"), "{width}:\n{screen}");
    }
}
