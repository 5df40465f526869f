//! Command mode: parsing, completion, nearest suggestions, history, and the commands
//! driving the real `App`.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_console::app::commands::{self, Command, Known};
use fleetdeck_console::app::sort::columns_of;
use fleetdeck_console::app::view::Pane;
use fleetdeck_console::keymap::NamedAction;
use fleetdeck_console::{HostRequest, Session};
use ui_support::*;

fn known(contexts: &[String]) -> Known<'_> {
    Known {
        contexts,
        themes: vec!["ops".into()],
        columns: columns_of(Pane::Fleet),
    }
}

#[test]
fn parses_commands_arguments_and_actions() {
    let ctx = vec!["prod-eu".to_string(), "staging".to_string()];
    let k = known(&ctx);
    assert_eq!(
        commands::parse("fleet", &k),
        Ok(Command::Focus(Pane::Fleet))
    );
    assert_eq!(commands::parse("  log ", &k), Ok(Command::Log));
    assert_eq!(commands::parse("q", &k), Ok(Command::Quit));
    assert_eq!(
        commands::parse("ctx staging", &k),
        Ok(Command::Ctx("staging".into()))
    );
    assert_eq!(
        commands::parse("theme ops", &k),
        Ok(Command::Theme("ops".into()))
    );
    assert_eq!(
        commands::parse("theme mono", &k),
        Ok(Command::Theme("mono".into()))
    );
    assert_eq!(
        commands::parse("sort health", &k),
        Ok(Command::Sort("health".into()))
    );
    assert_eq!(commands::parse("readonly", &k), Ok(Command::ReadOnly));
    assert_eq!(
        commands::parse("approve", &k),
        Ok(Command::Action(NamedAction::Approve))
    );
    assert_eq!(
        commands::parse("next_pane", &k),
        Ok(Command::Action(NamedAction::NextPane))
    );
    // Field-editing actions are not commands.
    assert!(commands::parse("delete_word", &k).is_err());
    // Wrong arguments say what was wrong.
    let e = commands::parse("ctx", &k).unwrap_err();
    assert!(
        e.contains("needs a context: one of prod-eu, staging"),
        "{e}"
    );
    let e = commands::parse("ctx stagin", &k).unwrap_err();
    assert!(
        e.contains("unknown context 'stagin': did you mean 'staging'?"),
        "{e}"
    );
    let e = commands::parse("fleet now", &k).unwrap_err();
    assert!(e.contains("takes no argument"), "{e}");
    let e = commands::parse("sort colour", &k).unwrap_err();
    assert!(e.contains("unknown column 'colour'"), "{e}");
    // `:sort` takes the focused pane's columns; the log has none and says so.
    let approvals = Known {
        columns: columns_of(Pane::Approvals),
        ..known(&ctx)
    };
    assert_eq!(
        commands::parse("sort expires", &approvals),
        Ok(Command::Sort("expires".into()))
    );
    let e = commands::parse("sort health", &approvals).unwrap_err();
    assert!(e.contains("unknown column 'health'"), "{e}");
    let log = Known {
        columns: columns_of(Pane::Log),
        ..known(&ctx)
    };
    let e = commands::parse("sort health", &log).unwrap_err();
    assert!(e.contains("focus a table pane"), "{e}");
}

#[test]
fn unknown_commands_offer_the_nearest() {
    let k = known(&[]);
    let e = commands::parse("approv", &k).unwrap_err();
    assert_eq!(e, "unknown command 'approv': did you mean 'approve'?");
    let e = commands::parse("flet", &k).unwrap_err();
    assert!(e.ends_with("did you mean 'fleet'?"), "{e}");
    let e = commands::parse("evidense", &k).unwrap_err();
    assert!(e.ends_with("did you mean 'evidence'?"), "{e}");
    // Nothing near: no guess.
    let e = commands::parse("xyzzy", &k).unwrap_err();
    assert!(
        e.contains("unknown command 'xyzzy'") && !e.contains("did you mean"),
        "{e}"
    );
    assert_eq!(commands::edit_distance("kitten", "sitting"), 3);
    assert_eq!(commands::edit_distance("", "abc"), 3);
}

