//! A deterministic fleet at a fixed clock, and helpers that drive the real `App`.
#![allow(dead_code)]

mod fixture;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck_api::*;
use fleetdeck_console::keymap::Keymap;
use fleetdeck_console::theme::Theme;
use fleetdeck_console::{App, AppConfig, ConnState, Effect, Msg};
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
    let mut app = App::new(config());
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
