//! The Routes tab: routes grouped by table (main first, local last), then policy
//! rules, then neighbours, as one scrolled list whose cursor visits the data rows.

use std::cmp::Ordering;

use netlens_collectors::Store;
use netlens_collectors::model::{Neighbor, Route, RouteType, Rule, SourceId};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::tones::neighbor_style;
use crate::context::Paint;
use crate::filter::{Field, Filter, contains};
use crate::format::StackText;
use crate::state::{RouteSort, RoutesState, SortKey};
use crate::theme::Theme;
use crate::widgets::banner::source_banner;
use crate::widgets::marks::{note, position, scroll_marks};
use crate::widgets::pane::pane;
use crate::widgets::table::{Column, Layout, Measure, Row, header, scroll};
use crate::widgets::text::{Scratch, put_spans};

/// Route rows are indented under their table heading.
const INDENT: u16 = 2;

const DESTINATION: usize = 0;
const GATEWAY: usize = 1;
const DEV: usize = 2;
const TYPE: usize = 3;
const SOURCE: usize = 4;
const METRIC: usize = 5;
const PROTO: usize = 6;
const SCOPE: usize = 7;

const ROUTE_COLUMNS: [Column; 8] = [
    Column::left("DESTINATION", 18, 43, 0, 0),
    Column::left("GATEWAY", 12, 39, 1, 1),
    Column::left("DEV", 8, 15, 0, 2),
    Column::left("TYPE", 11, 11, 2, 9),
    Column::left("SOURCE", 13, 39, 4, 3),
    Column::right("METRIC", 6, 3),
    Column::left("PROTO", 6, 8, 3, 9),
    Column::left("SCOPE", 6, 7, 5, 9),
];

const PRIORITY: usize = 0;
const FAMILY: usize = 1;
const SELECTOR: usize = 2;
const ACTION: usize = 3;

const RULE_COLUMNS: [Column; 4] = [
    Column::right("PRIO", 6, 0),
    Column::left("FAMILY", 6, 6, 2, 9),
    Column::left("SELECTOR", 20, 64, 0, 1),
    Column::left("ACTION", 12, 32, 1, 0),
];

const ADDRESS: usize = 0;
const NEIGHBOR_DEV: usize = 1;
const MAC: usize = 2;
const STATE: usize = 3;

const NEIGHBOR_COLUMNS: [Column; 4] = [
    Column::left("ADDRESS", 15, 39, 0, 0),
    Column::left("DEV", 8, 15, 1, 1),
    Column::left("MAC", 17, 17, 2, 9),
    Column::left("STATE", 10, 10, 0, 9),
];

/// The three kinds of section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// Routes of every table.
    Routes,
    /// Policy rules.
    Rules,
    /// Neighbour entries.
    Neighbors,
}

