//! Themes: one colour per semantic slot, never a colour written in a pane.
//!
//! Panes ask for a meaning (`theme.ok()`, `theme.rx()`, `theme.selection()`), the theme
//! answers with a [`Style`]. Built-in themes are TOML files under `themes/`, embedded in
//! the binary; a user's file may set only some slots and inherits the rest from a base
//! theme. [`Theme::without_color`] serves `NO_COLOR`: every colour becomes the
//! terminal's default, and the styles that carry meaning through colour alone
//! (selection, the active tab, the paused badge) switch to reverse video so they stay
//! visible.

use ratatui::style::{Color, Modifier, Style};

/// The built-in themes, by name, with their embedded TOML.
const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

/// The names of [`BUILTIN`], for messages and `--theme` completion.
const BUILTIN_NAMES: [&str; 3] = [BUILTIN[0].0, BUILTIN[1].0, BUILTIN[2].0];

/// Declares the slots once: the struct fields (documented where declared), the list of
/// file keys, and lookup by key, so the three can never disagree.
macro_rules! slots {
    ($( $(#[doc = $doc:literal])+ $field:ident, )+) => {
        /// A colour theme: one colour per semantic slot.
        ///
        /// Each field is the key of the same name in a theme file. Colours are names
        /// (`cyan`, `lightblue`, `darkgray`, …), `#rrggbb`, or `reset` for the
        /// terminal's own default.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Theme {
            $( $(#[doc = $doc])+ pub $field: Color, )+
            /// Colour is off (`NO_COLOR`): meaning is carried by modifiers instead.
            monochrome: bool,
        }

        impl Theme {
            /// Every key a theme file may set, in the order the struct declares them.
            pub const KEYS: &'static [&'static str] = &[$(stringify!($field)),+];

            /// A theme with every slot set to `color`.
            const fn filled(color: Color) -> Self {
                Self { $($field: color,)+ monochrome: false }
            }

            fn slot_mut(&mut self, key: &str) -> Option<&mut Color> {
                match key {
                    $(stringify!($field) => Some(&mut self.$field),)+
                    _ => None,
                }
            }

            /// Every slot with its key, in declaration order.
            #[must_use]
            pub fn slots(&self) -> Vec<(&'static str, Color)> {
                vec![$((stringify!($field), self.$field)),+]
            }
        }
    };
}

slots! {
    /// Screen background behind everything.
    background,
    /// Regular text.
    foreground,
    /// Secondary text: labels, units, timestamps, empty-state notes.
    muted,
    /// The app name, section titles and key names in hints.
    accent,
    /// Pane borders.
    border,
    /// The border of whatever has the keyboard: the help overlay, the details view,
    /// the filter prompt.
    border_focused,
    /// Background of the tab bar row.
    tab_bar,
    /// Background of the selected tab.
    tab_active,
    /// Text of the selected tab.
    tab_active_text,
    /// Text of the other tabs.
    tab_inactive,
    /// Table column headings.
    header,
    /// Background of the selected row.
    selection,
    /// Text of the selected row.
    selection_text,
    /// Healthy: up, carrier, reachable, source ok, added.
    ok,
    /// Needs attention: tentative, deprecated, stale, degraded, changed.
    warn,
    /// Broken: down, no carrier, failed, dadfailed, errors and drops, removed.
    error,
    /// Neutral facts worth noticing: burst counts (×N), exports, source changes.
    info,
    /// Received traffic: rates and sparklines.
    rx,
    /// Transmitted traffic: rates and sparklines.
    tx,
    /// Background of the status bar.
    status_bar,
    /// Text of the status bar.
    status_text,
    /// Background of the PAUSED badge (its text uses `background`).
    paused,
    /// Background of the help overlay and the details view.
    overlay,
}

/// Why a theme file was rejected. Messages name the key and the value and say how to
/// fix them; the caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    /// The file is not valid TOML.
    #[error("line {line}: {message}; a theme file is lines of `slot = \"colour\"`")]
    Syntax {
        /// 1-based line of the problem.
        line: usize,
        /// The TOML parser's description.
        message: String,
    },
    /// A key that names no slot.
    #[error("unknown key `{key}` (= {value}){hint}; theme keys are: {known}", known = Theme::KEYS.join(", "))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// Its value as written.
        value: String,
        /// `, did you mean `…`?` when a known key is close, else empty.
        hint: String,
    },
    /// A value that is not a colour.
    #[error(
        "`{key}` = {value} is not a colour; use a name such as \"cyan\" or \"lightblue\", \
         a hex colour \"#rrggbb\", or \"reset\" for the terminal's default"
    )]
    BadColor {
        /// The slot.
        key: String,
        /// Its value as written.
        value: String,
    },
}

impl Default for Theme {
    /// The dark theme.
    fn default() -> Self {
        Self::builtin("dark").unwrap_or_else(Self::monochrome)
    }
}

