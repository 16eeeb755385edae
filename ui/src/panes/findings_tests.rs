use netlens_collectors::fake;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::context::Keys;
use crate::state::UiState;

fn screen(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let area = buffer.area;
    (0..area.height)
        .map(|y| (0..area.width).map(|x| buffer[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_panel_lists_open_findings_most_severe_first_and_the_details_show_evidence_cause_and_fix() {
    let store = fake::store();
    let open = store.findings().open();
    assert!(!open.is_empty(), "the scripted session has a finding to show");
    let ui = UiState::new();
    let theme = Theme::default();
    let now = store.updated_at().unwrap_or(Timestamp::UNIX_EPOCH);
    let paint = Paint { store: &store, theme: &theme, now, keys: Keys(ui.bindings()) };
    let mut terminal = Terminal::new(TestBackend::new(100, 40)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|frame| {
            let height = panel_height(&store);
            assert!(height >= 3);
            assert_eq!(panel(frame.buffer_mut(), Rect::new(0, 0, 100, height), 99, &paint), open.len() - 1);
            panel(frame.buffer_mut(), Rect::new(0, 0, 100, height), 0, &paint);
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let text = screen(&terminal);
    let first = open[0];
    assert!(text.contains(&first.title[..20.min(first.title.len())]), "{text}");
    assert!(text.contains(first.severity.as_str()), "{text}");

    let mut details_state = FindingDetails { id: first.id.clone(), scroll: crate::state::Scroll::default() };
    terminal
        .draw(|frame| details(frame, Rect::new(0, 0, 100, 40), &mut details_state, &paint))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = screen(&terminal);
    for heading in ["Evidence", "Cause", "Fix", first.rule.as_str()] {
        assert!(text.contains(heading), "{heading} missing:\n{text}");
    }
    let fact = &first.evidence[0].fact;
    assert!(text.contains(&fact[..fact.len().min(15)]), "{text}");

    details_state.id = "no_such_rule:nothing".to_owned();
    terminal
        .draw(|frame| details(frame, Rect::new(0, 0, 100, 40), &mut details_state, &paint))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(screen(&terminal).contains("no longer kept"));
}

#[test]
fn the_banner_names_the_worst_and_draws_nothing_without_findings() {
    let theme = Theme::default();
    let row = Rect::new(0, 0, 200, 1);
    let mut buf = Buffer::empty(row);
    assert!(!banner(&mut buf, row, &netlens_collectors::Store::default(), &theme, "1"));
    let store = fake::store();
    assert!(banner(&mut buf, row, &store, &theme, "1"));
    let line: String = (0..200).map(|x| buf[(x, 0)].symbol().to_owned()).collect();
    let worst = store.findings().worst().map(|f| f.title.clone()).unwrap_or_default();
    assert!(line.contains(&worst[..worst.len().min(30)]), "{line}");
    assert!(line.contains("1 Overview for evidence & fix"), "{line}");
}