/// One display row of the tab.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Line<'s> {
    /// `table main (254) · 12 routes`.
    Table { table: u32, count: usize },
    /// A section heading: routes, rules, neighbours, with the number of rows shown.
    Section { title: &'static str, count: usize },
    /// Column headings of a section.
    Columns(Section),
    /// Nothing (between sections).
    Gap,
    /// A route.
    Route(&'s Route),
    /// A policy rule.
    Rule(&'s Rule),
    /// A neighbour entry.
    Neighbor(&'s Neighbor),
}

impl Line<'_> {
    /// Whether the cursor can rest on this row.
    const fn is_data(&self) -> bool {
        matches!(self, Self::Route(_) | Self::Rule(_) | Self::Neighbor(_))
    }
}

/// The rows of the tab, and where the data rows are among them.
pub(crate) struct Model<'s> {
    /// Every display row.
    pub lines: Vec<Line<'s>>,
    /// Display index of each data row, in cursor order.
    pub data: Vec<usize>,
}

/// Main first, numbered tables in order, then `default`, then the noisy `local`.
fn table_rank(table: u32) -> (u8, u32) {
    match table {
        254 => (0, 0),
        253 => (2, 0),
        255 => (3, 0),
        other => (1, other),
    }
}

fn compare(sort: RouteSort, a: &Route, b: &Route) -> Ordering {
    match sort {
        RouteSort::Kernel => Ordering::Equal,
        RouteSort::Destination => {
            (a.family, a.destination, a.prefix_len).cmp(&(b.family, b.destination, b.prefix_len))
        }
        RouteSort::Gateway => (a.gateway.is_none(), a.gateway).cmp(&(b.gateway.is_none(), b.gateway)),
        RouteSort::Device => a.interface.cmp(&b.interface),
        RouteSort::Metric => a.metric.unwrap_or(0).cmp(&b.metric.unwrap_or(0)),
        RouteSort::Protocol => a.protocol.cmp(&b.protocol),
    }
}

fn route_matches(filter: &Filter, route: &Route) -> bool {
    filter.matches(|field, needle| match field {
        Some(Field::Table) => contains(&Route::table_name(route.table), needle),
        Some(Field::Dev) => route.interface.as_deref().is_some_and(|dev| contains(dev, needle)),
        Some(Field::Proto) => contains(&route.protocol, needle),
        Some(Field::Type) => contains(route.route_type.as_str(), needle),
        Some(Field::Family) => contains(route.family.as_str(), needle),
        _ => {
            contains(&route.destination_text(), needle)
                || route.gateway.is_some_and(|gw| contains(StackText::new(gw).as_str(), needle))
                || route.source.is_some_and(|src| contains(StackText::new(src).as_str(), needle))
                || route.interface.as_deref().is_some_and(|dev| contains(dev, needle))
                || contains(&route.protocol, needle)
                || contains(route.route_type.as_str(), needle)
        }
    })
}

fn rule_matches(filter: &Filter, rule: &Rule) -> bool {
    filter.matches(|field, needle| match field {
        Some(Field::Table) => contains(&Route::table_name(rule.table), needle),
        Some(Field::Family) => contains(rule.family.as_str(), needle),
        Some(_) => false,
        None => {
            contains(&rule.selector, needle)
                || contains(&rule.action, needle)
                || contains(&Route::table_name(rule.table), needle)
                || contains(StackText::new(rule.priority).as_str(), needle)
        }
    })
}

fn neighbor_matches(filter: &Filter, neighbor: &Neighbor) -> bool {
    filter.matches(|field, needle| match field {
        Some(Field::Dev) => contains(&neighbor.interface, needle),
        Some(Field::Family) => {
            contains(netlens_collectors::model::AddressFamily::of(&neighbor.address).as_str(), needle)
        }
        Some(_) => false,
        None => {
            contains(StackText::new(neighbor.address).as_str(), needle)
                || contains(&neighbor.interface, needle)
                || neighbor.mac.as_deref().is_some_and(|mac| contains(mac, needle))
                || contains(neighbor.state.as_str(), needle)
        }
    })
}

/// Build the rows for the current sort and filter. Sections the filter empties vanish.
pub(crate) fn model<'s>(store: &'s Store, state: &RoutesState) -> Model<'s> {
    let mut routes: Vec<&Route> =
        store.routes().iter().filter(|r| route_matches(&state.table.filter, r)).collect();
    routes.sort_by(|a, b| {
        let order = compare(state.table.sort, a, b);
        let order = if state.table.reversed { order.reverse() } else { order };
        table_rank(a.table).cmp(&table_rank(b.table)).then(order)
    });
    let rules: Vec<&Rule> = store.rules().iter().filter(|r| rule_matches(&state.table.filter, r)).collect();
    let neighbors: Vec<&Neighbor> =
        store.neighbors().iter().filter(|n| neighbor_matches(&state.table.filter, n)).collect();

    let mut lines = Vec::with_capacity(routes.len() + rules.len() + neighbors.len() + 16);
    if !routes.is_empty() {
        lines.push(Line::Section { title: "Routes by table", count: routes.len() });
        lines.push(Line::Columns(Section::Routes));
        let mut start = 0;
        while start < routes.len() {
            let table = routes[start].table;
            let count = routes[start..].iter().take_while(|r| r.table == table).count();
            lines.push(Line::Table { table, count });
            lines.extend(routes[start..start + count].iter().map(|r| Line::Route(r)));
            start += count;
        }
    }
    if !rules.is_empty() {
        if !lines.is_empty() {
            lines.push(Line::Gap);
        }
        lines.push(Line::Section { title: "Policy rules", count: rules.len() });
        lines.push(Line::Columns(Section::Rules));
        lines.extend(rules.into_iter().map(Line::Rule));
    }
    if !neighbors.is_empty() {
        if !lines.is_empty() {
            lines.push(Line::Gap);
        }
        lines.push(Line::Section { title: "Neighbours", count: neighbors.len() });
        lines.push(Line::Columns(Section::Neighbors));
        lines.extend(neighbors.into_iter().map(Line::Neighbor));
    }
    let data = lines.iter().enumerate().filter(|(_, line)| line.is_data()).map(|(i, _)| i).collect();
    Model { lines, data }
}