#[test]
fn completes_words_and_arguments() {
    let ctx = vec![
        "prod-eu".to_string(),
        "prod-us".to_string(),
        "staging".to_string(),
    ];
    let k = known(&ctx);
    assert_eq!(commands::complete("ap", &k), ["approvals", "approve"]);
    assert_eq!(commands::complete("rea", &k), ["readonly"]);
    assert_eq!(
        commands::complete("ctx pr", &k),
        ["ctx prod-eu", "ctx prod-us"]
    );
    assert_eq!(commands::complete("ctx ", &k).len(), 3);
    assert_eq!(
        commands::complete("theme ", &k),
        [
            "theme default",
            "theme high-contrast",
            "theme light",
            "theme mono",
            "theme ops"
        ]
    );
    assert_eq!(commands::complete("sort he", &k), ["sort health"]);
    let evidence = Known {
        columns: columns_of(Pane::Evidence),
        ..known(&ctx)
    };
    assert_eq!(
        commands::complete("sort ", &evidence),
        [
            "sort checksum",
            "sort database",
            "sort evidence",
            "sort good",
            "sort latest",
            "sort restore"
        ]
    );
    assert!(commands::complete("zzz", &k).is_empty());
    assert!(commands::complete("fleet x y", &k).is_empty());
}

#[test]
fn tab_completes_and_history_recalls_in_the_app() {
    let mut app = app(80, 24);
    typed(&mut app, ":ev");
    key(&mut app, KeyCode::Tab);
    assert!(
        screen(&app, 80, 24).contains(":evidence"),
        "{}",
        screen(&app, 80, 24)
    );
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app, 80, 24).contains("[3 Evidence"));
    // Several candidates: Tab cycles and says how many.
    typed(&mut app, ":ap");
    key(&mut app, KeyCode::Tab);
    assert!(screen(&app, 80, 24).contains(":approvals"));
    assert!(screen(&app, 80, 24).contains("1 of 2"));
    key(&mut app, KeyCode::Tab);
    assert!(screen(&app, 80, 24).contains(":approve "));
    key(&mut app, KeyCode::Esc);
    // History: the last command comes back with Up, and Down returns to what was typed.
    typed(&mut app, ":ro");
    key(&mut app, KeyCode::Up);
    assert!(screen(&app, 80, 24).contains(":evidence"));
    key(&mut app, KeyCode::Down);
    assert!(screen(&app, 80, 24).contains(":ro"));
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, 80, 24);
    assert!(s.contains(":ro: unknown command 'ro'"), "{s}");
}

#[test]
fn commands_jump_zoom_sort_theme_and_quit() {
    let mut app = app(80, 24);
    command(&mut app, "log");
    let s = screen(&app, 80, 24);
    assert!(s.contains("[5 Log]") && s.contains("(zoomed)"), "{s}");
    // The log is not sorted: `:sort` there says why.
    command(&mut app, "sort health");
    let s = screen(&app, 80, 24);
    assert!(s.contains("no columns: focus a table pane (1-4)"), "{s}");
    command(&mut app, "fleet");
    command(&mut app, "sort health");
    let s = screen(&app, 80, 24);
    assert!(s.contains("HEALTH▲"), "{s}");
    command(&mut app, "sort health");
    assert!(screen(&app, 80, 24).contains("HEALTH▼"));
    command(&mut app, "theme mono");
    let buf = render(&app, 80, 24);
    assert_eq!(
        buf.backend().buffer()[(0u16, 0u16)].fg,
        ratatui::style::Color::Reset
    );
    command(&mut app, "help");
    assert!(screen(&app, 80, 24).contains("Keys"));
    key(&mut app, KeyCode::Esc);
    assert_eq!(
        command(&mut app, "q"),
        vec![fleetdeck_console::Effect::Quit]
    );
}

#[test]
fn ctx_is_checked_and_handed_to_the_runtime() {
    let session = Session {
        contexts: vec!["prod-eu".into(), "staging".into()],
        ..Session::default()
    };
    let mut app = app_with(alice(), config(), session, 80, 24);
    command(&mut app, "ctx staging");
    assert_eq!(
        app.take_host_requests(),
        vec![HostRequest::SwitchContext("staging".into())]
    );
    command(&mut app, "ctx prod");
    assert!(app.take_host_requests().is_empty());
    let s = screen(&app, 80, 24);
    assert!(s.contains("unknown context 'prod'"), "{s}");
}
