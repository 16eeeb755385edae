//! Writing text into a buffer: clipped to the buffer, truncated with `…`, never
//! wrapped, and with a fast path for the plain ASCII most of netlens's text is.

use std::fmt::{self, Write as _};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use unicode_width::UnicodeWidthChar;

/// The ellipsis that marks truncated text.
pub(crate) const ELLIPSIS: char = '…';

/// How text sits in a cell wider than itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Flush left.
    Left,
    /// Flush right (numbers).
    Right,
}

/// Printable ASCII only: one byte is one cell.
fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Display width in cells; control characters count as nothing (they are not drawn).
pub(crate) fn width(text: &str) -> usize {
    if is_plain(text) { text.len() } else { text.chars().map(|c| c.width().unwrap_or(0)).sum() }
}

/// Write `text` at (`x`, `y`) in at most `max` cells, ending with `…` when it does not
/// fit. Returns the cells used. Anything outside the buffer is skipped.
pub(crate) fn put(buf: &mut Buffer, x: u16, y: u16, max: u16, text: &str, style: Style) -> u16 {
    let area = buf.area;
    if y < area.top() || y >= area.bottom() || x < area.left() || x >= area.right() {
        return 0;
    }
    let max = max.min(area.right() - x);
    if max == 0 || text.is_empty() {
        return 0;
    }
    if is_plain(text) {
        let fits = text.len() <= usize::from(max);
        let shown = if fits { text.len() } else { usize::from(max) - 1 };
        let mut cx = x;
        for &byte in &text.as_bytes()[..shown] {
            buf[(cx, y)].set_char(char::from(byte)).set_style(style);
            cx += 1;
        }
        if !fits {
            buf[(cx, y)].set_char(ELLIPSIS).set_style(style);
            cx += 1;
        }
        return cx - x;
    }
    let total = width(text);
    if total <= usize::from(max) {
        let (end, _) = buf.set_stringn(x, y, text, usize::from(max), style);
        return end - x;
    }
    // Keep the longest prefix that leaves one cell for the ellipsis.
    let budget = usize::from(max) - 1;
    let mut used = 0;
    let mut cut = 0;
    for (i, c) in text.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        used += w;
        cut = i + c.len_utf8();
    }
    let (end, _) = buf.set_stringn(x, y, &text[..cut], budget, style);
    buf[(end, y)].set_char(ELLIPSIS).set_style(style);
    end + 1 - x
}

/// Write `text` aligned in a cell of `cell_width`, truncated with `…` if needed.
pub(crate) fn put_aligned(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    cell_width: u16,
    text: &str,
    style: Style,
    align: Align,
) {
    let w = width(text).min(usize::from(cell_width)) as u16;
    let x = match align {
        Align::Left => x,
        Align::Right => x + (cell_width - w),
    };
    put(buf, x, y, w, text, style);
}

/// Write spans one after another in at most `max` cells; the one that overflows is
/// truncated with `…`. Returns the cells used.
pub(crate) fn put_spans(buf: &mut Buffer, x: u16, y: u16, max: u16, spans: &[(&str, Style)]) -> u16 {
    let mut used = 0;
    for (text, style) in spans {
        if used >= max {
            break;
        }
        used += put(buf, x + used, y, max - used, text, *style);
    }
    used
}

/// The total width of spans.
pub(crate) fn spans_width(spans: &[(&str, Style)]) -> usize {
    spans.iter().map(|(text, _)| width(text)).sum()
}

/// Paint `style` over `area` (clipped to the buffer), clearing any text and any
/// modifier left by what was drawn there before (an overlay over a bold selected row
/// must not turn bold itself).
pub(crate) fn fill(buf: &mut Buffer, area: Rect, style: Style) {
    let area = buf.area.intersection(area);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            cell.reset();
            cell.set_style(style);
        }
    }
}

/// A reused formatting buffer: panes format numbers into it instead of allocating a
/// string per cell.
#[derive(Debug, Default)]
pub(crate) struct Scratch(String);

impl Scratch {
    /// Format `value` and borrow the text until the next call.
    pub(crate) fn format(&mut self, value: impl fmt::Display) -> &str {
        self.0.clear();
        // Writing into a String cannot fail.
        let _ = write!(self.0, "{value}");
        &self.0
    }
}

/// `text` broken at spaces into lines of at most `max` cells (a word longer than
/// that gets a line of its own, cut when drawn); at least one line.
pub(crate) fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && width(&line) + 1 + width(word) > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// Owned lines of styled text, for views assembled once per frame and scrolled as a
/// whole (details, help).
#[derive(Debug, Default)]
pub(crate) struct Doc {
    lines: Vec<Vec<(String, Style)>>,
}

impl Doc {
    /// Start a new line from spans.
    pub(crate) fn line<S: Into<String>>(&mut self, spans: impl IntoIterator<Item = (S, Style)>) {
        self.lines.push(spans.into_iter().map(|(text, style)| (text.into(), style)).collect());
    }

    /// An empty line.
    pub(crate) fn blank(&mut self) {
        self.lines.push(Vec::new());
    }

    /// Number of lines.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Append another document's lines.
    pub(crate) fn append(&mut self, other: Self) {
        self.lines.extend(other.lines);
    }

    /// Draw the lines from `scroll` on into `area`, each truncated with `…`.
    pub(crate) fn render(&self, buf: &mut Buffer, area: Rect, scroll: usize) {
        for (line, y) in self.lines.iter().skip(scroll).zip(area.top()..area.bottom()) {
            let mut x = area.x;
            for (text, style) in line {
                let room = area.right().saturating_sub(x);
                if room == 0 {
                    break;
                }
                x += put(buf, x, y, room, text, *style);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(buf: &Buffer, y: u16) -> String {
        (buf.area.left()..buf.area.right()).map(|x| buf[(x, y)].symbol().to_owned()).collect()
    }

    #[test]
    fn truncates_with_ellipsis_and_clips() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 2));
        assert_eq!(put(&mut buf, 0, 0, 6, "interfaces", Style::new()), 6);
        assert_eq!(row(&buf, 0), "inter…    ");
        assert_eq!(put(&mut buf, 7, 1, 20, "wlan0", Style::new()), 3);
        assert_eq!(row(&buf, 1), "       wl…");
        assert_eq!(put(&mut buf, 0, 5, 6, "off the buffer", Style::new()), 0);
        assert_eq!(put(&mut buf, 12, 0, 6, "right of it", Style::new()), 0);
    }

    #[test]
    fn unicode_and_control_characters() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 1));
        put(&mut buf, 0, 0, 8, "br→dock\u{7}er0", Style::new());
        assert_eq!(row(&buf, 0), "br→dock…");
        assert_eq!(width("a\u{7}b"), 2);
    }

    #[test]
    fn wrapping_at_spaces() {
        assert_eq!(wrap("the peer stopped answering", 10), ["the peer", "stopped", "answering"]);
        assert_eq!(wrap("a averyveryverylongword b", 6), ["a", "averyveryverylongword", "b"]);
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("fits", 80), ["fits"]);
    }

    #[test]
    fn right_alignment() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 1));
        put_aligned(&mut buf, 0, 0, 8, "12 KB/s", Style::new(), Align::Right);
        assert_eq!(row(&buf, 0), " 12 KB/s");
    }
}
