//! Themes: built-ins, inheritance through parents (built-in and user), colour forms,
//! errors with their line, NO_COLOR, and what the mono and high-contrast themes and a
//! production context look like.

mod ui_support;

use fleetdeck_console::Session;
use fleetdeck_console::theme::{MEANINGS, Theme, ThemeError};
use ratatui::style::{Color, Modifier};
use ui_support::*;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/themes/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Loads a user theme the way the runtime will: parents among the user's files first.
fn user_theme(name: &str) -> Result<Theme, ThemeError> {
    let file = format!("{name}.toml");
    let text = fixture(&file);
    Theme::from_toml_with_parent(&text, &|parent| {
        let path = format!(
            "{}/tests/fixtures/themes/{parent}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        std::path::Path::new(&path)
            .exists()
            .then(|| user_theme(parent))
    })
    .map_err(|e| e.in_file(file))
}

#[test]
fn a_user_theme_overrides_a_subset_of_its_parent() {
    let light = Theme::by_name("light").unwrap();
    let ops = user_theme("ops").unwrap();
    // Overridden: a 256-colour index as a number and as a string, and #rrggbb.
    assert_eq!(ops.border_production.fg, Some(Color::Indexed(196)));
    assert!(ops.border_production.add_modifier.contains(Modifier::BOLD));
    assert_eq!(ops.warning.fg, Some(Color::Indexed(214)));
    assert_eq!(ops.ok.fg, Some(Color::Rgb(0, 0xaf, 0x5f)));
    // Inherited from light, not from default.
    assert_eq!(ops.text, light.text);
    assert_ne!(ops.text, Theme::default().text);
    // A user parent of a user parent.
    let night = user_theme("ops-night").unwrap();
    assert_eq!(night.text.fg, Some(Color::Gray));
    assert_eq!(night.ok, ops.ok);
    assert_eq!(night.selection, light.selection);
}

#[test]
fn bad_values_are_errors_with_file_and_line() {
    let cases = [
        ("bad-colour", 4, "'warning': unknown colour 'amber'"),
        ("bad-index", 1, "'critical': unknown colour 256"),
        ("unknown-meaning", 3, "critcal"),
        ("unknown-field", 1, "blink"),
        ("unknown-parent", 2, "unknown parent theme 'solarised'"),
    ];
    for (name, line, says) in cases {
        let err = user_theme(name).unwrap_err();
        assert_eq!(err.line, line, "{name}: {err}");
        assert!(err.message.contains(says), "{name}: {err}");
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("{name}.toml:{line}: ")),
            "{shown}"
        );
    }
}

#[test]
fn built_ins_no_color_and_meanings() {
    for name in Theme::NAMES {
        assert!(Theme::by_name(name).is_some(), "{name}");
    }
    assert!(Theme::by_name("solarised").is_none());
    // NO_COLOR: not one colour anywhere.
    let mono = Theme::for_environment(true);
    assert_eq!(mono, Theme::by_name("mono").unwrap());
    for (meaning, style) in mono.styles() {
        assert_eq!(
            (style.fg, style.bg),
            (None, None),
            "mono '{meaning}' has a colour"
        );
    }
    assert_eq!(Theme::for_environment(false), Theme::default());
    // Every meaning listed once, in the order the themes write them.
    let names: Vec<&str> = Theme::default().styles().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, MEANINGS.iter().map(|(n, _)| *n).collect::<Vec<_>>());
}

fn themed(name: &str, session: Session) -> fleetdeck_console::App {
    let mut config = config();
    config.theme = Theme::by_name(name).unwrap();
    app_with(alice(), config, session, 80, 24)
}

#[test]
fn mono_theme_snapshot() {
    let app = themed("mono", Session::default());
    insta::assert_snapshot!("theme_mono_80x24", styled_screen(&app, 80, 24));
}

#[test]
fn high_contrast_theme_snapshot() {
    let app = themed("high-contrast", Session::default());
    insta::assert_snapshot!("theme_high_contrast_80x24", styled_screen(&app, 80, 24));
}

#[test]
fn production_banner_and_border() {
    let session = Session {
        production: true,
        read_only_forced: true,
        ..Session::default()
    };
    let app = themed("default", session.clone());
    insta::assert_snapshot!("production_read_only_80x24", screen(&app, 80, 24));
    let wide = app_with(alice(), config(), session, 160, 48);
    insta::assert_snapshot!("production_read_only_160x48", screen(&wide, 160, 48));
    // The border has the production meaning's colour, focused or not.
    let t = Theme::default();
    let terminal = render(&wide, 160, 48);
    let buf = terminal.backend().buffer();
    assert_eq!(buf[(0u16, 2u16)].fg, t.border_production.fg.unwrap());
    assert_eq!(buf[(159u16, 30u16)].fg, t.border_production.fg.unwrap());
    let plain = render(
        &app_with(alice(), config(), Session::default(), 160, 48),
        160,
        48,
    );
    assert_ne!(
        plain.backend().buffer()[(159u16, 30u16)].fg,
        t.border_production.fg.unwrap()
    );
}

/// With `NO_COLOR` the terminal draws no colour at all: a theme of one's own that
/// marks the selection by its background alone would leave no selection on screen.
/// The selected row keeps reverse video (as mono draws it), and so does a theme
/// switched to with `:theme`.
#[test]
fn no_color_with_a_user_theme_keeps_the_selection_reversed() {
    let ocean =
        Theme::from_toml("selection = { bg = \"blue\" }\ncritical = { fg = \"red\" }\n").unwrap();
    let session = Session {
        themes: vec![("ocean".into(), ocean.clone().for_terminal(true))],
        no_color: true,
        ..Session::default()
    };
    let mut config = config();
    config.theme = ocean.for_terminal(true);
    let mut app = app_with(alice(), config, session, 120, 40);
    let selected_row_reversed = |app: &fleetdeck_console::App| {
        let t = render(app, 120, 40);
        let buf = t.backend().buffer();
        let y = (0..40u16)
            .find(|y| buf[(1, *y)].symbol() == "›")
            .expect("a selected row");
        let cells: Vec<_> = (2..40u16).map(|x| &buf[(x, y)]).collect();
        assert!(
            cells
                .iter()
                .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
            "a colour on the selected row"
        );
        cells
            .iter()
            .all(|c| c.modifier.contains(Modifier::REVERSED))
    };
    assert!(selected_row_reversed(&app));
    for name in ["default", "ocean"] {
        command(&mut app, &format!("theme {name}"));
        assert!(selected_row_reversed(&app), ":theme {name}");
    }
}
