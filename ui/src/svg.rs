//! A rendered screen as a self-contained SVG that looks like a terminal window: a
//! cell grid with per-cell colours, bold and underline, in a monospace font, with box
//! drawing, block, shade and braille characters drawn as shapes so borders join and
//! sparklines and charts are crisp whatever font the viewer has (many monospace fonts
//! lack braille, or draw it at another width). Used for the committed `screenshots/`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::Modifier;

use crate::theme::{Theme, rgb};

/// Cell width in pixels (the advance of a 15 px monospace font).
const CELL_W: u16 = 9;
/// Cell height in pixels.
const CELL_H: u16 = 18;
/// Margin between the window edge and the cell grid.
const PAD: u16 = 12;
/// Height of the window's title bar.
const TITLE_H: u16 = 30;
/// Baseline offset of text inside a cell.
const BASELINE: u16 = 13;
/// Block characters leave this much of the cell empty at the top, so sparklines on
/// neighbouring rows stay apart.
const BLOCK_GAP: u16 = 3;
/// Radius of rounded box corners.
const CORNER_R: f32 = 4.0;

/// Used when the theme leaves a colour to the terminal (`reset`).
const DEFAULT_FG: (u8, u8, u8) = (0xd0, 0xd0, 0xd0);
const DEFAULT_BG: (u8, u8, u8) = (0x12, 0x12, 0x12);

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The colours and weight one cell is drawn with.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Look {
    fg: String,
    bg: String,
    /// Only the modifiers an SVG can show: bold, italic, underline, dim.
    modifier: Modifier,
}

/// The terminal's default colours, as this screenshot draws them.
#[derive(Debug, Clone, Copy)]
struct Screen {
    fg: (u8, u8, u8),
    bg: (u8, u8, u8),
}

fn look(cell: &Cell, screen: Screen) -> Look {
    let mut fg = rgb(cell.fg).unwrap_or(screen.fg);
    let mut bg = rgb(cell.bg).unwrap_or(screen.bg);
    if cell.modifier.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    let shown = Modifier::BOLD | Modifier::ITALIC | Modifier::UNDERLINED | Modifier::DIM;
    Look { fg: hex(fg), bg: hex(bg), modifier: cell.modifier & shown }
}

/// Which of the four arms of a box-drawing character are drawn: up, down, left, right.
fn arms(symbol: &str) -> Option<[bool; 4]> {
    Some(match symbol {
        "─" | "━" | "═" => [false, false, true, true],
        "│" | "┃" | "║" => [true, true, false, false],
        "┌" => [false, true, false, true],
        "┐" => [false, true, true, false],
        "└" => [true, false, false, true],
        "┘" => [true, false, true, false],
        "├" => [true, true, false, true],
        "┤" => [true, true, true, false],
        "┬" => [false, true, true, true],
        "┴" => [true, false, true, true],
        "┼" => [true, true, true, true],
        _ => return None,
    })
}

/// Eighths of a cell a lower block character fills.
fn block_eighths(symbol: &str) -> Option<u16> {
    Some(match symbol {
        "▁" => 1,
        "▂" => 2,
        "▃" => 3,
        "▄" => 4,
        "▅" => 5,
        "▆" => 6,
        "▇" => 7,
        "█" => 8,
        _ => return None,
    })
}

/// How much of its colour a shade character shows (`░`, `▒`, `▓`).
fn shade_opacity(symbol: &str) -> Option<&'static str> {
    Some(match symbol {
        "░" => "0.3",
        "▒" => "0.55",
        "▓" => "0.8",
        _ => return None,
    })
}

/// Where each braille dot sits as (column, row) in the 2×4 grid, by bit: dots 1-3
/// and 7 are the left column top to bottom, 4-6 and 8 the right one.
const BRAILLE_GRID: [(u16, u16); 8] = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3)];