/// The first display row to draw so that the cursor's row shows, and the heading just
/// above it when the cursor is at the top of a section.
pub(crate) fn offset_for(model: &Model<'_>, cursor: usize, offset: usize, visible: usize) -> usize {
    let Some(&target) = model.data.get(cursor) else { return 0 };
    let mut offset = scroll(offset, target, visible, model.lines.len());
    // Moving up onto the first row of a section: bring its headings along.
    let mut heading = target;
    while heading > 0 && !model.lines[heading - 1].is_data() && !matches!(model.lines[heading - 1], Line::Gap)
    {
        heading -= 1;
    }
    if heading < offset && target - heading < visible {
        offset = heading;
    }
    offset
}

const fn route_type_style(theme: &Theme, route_type: RouteType) -> Style {
    match route_type {
        RouteType::Blackhole | RouteType::Unreachable | RouteType::Prohibit => theme.error(),
        RouteType::Throw => theme.warn(),
        _ => theme.muted(),
    }
}

/// Draw the tab.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &mut RoutesState, ctx: &Paint<'_>) {
    let Paint { store, theme, .. } = *ctx;
    let model = model(store, state);
    let buf = frame.buffer_mut();

    let tables = {
        let mut ids: Vec<u32> = store.routes().iter().map(|r| r.table).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    // Without rtnetlink (`--no-netlink`) the paths source is off and nothing here is
    // read: say so rather than count zeros that were never read.
    let netlink_off = store
        .source(SourceId::Paths)
        .is_some_and(|status| status.status == netlens_collectors::model::SourceState::Off);
    let summary = if netlink_off {
        "not read without rtnetlink".to_owned()
    } else {
        format!(
            "{} routes in {} tables · {} rules · {} neighbours",
            store.routes().len(),
            tables,
            store.rules().len(),
            store.neighbors().len()
        )
    };
    let mut title = vec![("Routes", theme.title()), ("  ", theme.muted()), (summary.as_str(), theme.muted())];
    if !state.table.filter.is_empty() {
        title.truncate(1);
        title.extend([("  filter ", theme.muted()), (state.table.filter.text(), theme.accent())]);
    }
    let arrow = if state.table.reversed { " ▼" } else { " ▲" };
    let notes =
        [("sort ", theme.muted()), (state.table.sort.label(), theme.accent()), (arrow, theme.accent())];
    let inner = pane(buf, area, theme.border(), &title, &notes);
    let banner = source_banner(buf, inner, store, SourceId::Interfaces, theme);
    let degraded = banner != inner;
    let inner = banner;
    if inner.is_empty() {
        return;
    }
    if model.data.is_empty() {
        let text = if degraded || netlink_off {
            "routes, rules and neighbours come from rtnetlink, which this source is not using".to_owned()
        } else if state.table.filter.is_empty() {
            "no routes, rules or neighbours yet".to_owned()
        } else {
            format!("nothing matches \"{}\" · esc clears the filter", state.table.filter.text())
        };
        note(buf, inner, &text, theme.muted());
        return;
    }
    let visible = usize::from(inner.height);
    let cursor = state.table.cursor.min(model.data.len() - 1);
    let offset = offset_for(&model, cursor, state.table.offset, visible);
    state.table.record(offset, visible);
    let selected_line = model.data[cursor];
    let rows_area = Rect::new(inner.x + INDENT, inner.y, inner.width.saturating_sub(INDENT), inner.height);
    let sorted = match state.table.sort {
        RouteSort::Kernel => None,
        RouteSort::Destination => Some(DESTINATION),
        RouteSort::Gateway => Some(GATEWAY),
        RouteSort::Device => Some(DEV),
        RouteSort::Metric => Some(METRIC),
        RouteSort::Protocol => Some(PROTO),
    };
    let on_screen = model.lines.iter().skip(offset).take(visible).copied();
    let [routes, rules, neighbors] = layouts(on_screen, rows_area);
    let mut painter = Painter {
        theme,
        inner,
        routes,
        rules,
        neighbors,
        sorted: sorted.map(|column| (column, state.table.reversed)),
        scratch: Scratch::default(),
        store,
    };
    for (index, y) in (offset..model.lines.len()).zip(inner.top()..inner.bottom()) {
        painter.line(buf, y, model.lines[index], index == selected_line);
    }
    position(buf, area, cursor, model.data.len(), theme.muted());
    scroll_marks(buf, area, offset, visible, model.lines.len(), theme);
}

