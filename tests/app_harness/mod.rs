//! Drives the real console [`App`] with key events against a real control plane: the
//! App's effects are run by the real [`Client`] (the runtime's own `execute`), their
//! answers fed back as messages, and server events fed in as the stream would.
//! Effects are held until [`Harness::run_effects`], so a test can see exactly what one
//! key press asked for.
#![allow(dead_code)]

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck_api::{Seq, limits};
use fleetdeck_console::app::{App, AppConfig, Session};
use fleetdeck_console::client::Client;
use fleetdeck_console::keymap::Keymap;
use fleetdeck_console::message::{ActionError, ActionRequest, ConnState, Effect, Msg};
use fleetdeck_console::runtime::effects::execute;
use fleetdeck_console::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub struct Harness {
    pub app: App,
    pub client: Client,
    pub pending: Vec<Effect>,
    /// Every request the App asked to send, in order.
    pub sent: Vec<ActionRequest>,
    /// The server's answers to them, in order.
    pub answers: Vec<Result<(), ActionError>>,
    last_seq: Seq,
}

impl Harness {
    /// Signs in as the client's user, loads the snapshot and connects, as the runtime does.
    pub async fn new(client: Client) -> Harness {
        Harness::with_session(client, Session::default(), |_| {}).await
    }

    /// [`Harness::new`] with the session's settings, and `before` run on the App
    /// before its first message (as the command line does between runs).
    pub async fn with_session(
        client: Client,
        session: Session,
        before: impl FnOnce(&mut App),
    ) -> Harness {
        let whoami = client.whoami().await.expect("whoami");
        let snapshot = client.snapshot().await.expect("snapshot");
        let last_seq = snapshot.last_seq;
        let mut app = App::new(AppConfig {
            context: "test".into(),
            keymap: Keymap::default(),
            theme: Theme::default(),
            stale_after: Duration::from_secs(30),
            log_cap: 2000,
        })
        .with_session(session);
        before(&mut app);
        let now = Utc::now();
        app.update(Msg::Loaded {
            whoami,
            snapshot: Box::new(snapshot),
        });
        app.update(Msg::Resize(160, 48));
        app.update(Msg::Connection(ConnState::Connected { since: now }));
        app.update(Msg::Tick(now));
        Harness {
            app,
            client,
            pending: Vec::new(),
            sent: Vec::new(),
            answers: Vec::new(),
            last_seq,
        }
    }

    fn feed(&mut self, msg: Msg) {
        for effect in self.app.update(msg) {
            if let Effect::Send(req) = &effect {
                self.sent.push(req.clone());
            }
            self.pending.push(effect);
        }
    }

    pub fn key(&mut self, code: KeyCode) {
        self.feed(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// Presses each character as a key.
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    pub fn tab(&mut self) {
        self.key(KeyCode::Tab);
    }

    pub fn backtab(&mut self) {
        self.feed(Msg::Key(KeyEvent::new(
            KeyCode::BackTab,
            KeyModifiers::SHIFT,
        )));
    }

    pub fn enter(&mut self) {
        self.key(KeyCode::Enter);
    }

    pub fn connection(&mut self, state: ConnState) {
        self.feed(Msg::Connection(state));
    }

    /// Runs every held effect through the client and feeds the answers back.
    pub async fn run_effects(&mut self) {
        while !self.pending.is_empty() {
            for effect in std::mem::take(&mut self.pending) {
                if let Some(answer) = execute(&self.client, effect).await {
                    if let Msg::ActionDone { result, .. } = &answer {
                        self.answers.push(result.clone());
                    }
                    self.feed(answer);
                }
            }
        }
    }

    /// Feeds the events the server logged since the last look, as the stream would,
    /// with a tick and a proof of life so the data is current.
    pub async fn sync(&mut self) {
        loop {
            let page = self
                .client
                .events_after(self.last_seq, limits::MAX_EVENTS_PAGE)
                .await
                .expect("events");
            if page.events.is_empty() {
                break;
            }
            for event in page.events {
                self.last_seq = event.seq;
                self.feed(Msg::Server(Box::new(event)));
            }
        }
        let now = Utc::now();
        self.feed(Msg::Alive(now));
        self.feed(Msg::Tick(now));
    }

    /// What the App draws, as text, at `width`×`height`.
    pub fn screen(&self, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| self.app.draw(f)).unwrap();
        let buffer = terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..height {
            for x in 0..width {
                out.push_str(buffer[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    /// The screen at the harness's size, with whitespace runs collapsed so a sentence
    /// wrapped or padded by the layout can still be found.
    pub fn text(&self) -> String {
        let screen = self.screen(160, 48);
        screen.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    pub fn sends(&self) -> usize {
        self.sent.len()
    }
}