/// The dots of a braille cell (U+2800 + bits; bit 0 is dot 1), as (column, row) in
/// the 2×4 grid.
fn braille_dots(symbol: &str) -> Option<impl Iterator<Item = (u16, u16)>> {
    let mut chars = symbol.chars();
    let bits = match (chars.next(), chars.next()) {
        (Some(c @ '\u{2800}'..='\u{28ff}'), None) => u32::from(c) - 0x2800,
        _ => return None,
    };
    Some(
        BRAILLE_GRID
            .into_iter()
            .enumerate()
            .filter(move |(bit, _)| bits & (1 << bit) != 0)
            .map(|(_, dot)| dot),
    )
}

/// Side of a braille dot in pixels.
const DOT: u16 = 3;

/// Path data for a box-drawing cell at pixel (`x`, `y`), if the symbol is one.
fn box_path(symbol: &str, x: u16, y: u16) -> Option<String> {
    let (x0, y0) = (f32::from(x), f32::from(y));
    let (x1, y1) = (x0 + f32::from(CELL_W), y0 + f32::from(CELL_H));
    let (cx, cy) = (x0 + f32::from(CELL_W) / 2.0, y0 + f32::from(CELL_H) / 2.0);
    let r = CORNER_R;
    let rounded = match symbol {
        "╭" => Some(format!("M{x1} {cy}H{}A{r} {r} 0 0 0 {cx} {}V{y1}", cx + r, cy + r)),
        "╮" => Some(format!("M{x0} {cy}H{}A{r} {r} 0 0 1 {cx} {}V{y1}", cx - r, cy + r)),
        "╰" => Some(format!("M{cx} {y0}V{}A{r} {r} 0 0 0 {} {cy}H{x1}", cy - r, cx + r)),
        "╯" => Some(format!("M{cx} {y0}V{}A{r} {r} 0 0 1 {} {cy}H{x0}", cy - r, cx - r)),
        _ => None,
    };
    if rounded.is_some() {
        return rounded;
    }
    let [up, down, left, right] = arms(symbol)?;
    let mut d = String::new();
    if left || right {
        let (from, to) = (if left { x0 } else { cx }, if right { x1 } else { cx });
        let _ = write!(d, "M{from} {cy}H{to}");
    }
    if up || down {
        let (from, to) = (if up { y0 } else { cy }, if down { y1 } else { cy });
        let _ = write!(d, "M{cx} {from}V{to}");
    }
    Some(d)
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// A run of text cells sharing a look.
struct TextRun {
    look: Look,
    /// Left edge of each glyph's cell.
    x: Vec<u16>,
    /// Baseline.
    y: u16,
    text: String,
}

/// Render `buffer` as an SVG terminal window coloured by `theme` where cells use the
/// terminal's default colours.
#[must_use]
pub fn buffer_to_svg(buffer: &Buffer, theme: &Theme) -> String {
    let area = buffer.area;
    let screen = Screen {
        fg: rgb(theme.foreground).unwrap_or(DEFAULT_FG),
        bg: rgb(theme.background).unwrap_or(DEFAULT_BG),
    };
    let width = area.width * CELL_W + 2 * PAD;
    let height = area.height * CELL_H + 2 * PAD + TITLE_H;
    let mut svg = String::with_capacity(usize::from(area.width) * usize::from(area.height) * 24);
    window(&mut svg, width, height, rgb(theme.tab_bar).unwrap_or(screen.bg), screen);
    cells(&mut svg, buffer, screen);
    svg.push_str("</svg>\n");
    svg
}

/// The opening tag, styles, and a window: a rounded frame in the theme's bar colour, a
/// title bar with the three familiar buttons, and the screen's background below it.
fn window(svg: &mut String, width: u16, height: u16, frame: (u8, u8, u8), screen: Screen) {
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    let _ = writeln!(
        svg,
        "<style>text{{font-family:'DejaVu Sans Mono','Menlo','Consolas','Liberation Mono',monospace;\
         font-size:15px;white-space:pre}}.b{{font-weight:bold}}.i{{font-style:italic}}\
         .u{{text-decoration:underline}}.d{{opacity:0.6}}</style>"
    );
    let _ = writeln!(svg, r#"<rect width="{width}" height="{height}" rx="10" fill="{}"/>"#, hex(frame));
    for (i, colour) in ["#ff5f57", "#febc2e", "#28c840"].iter().enumerate() {
        let _ = writeln!(svg, r#"<circle cx="{}" cy="15" r="6" fill="{colour}"/>"#, 20 + i * 20);
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="20" text-anchor="middle" fill="{}" class="d">netlens</text>"#,
        width / 2,
        hex(screen.fg)
    );
    let _ = writeln!(
        svg,
        r#"<rect x="0" y="{TITLE_H}" width="{width}" height="{}" fill="{}"/>"#,
        height - TITLE_H,
        hex(screen.bg)
    );
}

/// Everything drawn per cell, collected by kind so each kind is one pass in the file:
/// backgrounds, block characters, box-drawing strokes per colour, text.
#[derive(Default)]
struct Layers {
    backgrounds: String,
    blocks: String,
    strokes: BTreeMap<String, String>,
    runs: Vec<TextRun>,
}

fn cells(svg: &mut String, buffer: &Buffer, screen: Screen) {
    let area = buffer.area;
    let screen_bg = hex(screen.bg);
    let mut layers = Layers::default();
    for row in 0..area.height {
        let y = TITLE_H + PAD + row * CELL_H;
        let mut bg_run: Option<(u16, u16, String)> = None;
        let mut text_run: Option<TextRun> = None;
        for col in 0..area.width {
            let cell = &buffer[(area.x + col, area.y + row)];
            let look = look(cell, screen);
            let x = PAD + col * CELL_W;

            // Backgrounds: neighbours of one colour merge into one rect.
            match &mut bg_run {
                Some((_, len, colour)) if *colour == look.bg => *len += 1,
                _ => {
                    if let Some((start, len, colour)) = bg_run.take()
                        && colour != screen_bg
                    {
                        push_rect(&mut layers.backgrounds, start, y, len * CELL_W, CELL_H, &colour);
                    }
                    bg_run = Some((x, 1, look.bg.clone()));
                }
            }

            let symbol = cell.symbol();
            let is_shape = if let Some(d) = box_path(symbol, x, y) {
                layers.strokes.entry(look.fg.clone()).or_default().push_str(&d);
                true
            } else if let Some(eighths) = block_eighths(symbol) {
                let h = (CELL_H - BLOCK_GAP) * eighths / 8;
                push_rect(&mut layers.blocks, x, y + CELL_H - h, CELL_W, h, &look.fg);
                true
            } else if let Some(opacity) = shade_opacity(symbol) {
                let h = CELL_H - BLOCK_GAP;
                let _ = writeln!(
                    layers.blocks,
                    r#"<rect x="{x}" y="{}" width="{CELL_W}" height="{h}" fill="{}" fill-opacity="{opacity}"/>"#,
                    y + BLOCK_GAP,
                    look.fg
                );
                true
            } else if let Some(dots) = braille_dots(symbol) {
                // Two columns of four dots, centred in their quarter of the cell.
                for (column, row) in dots {
                    let dx = x + (CELL_W / 2) * column + (CELL_W / 2 - DOT) / 2 + 1;
                    let dy = y + (CELL_H / 4) * row + (CELL_H / 4 - DOT) / 2 + 1;
                    push_rect(&mut layers.blocks, dx, dy, DOT, DOT, &look.fg);
                }
                true
            } else {
                false
            };
            if is_shape || symbol.trim().is_empty() {
                layers.runs.extend(text_run.take());
                continue;
            }
            match &mut text_run {
                Some(run) if run.look == look => {
                    run.x.push(x);
                    run.text.push_str(symbol);
                }
                _ => {
                    layers.runs.extend(text_run.take());
                    text_run = Some(TextRun { look, x: vec![x], y: y + BASELINE, text: symbol.to_owned() });
                }
            }
        }
        if let Some((start, len, colour)) = bg_run
            && colour != screen_bg
        {
            push_rect(&mut layers.backgrounds, start, y, len * CELL_W, CELL_H, &colour);
        }
        layers.runs.extend(text_run);
    }
    svg.push_str(&layers.backgrounds);
    svg.push_str(&layers.blocks);
    for (colour, d) in &layers.strokes {
        let _ = writeln!(svg, r#"<path d="{d}" stroke="{colour}" stroke-width="1.2" fill="none"/>"#);
    }
    for run in &layers.runs {
        write_run(svg, run);
    }
}

fn push_rect(out: &mut String, x: u16, y: u16, w: u16, h: u16, fill: &str) {
    let _ = writeln!(out, r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}"/>"#);
}

fn write_run(out: &mut String, run: &TextRun) {
    let classes: Vec<&str> =
        [(Modifier::BOLD, "b"), (Modifier::ITALIC, "i"), (Modifier::UNDERLINED, "u"), (Modifier::DIM, "d")]
            .into_iter()
            .filter(|(modifier, _)| run.look.modifier.contains(*modifier))
            .map(|(_, class)| class)
            .collect();
    // Each glyph sits on its own cell whatever the viewer's font advance is.
    let xs: Vec<String> = run.x.iter().map(u16::to_string).collect();
    let class = if classes.is_empty() { String::new() } else { format!(r#" class="{}""#, classes.join(" ")) };
    let _ = write!(out, r#"<text x="{}" y="{}" fill="{}"{class}>"#, xs.join(" "), run.y, run.look.fg);
    escape(&run.text, out);
    out.push_str("</text>\n");
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Style};

    use super::*;

    #[test]
    fn cells_become_shapes_rects_and_escaped_text() {
        let theme = Theme::default();
        let mut buffer = Buffer::empty(Rect::new(0, 0, 6, 2));
        buffer.set_string(0, 0, "╭─a<b", Style::new().fg(Color::Rgb(1, 2, 3)).add_modifier(Modifier::BOLD));
        buffer.set_string(0, 1, "▄█ &", Style::new().bg(Color::Rgb(9, 9, 9)));
        let svg = buffer_to_svg(&buffer, &theme);
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"78\" height=\"90\""),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>\n"));
        // Box drawing as one stroked path in the cell colour; blocks as rects.
        assert!(svg.contains(r##"stroke="#010203""##), "{svg}");
        assert!(svg.contains(r#"<rect x="12" y="71" width="9" height="7""#), "{svg}");
        // Text: per-glyph positions, escaped, bold class.
        assert!(
            svg.contains(r##"<text x="30 39 48" y="55" fill="#010203" class="b">a&lt;b</text>"##),
            "{svg}"
        );
        assert!(svg.contains(">&amp;</text>"), "{svg}");
        // A background that differs from the screen's.
        assert!(svg.contains(r##"width="36" height="18" fill="#090909""##), "{svg}");
    }

    #[test]
    fn braille_and_shades_become_dots_and_translucent_rects() {
        let theme = Theme::default();
        let mut buffer = Buffer::empty(Rect::new(0, 0, 3, 1));
        // ⢁: dots 1 and 8 (top left, bottom right); ⠀ (blank braille) draws nothing.
        buffer.set_string(0, 0, "⢁⠀░", Style::new().fg(Color::Rgb(1, 2, 3)));
        let svg = buffer_to_svg(&buffer, &theme);
        let dots: Vec<&str> = svg.lines().filter(|l| l.contains(r#"width="3" height="3""#)).collect();
        assert_eq!(dots.len(), 2, "{svg}");
        assert!(dots[0].contains(r#"x="13" y="43""#), "top left dot: {svg}");
        assert!(dots[1].contains(r#"x="17" y="55""#), "bottom right dot: {svg}");
        assert!(svg.contains(r#"fill-opacity="0.3""#), "{svg}");
        assert!(!svg.contains("fill=\"#010203\">"), "no glyph left to a font: {svg}");
    }

    #[test]
    fn reversed_cells_swap_colours() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 1, 1));
        buffer.set_string(0, 0, "x", Style::new().add_modifier(Modifier::REVERSED));
        let svg = buffer_to_svg(&buffer, &Theme::monochrome());
        assert!(svg.contains(r##"fill="#121212">x</text>"##), "{svg}");
        assert!(svg.contains(r##"width="9" height="18" fill="#d0d0d0""##), "{svg}");
    }
}