/// The layouts of the three tables, each sized by its rows on screen (a table with no
/// row on screen keeps its declared widths for its headings).
fn layouts<'s>(lines: impl Iterator<Item = Line<'s>>, area: Rect) -> [Layout; 3] {
    let mut routes = Measure::of(&[DESTINATION, GATEWAY, DEV, SOURCE]);
    let mut rules = Measure::of(&[SELECTOR, ACTION]);
    let mut neighbors = Measure::of(&[ADDRESS, NEIGHBOR_DEV]);
    let mut seen = [false; 3];
    let address = |ip: Option<std::net::IpAddr>| ip.map_or(1, |ip| StackText::new(ip).as_str().len());
    for line in lines {
        match line {
            Line::Route(route) => {
                seen[0] = true;
                routes.text(DESTINATION, &route.destination_text());
                routes.cell(GATEWAY, address(route.gateway));
                routes.text(DEV, route.interface.as_deref().unwrap_or("–"));
                routes.cell(SOURCE, address(route.source));
            }
            Line::Rule(rule) => {
                seen[1] = true;
                rules.text(SELECTOR, &rule.selector);
                rules.text(ACTION, &action_text(rule));
            }
            Line::Neighbor(neighbor) => {
                seen[2] = true;
                neighbors.cell(ADDRESS, StackText::new(neighbor.address).as_str().len());
                neighbors.text(NEIGHBOR_DEV, &neighbor.interface);
            }
            Line::Section { .. } | Line::Table { .. } | Line::Columns(_) | Line::Gap => {}
        }
    }
    let fit = |columns: &[Column], measure: Measure, seen: bool| {
        if seen {
            Layout::fit(columns, &measure, area.x, area.width)
        } else {
            Layout::new(columns, area.x, area.width)
        }
    };
    [
        fit(&ROUTE_COLUMNS, routes, seen[0]),
        fit(&RULE_COLUMNS, rules, seen[1]),
        fit(&NEIGHBOR_COLUMNS, neighbors, seen[2]),
    ]
}

/// A rule's action: `lookup` names its table.
fn action_text(rule: &Rule) -> String {
    if rule.action == "lookup" {
        format!("lookup {}", Route::table_name(rule.table))
    } else {
        rule.action.clone()
    }
}

/// What drawing a row needs besides the row.
struct Painter<'t> {
    theme: &'t Theme,
    inner: Rect,
    routes: Layout,
    rules: Layout,
    neighbors: Layout,
    sorted: Option<(usize, bool)>,
    scratch: Scratch,
    store: &'t Store,
}