impl Theme {
    /// A built-in theme by name: `dark` (the default), `light`, `high-contrast`.
    #[must_use]
    pub fn builtin(name: &str) -> Option<Self> {
        let (_, text) = BUILTIN.iter().find(|(builtin, _)| *builtin == name)?;
        // The embedded files are checked by tests; a broken one is a build defect,
        // and reporting "no such theme" beats drawing with half its colours.
        Self::from_toml(&Self::monochrome(), text).ok()
    }

    /// The names [`Theme::builtin`] accepts.
    #[must_use]
    pub const fn builtin_names() -> &'static [&'static str] {
        &BUILTIN_NAMES
    }

    /// `base` with the slots `text` sets replaced: a partial file overrides only what
    /// it names.
    pub fn from_toml(base: &Self, text: &str) -> Result<Self, ThemeError> {
        let table: toml::Table = text.parse().map_err(|error: toml::de::Error| {
            let line =
                error.span().map_or(1, |span| text[..span.start.min(text.len())].lines().count().max(1));
            ThemeError::Syntax { line, message: error.message().trim_end_matches('.').to_owned() }
        })?;
        // Colour is on in a theme read from a file, even over a colourless base;
        // `NO_COLOR` is applied afterwards with `without_color`.
        let mut theme = Self { monochrome: false, ..*base };
        for (key, value) in &table {
            let Some(slot) = theme.slot_mut(key) else {
                let hint = closest_key(key).map(|k| format!(", did you mean `{k}`?")).unwrap_or_default();
                return Err(ThemeError::UnknownKey { key: key.clone(), value: value.to_string(), hint });
            };
            let color = value.as_str().and_then(parse_color);
            *slot =
                color.ok_or_else(|| ThemeError::BadColor { key: key.clone(), value: value.to_string() })?;
        }
        Ok(theme)
    }

    /// Every slot the terminal's default colour, with meaning carried by modifiers.
    #[must_use]
    pub const fn monochrome() -> Self {
        let mut theme = Self::filled(Color::Reset);
        theme.monochrome = true;
        theme
    }

    /// This theme with colour off (`NO_COLOR`): every colour reset, modifiers kept, and
    /// reverse video where colour alone marked something (selection, active tab, badge).
    #[must_use]
    pub fn without_color(&self) -> Self {
        let mut theme = *self;
        for key in Self::KEYS {
            if let Some(slot) = theme.slot_mut(key) {
                *slot = Color::Reset;
            }
        }
        theme.monochrome = true;
        theme
    }

    /// Whether colour is off.
    #[must_use]
    pub const fn is_monochrome(&self) -> bool {
        self.monochrome
    }

    /// The whole screen: regular text on the background.
    #[must_use]
    pub const fn base(&self) -> Style {
        Style::new().fg(self.foreground).bg(self.background)
    }

    /// Regular text, background untouched.
    #[must_use]
    pub const fn text(&self) -> Style {
        fg(self.foreground)
    }

    /// Secondary text.
    #[must_use]
    pub const fn muted(&self) -> Style {
        fg(self.muted)
    }

    /// Accent text (key names, the app name).
    #[must_use]
    pub const fn accent(&self) -> Style {
        fg(self.accent)
    }

    /// Pane and section titles.
    #[must_use]
    pub const fn title(&self) -> Style {
        fg(self.accent).add_modifier(Modifier::BOLD)
    }

    /// Pane borders.
    #[must_use]
    pub const fn border(&self) -> Style {
        fg(self.border)
    }

    /// The border of whatever has the keyboard.
    #[must_use]
    pub const fn border_focused(&self) -> Style {
        fg(self.border_focused)
    }

    /// Table column headings.
    #[must_use]
    pub const fn header(&self) -> Style {
        fg(self.header).add_modifier(Modifier::BOLD)
    }

    /// The selected row.
    #[must_use]
    pub const fn selection(&self) -> Style {
        let style = Style::new().fg(self.selection_text).bg(self.selection).add_modifier(Modifier::BOLD);
        if self.monochrome { style.add_modifier(Modifier::REVERSED) } else { style }
    }

    /// Healthy.
    #[must_use]
    pub const fn ok(&self) -> Style {
        fg(self.ok)
    }

    /// Needs attention.
    #[must_use]
    pub const fn warn(&self) -> Style {
        fg(self.warn)
    }

    /// Broken.
    #[must_use]
    pub const fn error(&self) -> Style {
        let style = fg(self.error);
        if self.monochrome { style.add_modifier(Modifier::BOLD) } else { style }
    }

    /// Neutral but noteworthy.
    #[must_use]
    pub const fn info(&self) -> Style {
        fg(self.info)
    }

    /// Received traffic.
    #[must_use]
    pub const fn rx(&self) -> Style {
        fg(self.rx)
    }

    /// Transmitted traffic.
    #[must_use]
    pub const fn tx(&self) -> Style {
        fg(self.tx)
    }

    /// A listening socket (and unconnected UDP): a service waiting for peers.
    #[must_use]
    pub const fn listening(&self) -> Style {
        fg(self.accent)
    }

    /// An established connection.
    #[must_use]
    pub const fn established(&self) -> Style {
        fg(self.ok)
    }

    /// A connection being set up (`syn_sent`, `syn_recv`).
    #[must_use]
    pub const fn connecting(&self) -> Style {
        fg(self.info)
    }

    /// A connection on its way out (`fin_wait*`, `close_wait`, `last_ack`, `time_wait`):
    /// secondary and slanted, so it reads as fading rather than as a problem.
    #[must_use]
    pub const fn closing(&self) -> Style {
        fg(self.muted).add_modifier(Modifier::ITALIC)
    }

    /// A closed connection still shown for a while: dimmed.
    #[must_use]
    pub const fn closed(&self) -> Style {
        fg(self.muted).add_modifier(Modifier::DIM)
    }

    /// The tab bar row.
    #[must_use]
    pub const fn tab_bar(&self) -> Style {
        Style::new().fg(self.tab_inactive).bg(self.tab_bar)
    }

    /// The selected tab.
    #[must_use]
    pub const fn tab_active(&self) -> Style {
        let style = Style::new().fg(self.tab_active_text).bg(self.tab_active).add_modifier(Modifier::BOLD);
        if self.monochrome { style.add_modifier(Modifier::REVERSED) } else { style }
    }

    /// The other tabs.
    #[must_use]
    pub const fn tab_inactive(&self) -> Style {
        fg(self.tab_inactive)
    }

    /// The status bar row.
    #[must_use]
    pub const fn status_bar(&self) -> Style {
        Style::new().fg(self.status_text).bg(self.status_bar)
    }

    /// The PAUSED badge.
    #[must_use]
    pub const fn paused(&self) -> Style {
        let style = Style::new().fg(self.background).bg(self.paused).add_modifier(Modifier::BOLD);
        if self.monochrome { style.add_modifier(Modifier::REVERSED) } else { style }
    }

    /// Overlays: help and details.
    #[must_use]
    pub const fn overlay(&self) -> Style {
        Style::new().fg(self.foreground).bg(self.overlay)
    }
}

