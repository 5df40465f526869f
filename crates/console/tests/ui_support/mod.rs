//! A deterministic fleet at a fixed clock, and helpers that drive the real `App`.
#![allow(dead_code)]

mod fixture;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck_api::*;
use fleetdeck_console::keymap::Keymap;
use fleetdeck_console::theme::Theme;
use fleetdeck_console::{App, AppConfig, ConnState, Effect, Msg, Session};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub use fixture::*;

pub fn alice() -> WhoAmI {
    WhoAmI {
        user: "alice".into(),
        roles: vec![Role::Operator, Role::Approver],
    }
}

pub fn config() -> AppConfig {
    AppConfig {
        context: "embedded demo".into(),
        keymap: Keymap::default(),
        theme: Theme::default(),
        stale_after: Duration::from_secs(30),
        log_cap: 100,
    }
}

/// A connected console that loaded the fixture at `t0`, as `who`.
pub fn app_as(who: WhoAmI, w: u16, h: u16) -> App {
    app_with(who, config(), Session::default(), w, h)
}

/// A connected console with its own config and session, loaded as `app_as` does.
pub fn app_with(who: WhoAmI, config: AppConfig, session: Session, w: u16, h: u16) -> App {
    load(App::new(config).with_session(session), who, w, h)
}

/// Loads the fixture into `app` and connects it at `t0`.
pub fn load(mut app: App, who: WhoAmI, w: u16, h: u16) -> App {
    app.update(Msg::Resize(w, h));
    app.update(Msg::Loaded {
        whoami: who,
        snapshot: Box::new(snapshot()),
    });
    app.update(Msg::Connection(ConnState::Connected {
        since: t0() - mins(10),
    }));
    app.update(Msg::Alive(t0()));
    app.update(Msg::Tick(t0()));
    app
}

pub fn app(w: u16, h: u16) -> App {
    app_as(alice(), w, h)
}

pub fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

/// Presses each character as its own key (letters, digits, `?`).
pub fn typed(app: &mut App, text: &str) -> Vec<Effect> {
    let mut out = Vec::new();
    for c in text.chars() {
        let mods = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        out.extend(app.update(Msg::Key(KeyEvent::new(KeyCode::Char(c), mods))));
    }
    out
}

pub fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| app.draw(f)).unwrap();
    terminal
}

/// The screen as plain text, for assertions on what the user reads.
pub fn screen(app: &App, w: u16, h: u16) -> String {
    render(app, w, h).backend().to_string()
}

/// The screen with its styles: each row's text, then the runs of one style on it
/// (`col..col fg bg modifiers`), so a theme's snapshot shows what changes with it.
pub fn styled_screen(app: &App, w: u16, h: u16) -> String {
    use std::fmt::Write;
    let terminal = render(app, w, h);
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let mut text = String::new();
        let mut runs: Vec<(u16, u16, String)> = Vec::new();
        for x in 0..w {
            let cell = &buf[(x, y)];
            text.push_str(cell.symbol());
            let style = format!("{:?} {:?} {:?}", cell.fg, cell.bg, cell.modifier);
            match runs.last_mut() {
                Some((_, end, s)) if *s == style => *end = x,
                _ => runs.push((x, x, style)),
            }
        }
        let _ = writeln!(out, "{y:>2} {text}");
        for (a, b, s) in runs {
            let _ = writeln!(out, "     {a}..{b} {s}");
        }
    }
    out
}

/// A mouse event at a cell.
pub fn mouse(
    app: &mut App,
    kind: crossterm::event::MouseEventKind,
    column: u16,
    row: u16,
) -> Vec<Effect> {
    app.update(Msg::Mouse(crossterm::event::MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }))
}

/// Opens command mode and runs `line`.
pub fn command(app: &mut App, line: &str) -> Vec<Effect> {
    typed(app, ":");
    let mut out = typed(app, line);
    out.extend(key(app, KeyCode::Enter));
    out
}
