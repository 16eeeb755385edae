use ratatui::style::{Color, Modifier};

use super::*;

#[test]
fn builtins_parse_and_set_every_slot() {
    assert_eq!(Theme::builtin_names(), ["dark", "light", "high-contrast"]);
    for (name, text) in BUILTIN {
        let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        let keys: Vec<&str> = table.keys().map(String::as_str).collect();
        let mut expected = Theme::KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected, "{name} must set exactly every slot");
        let theme = Theme::builtin(name).unwrap_or_else(|| panic!("{name} does not load"));
        assert!(!theme.is_monochrome(), "{name}");
        assert!(
            theme.slots().iter().all(|(_, colour)| *colour != Color::Reset),
            "{name} leaves a slot unset"
        );
    }
    assert_eq!(Theme::builtin("nope"), None);
    assert_eq!(Theme::default(), Theme::builtin("dark").unwrap_or_else(Theme::monochrome));
}

#[test]
fn every_slot_is_documented_in_every_file() {
    for (name, text) in BUILTIN {
        let lines: Vec<&str> = text.lines().collect();
        for key in Theme::KEYS {
            let at = lines
                .iter()
                .position(|line| line.starts_with(&format!("{key} =")))
                .unwrap_or_else(|| panic!("{name}: no {key}"));
            assert!(at > 0 && lines[at - 1].starts_with("# "), "{name}: `{key}` has no comment above it");
        }
    }
}

#[test]
fn themes_differ_where_it_shows() {
    let [dark, light, contrast] = BUILTIN_NAMES.map(|name| Theme::builtin(name).unwrap_or_default());
    assert_ne!(dark.background, light.background);
    assert_ne!(dark.background, contrast.background);
    assert_ne!(dark.selection, light.selection);
}

#[test]
fn partial_file_overrides_only_what_it_names() {
    let dark = Theme::default();
    let theme =
        Theme::from_toml(&dark, "# mine\naccent = \"#ff0000\"\nok = \"LightGreen\"\n").unwrap_or(dark);
    assert_eq!(theme.accent, Color::Rgb(0xff, 0, 0));
    assert_eq!(theme.ok, Color::LightGreen);
    assert_eq!(Theme { accent: dark.accent, ok: dark.ok, ..theme }, dark);
    assert_eq!(Theme::from_toml(&dark, ""), Ok(dark));
}

#[test]
fn bad_files_name_the_key_the_value_and_the_fix() {
    let dark = Theme::default();
    let known = Theme::KEYS.join(", ");
    let cases = [
        (
            "backgrund = \"#000000\"",
            format!("unknown key `backgrund` (= \"#000000\"), did you mean `background`?; theme keys are: {known}"),
        ),
        ("[colors]\nfoo = 1", format!("unknown key `colors` (= {{ foo = 1 }}); theme keys are: {known}")),
        (
            "accent = \"#12345\"",
            "`accent` = \"#12345\" is not a colour; use a name such as \"cyan\" or \"lightblue\", a hex colour \
             \"#rrggbb\", or \"reset\" for the terminal's default"
                .to_owned(),
        ),
        (
            "ok = 3",
            "`ok` = 3 is not a colour; use a name such as \"cyan\" or \"lightblue\", a hex colour \"#rrggbb\", \
             or \"reset\" for the terminal's default"
                .to_owned(),
        ),
        (
            "ok = \"green\"\nwarn = \"yellow\nerror = \"red\"",
            "line 2: invalid basic string, expected `\"`; a theme file is lines of `slot = \"colour\"`".to_owned(),
        ),
    ];
    for (text, expected) in cases {
        let error = Theme::from_toml(&dark, text).err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some(expected.as_str()), "{text}");
    }
}

#[test]
fn colour_syntax() {
    for (text, expected) in [
        ("red", Some(Color::Red)),
        ("Light Blue", Some(Color::LightBlue)),
        ("dark-gray", Some(Color::DarkGray)),
        ("dark_grey", Some(Color::DarkGray)),
        ("default", Some(Color::Reset)),
        ("RESET", Some(Color::Reset)),
        ("#1E2127", Some(Color::Rgb(0x1e, 0x21, 0x27))),
        ("  #000000  ", Some(Color::Rgb(0, 0, 0))),
        ("#fff", None),
        ("#gggggg", None),
        ("#+12345", None),
        ("", None),
        ("purple", None),
    ] {
        assert_eq!(parse_color(text), expected, "{text:?}");
    }
}

#[test]
fn no_color_keeps_meaning_in_modifiers() {
    let plain = Theme::default().without_color();
    assert!(plain.is_monochrome());
    assert!(plain.slots().iter().all(|(_, colour)| *colour == Color::Reset));
    for style in [plain.selection(), plain.tab_active(), plain.paused()] {
        assert!(style.add_modifier.contains(Modifier::REVERSED | Modifier::BOLD), "{style:?}");
    }
    assert!(plain.error().add_modifier.contains(Modifier::BOLD));
    assert!(!Theme::default().selection().add_modifier.contains(Modifier::REVERSED));
}

#[test]
fn screenshot_palette() {
    assert_eq!(rgb(Color::Reset), None);
    assert_eq!(rgb(Color::Rgb(1, 2, 3)), Some((1, 2, 3)));
    assert_eq!(rgb(Color::Indexed(16)), Some((0, 0, 0)));
    assert_eq!(rgb(Color::Indexed(231)), Some((255, 255, 255)));
    assert_eq!(rgb(Color::Indexed(244)), Some((128, 128, 128)));
    assert_eq!(rgb(Color::White), rgb(Color::Indexed(15)));
}