/// Text in `color`, background untouched.
const fn fg(color: Color) -> Style {
    Style::new().fg(color)
}

/// The known key closest to a misspelt one, if any is close enough to be a typo.
fn closest_key(key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    Theme::KEYS
        .iter()
        .map(|known| (edit_distance(&key, known), *known))
        .filter(|(distance, known)| *distance <= 2.max(known.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

/// Levenshtein distance over bytes; keys and action names are ASCII.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.bytes().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The colour names a theme file accepts, with the ANSI colour each means.
const COLOR_NAMES: [(&str, Color); 19] = [
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("grey", Color::Gray),
    ("darkgray", Color::DarkGray),
    ("darkgrey", Color::DarkGray),
    ("lightred", Color::LightRed),
    ("lightgreen", Color::LightGreen),
    ("lightyellow", Color::LightYellow),
    ("lightblue", Color::LightBlue),
    ("lightmagenta", Color::LightMagenta),
    ("lightcyan", Color::LightCyan),
    ("white", Color::White),
    ("reset", Color::Reset),
];

/// A colour from a theme file: a name (case, spaces, `-` and `_` ignored), `default`
/// as a synonym of `reset`, or `#rrggbb`.
#[must_use]
pub fn parse_color(text: &str) -> Option<Color> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let value = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((value >> 16) as u8, (value >> 8) as u8, value as u8));
    }
    let name: String =
        text.chars().filter(|c| !matches!(c, ' ' | '-' | '_')).map(|c| c.to_ascii_lowercase()).collect();
    if name == "default" {
        return Some(Color::Reset);
    }
    COLOR_NAMES.iter().find(|(known, _)| *known == name).map(|(_, color)| *color)
}

/// The RGB a colour is drawn with in screenshots; `None` for the terminal default.
///
/// Named colours use a conventional xterm-like palette; indexed colours follow the
/// xterm 256-colour layout.
#[must_use]
pub fn rgb(color: Color) -> Option<(u8, u8, u8)> {
    const ANSI: [(u8, u8, u8); 16] = [
        (0x1d, 0x1f, 0x21),
        (0xcc, 0x34, 0x2b),
        (0x19, 0x8f, 0x44),
        (0xc4, 0xa0, 0x00),
        (0x39, 0x71, 0xed),
        (0xa3, 0x6a, 0xc7),
        (0x3a, 0x96, 0xb0),
        (0xc5, 0xc8, 0xc6),
        (0x66, 0x66, 0x66),
        (0xff, 0x66, 0x66),
        (0x5f, 0xd7, 0x5f),
        (0xff, 0xd7, 0x5f),
        (0x6f, 0xa8, 0xff),
        (0xe0, 0x8a, 0xff),
        (0x5f, 0xd7, 0xff),
        (0xff, 0xff, 0xff),
    ];
    let index = match color {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => return Some((r, g, b)),
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Indexed(n) => n,
    };
    Some(match index {
        0..=15 => ANSI[usize::from(index)],
        16..=231 => {
            let n = index - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(n / 36), level(n / 6 % 6), level(n % 6))
        }
        232..=255 => {
            let v = 8 + (index - 232) * 10;
            (v, v, v)
        }
    })
}

#[cfg(test)]
mod tests;