impl Painter<'_> {
    fn line(&mut self, buf: &mut Buffer, y: u16, line: Line<'_>, selected: bool) {
        let theme = self.theme;
        let inner = self.inner;
        let selection = selected.then(|| theme.selection());
        match line {
            Line::Section { title, count } => {
                let count = format!("  {count}");
                put_spans(buf, inner.x, y, inner.width, &[(title, theme.title()), (&count, theme.muted())]);
            }
            Line::Table { table, count } => {
                let name = Route::table_name(table);
                let id = if name == table.to_string() { String::new() } else { format!(" ({table})") };
                let count = format!(" · {count} route{}", if count == 1 { "" } else { "s" });
                let spans = [
                    ("table ", theme.muted()),
                    (&name, theme.accent()),
                    (&id, theme.muted()),
                    (&count, theme.muted()),
                ];
                put_spans(buf, inner.x + 1, y, inner.width.saturating_sub(1), &spans);
            }
            Line::Columns(Section::Routes) => {
                header(buf, y, &ROUTE_COLUMNS, &self.routes, theme, self.sorted);
            }
            Line::Columns(Section::Rules) => header(buf, y, &RULE_COLUMNS, &self.rules, theme, None),
            Line::Columns(Section::Neighbors) => {
                header(buf, y, &NEIGHBOR_COLUMNS, &self.neighbors, theme, None);
            }
            Line::Gap => {}
            Line::Route(route) => {
                let mut row =
                    Row::new(buf, inner, y, &self.routes, &ROUTE_COLUMNS, selection, &mut self.scratch);
                route_row(&mut row, route, theme);
                // A finding about the route's gateway (unreachable, asymmetric) marks it.
                let marked =
                    route.gateway.and_then(|gateway| super::finding_marks::address(self.store, gateway));
                super::finding_marks::draw(buf, inner.x.saturating_sub(1), y, marked, theme);
            }
            Line::Rule(rule) => {
                let mut row =
                    Row::new(buf, inner, y, &self.rules, &RULE_COLUMNS, selection, &mut self.scratch);
                row.display(PRIORITY, rule.priority, theme.muted());
                row.text(FAMILY, rule.family.as_str(), theme.muted());
                row.text(SELECTOR, &rule.selector, theme.text());
                let action = action_text(rule);
                let style = if rule.action == "lookup" || rule.action == "nop" {
                    theme.accent()
                } else {
                    theme.error()
                };
                row.text(ACTION, &action, style);
            }
            Line::Neighbor(neighbor) => {
                let mut row =
                    Row::new(buf, inner, y, &self.neighbors, &NEIGHBOR_COLUMNS, selection, &mut self.scratch);
                row.display(ADDRESS, neighbor.address, theme.text());
                row.text(NEIGHBOR_DEV, &neighbor.interface, theme.text());
                row.text(MAC, neighbor.mac.as_deref().unwrap_or("–"), theme.muted());
                row.text(STATE, neighbor.state.as_str(), neighbor_style(theme, neighbor.state));
                let marked = super::finding_marks::address(self.store, neighbor.address);
                super::finding_marks::draw(buf, inner.x.saturating_sub(1), y, marked, theme);
            }
        }
    }
}

fn route_row(row: &mut Row<'_>, route: &Route, theme: &Theme) {
    let destination_style = if route.is_default() { theme.accent() } else { theme.text() };
    row.text(DESTINATION, &route.destination_text(), destination_style);
    match route.gateway {
        Some(gateway) => row.display(GATEWAY, gateway, theme.text()),
        None => row.text(GATEWAY, "–", theme.muted()),
    }
    row.text(DEV, route.interface.as_deref().unwrap_or("–"), theme.text());
    row.text(TYPE, route.route_type.as_str(), route_type_style(theme, route.route_type));
    match route.source {
        Some(source) => row.display(SOURCE, source, theme.muted()),
        None => row.text(SOURCE, "–", theme.muted()),
    }
    match route.metric {
        Some(metric) => row.display(METRIC, metric, theme.muted()),
        None => row.text(METRIC, "–", theme.muted()),
    }
    row.text(PROTO, &route.protocol, theme.muted());
    row.text(SCOPE, route.scope.as_str(), theme.muted());
}
