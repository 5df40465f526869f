//! The line at the bottom for `:` commands and `/` filters: typing, completion,
//! history, and what Enter and Esc do. A filter applies as it is typed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::App;
use super::commands::{self, Command, Known};
use super::dialogs;
use super::filter::PaneFilter;
use super::sort::{self, SortChange};
use super::view::{NoticeKind, Pane};
use crate::keymap::{Layer, NamedAction as A};
use crate::message::{Effect, HostRequest};
use crate::theme::Theme;

/// Command lines remembered for Up/Down.
const HISTORY_CAP: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Command,
    /// Filtering this pane.
    Filter(Pane),
}

pub struct Prompt {
    pub kind: PromptKind,
    pub area: TextArea<'static>,
    /// While Tab cycles: the candidates and which one is shown.
    completing: Option<(Vec<String>, usize)>,
    /// While Up/Down walk the history: the entry shown, and the line typed before.
    browsing: Option<(usize, String)>,
    /// A hint or a problem, shown after the text.
    pub message: Option<String>,
}

impl Prompt {
    fn new(kind: PromptKind, text: &str) -> Prompt {
        let mut area = TextArea::default();
        area.insert_str(text);
        Prompt {
            kind,
            area,
            completing: None,
            browsing: None,
            message: None,
        }
    }

    pub fn text(&self) -> String {
        self.area.lines().join(" ")
    }

    fn set_text(&mut self, text: &str) {
        self.area = TextArea::default();
        self.area.insert_str(text);
    }
}

impl App {
    pub(super) fn open_command(&mut self) {
        self.prompt = Some(Prompt::new(PromptKind::Command, ""));
    }

    /// Opens the filter line of the focused pane, with its current filter to edit.
    pub(super) fn open_filter(&mut self) {
        let text = self
            .filter_of(self.focus)
            .map(|f| f.text.clone())
            .unwrap_or_default();
        self.prompt = Some(Prompt::new(PromptKind::Filter(self.focus), &text));
    }

    pub(crate) fn filter_of(&self, pane: Pane) -> Option<&PaneFilter> {
        let i = Pane::ALL.iter().position(|p| *p == pane)?;
        self.filters.get(i)?.as_ref()
    }

    /// Sets (or with blank text clears) a pane's filter and keeps its selection sane.
    pub(crate) fn set_filter(&mut self, pane: Pane, text: &str) {
        let Some(i) = Pane::ALL.iter().position(|p| *p == pane) else {
            return;
        };
        let filter = (!text.trim().is_empty()).then(|| PaneFilter::new(pane, text));
        self.filters[i] = filter;
        self.install_filter(pane);
        self.pin_selections(super::selection::PinCause::Filter);
    }

    pub(super) fn install_filter(&mut self, pane: Pane) {
        let f = self
            .filter_of(pane)
            .filter(|f| !f.query.is_empty())
            .cloned();
        match pane {
            Pane::Fleet => self.data.databases.set_filter(f.map(|f| f.ranker())),
            Pane::Rings => self.data.campaigns.set_filter(f.map(|f| f.ranker())),
            Pane::Evidence => self.data.evidence.set_filter(f.map(|f| f.ranker())),
            Pane::Approvals => self.data.approvals.set_filter(f.map(|f| f.ranker())),
            Pane::Log => {
                let local = self.local_time;
                self.log.set_filter(f.map(|f| f.log_predicate(local)));
            }
        }
    }

    /// After a snapshot replaced the data: the filters stay (the log keeps its own
    /// through the reload).
    pub(super) fn reapply_filters(&mut self) {
        for pane in [Pane::Fleet, Pane::Rings, Pane::Evidence, Pane::Approvals] {
            self.install_filter(pane);
        }
    }

    pub(super) fn prompt_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        let km = &self.config.keymap;
        let prompt_action = km.lookup(Layer::Prompt, key);
        let dialog_action = km.lookup(Layer::Dialog, key);
        let text_action = km.lookup(Layer::TextInput, key);
        let Some(p) = &mut self.prompt else {
            return Vec::new();
        };
        match (prompt_action, dialog_action) {
            (Some(A::Complete), _) => {
                if p.kind == PromptKind::Command {
                    let known = known(&self.session, self.focus);
                    complete(p, &known);
                }
                return Vec::new();
            }
            (Some(A::HistoryPrev), _) => {
                browse(p, &self.history, true);
                return Vec::new();
            }
            (Some(A::HistoryNext), _) => {
                browse(p, &self.history, false);
                return Vec::new();
            }
            (_, Some(A::Cancel)) => {
                let kind = p.kind;
                self.prompt = None;
                // Esc on a filter clears it: the pane shows everything again.
                if let PromptKind::Filter(pane) = kind {
                    self.set_filter(pane, "");
                }
                return Vec::new();
            }
            (_, Some(A::Activate)) => {
                let (kind, text) = (p.kind, p.text());
                self.prompt = None;
                return match kind {
                    PromptKind::Command => self.run_line(&text),
                    PromptKind::Filter(pane) => {
                        self.set_filter(pane, &text);
                        Vec::new()
                    }
                };
            }
            _ => {}
        }
        let edited = match (text_action, key.code) {
            (Some(a), _) => dialogs::edit(&mut p.area, a),
            (None, KeyCode::Char(c))
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                dialogs::type_text(&mut p.area, c.encode_utf8(&mut [0; 4]));
                true
            }
            _ => false,
        };
        if edited {
            p.completing = None;
            p.browsing = None;
            p.message = None;
            if let PromptKind::Filter(pane) = p.kind {
                let text = p.text();
                self.set_filter(pane, &text);
                let problem = self.filter_of(pane).and_then(|f| f.query.problem.clone());
                if let Some(p) = &mut self.prompt {
                    p.message = problem;
                }
            }
        }
        Vec::new()
    }

    pub(super) fn prompt_paste(&mut self, text: &str) {
        if let Some(p) = &mut self.prompt {
            dialogs::type_text(&mut p.area, text);
            if let PromptKind::Filter(pane) = p.kind {
                let text = p.text();
                self.set_filter(pane, &text);
            }
        }
    }

    /// Runs one command line; it goes into the history whether or not it worked, so a
    /// typo can be fetched back and fixed.
    pub(crate) fn run_line(&mut self, line: &str) -> Vec<Effect> {
        let line = line.trim();
        if line.is_empty() {
            return Vec::new();
        }
        if self.history.last().map(String::as_str) != Some(line) {
            self.history.push(line.to_string());
            if self.history.len() > HISTORY_CAP {
                self.history.remove(0);
            }
        }
        let known = known(&self.session, self.focus);
        match commands::parse(line, &known) {
            Ok(command) => self.run_command(command),
            Err(why) => {
                self.notify(NoticeKind::Refused, format!(":{line}: {why}"));
                Vec::new()
            }
        }
    }

    fn run_command(&mut self, command: Command) -> Vec<Effect> {
        match command {
            Command::Focus(pane) => self.focus_pane(pane),
            Command::Log => {
                self.focus_pane(Pane::Log);
                self.zoom = true;
            }
            Command::Ctx(name) => {
                self.notify(NoticeKind::Info, format!("switching to context {name}…"));
                self.ask_host(HostRequest::SwitchContext(name));
            }
            Command::Theme(name) => {
                let theme = self
                    .session
                    .themes
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, t)| t.clone())
                    .or_else(|| Theme::by_name(&name));
                if let Some(theme) = theme {
                    self.config.theme = theme.for_terminal(self.session.no_color);
                    self.notify(NoticeKind::Ok, format!("theme {name}"));
                }
            }
            Command::Sort(column) => {
                if let Err(why) = self.sort_pane(self.focus, SortChange::Column(&column)) {
                    self.notify(NoticeKind::Refused, why);
                }
            }
            Command::ReadOnly => self.toggle_read_only(),
            Command::Mouse(want) => self.set_mouse(want),
            Command::Help => self.help = Some(0),
            Command::Quit => return self.quit(),
            Command::Action(action) => return self.run_action(action),
        }
        Vec::new()
    }

    fn toggle_read_only(&mut self) {
        if !self.read_only {
            self.read_only = true;
            self.notify(
                NoticeKind::Info,
                "read-only: nothing will be sent until :readonly again".into(),
            );
        } else if self.session.read_only_forced {
            self.notify(
                NoticeKind::Refused,
                "this context is read-only: it cannot be turned off here".into(),
            );
        } else {
            self.read_only = false;
            self.notify(
                NoticeKind::Ok,
                "read-only is off: actions can be sent".into(),
            );
        }
    }
}

impl App {
    /// `:mouse`: the runtime captures or releases the mouse; the footer says which and
    /// how to undo it.
    fn set_mouse(&mut self, want: Option<bool>) {
        let on = want.unwrap_or(!self.session.mouse);
        if on != self.session.mouse {
            self.session.mouse = on;
            self.ask_host(HostRequest::MouseCapture(on));
        }
        let text = if on {
            "mouse captured: clicks and wheel work here; :mouse off to select text"
        } else {
            "mouse released: the terminal selects text; :mouse on to click and scroll here"
        };
        self.notify(NoticeKind::Info, text.into());
    }
}

/// What command arguments may be here: `:sort` takes the focused pane's columns.
fn known(session: &super::Session, focus: Pane) -> Known<'_> {
    Known {
        contexts: &session.contexts,
        themes: session.themes.iter().map(|(n, _)| n.clone()).collect(),
        columns: sort::columns_of(focus),
    }
}

/// Tab: the first candidate, then the next on each Tab; the message lists them.
fn complete(p: &mut Prompt, known: &Known) {
    let (candidates, next) = match p.completing.take() {
        Some((c, i)) if !c.is_empty() => {
            let n = (i + 1) % c.len();
            (c, n)
        }
        _ => (commands::complete(&p.text(), known), 0),
    };
    match candidates.get(next) {
        None => p.message = Some(format!("nothing completes '{}'", p.text())),
        Some(choice) => {
            let choice = choice.clone();
            p.set_text(&choice);
            p.message = (candidates.len() > 1)
                .then(|| format!("{} of {}: Tab for the next", next + 1, candidates.len()));
            p.completing = Some((candidates, next));
        }
    }
}

/// Up (older) and Down (newer) through the history; past the newest is what was typed.
fn browse(p: &mut Prompt, history: &[String], older: bool) {
    if history.is_empty() {
        return;
    }
    let (pos, typed) = match p.browsing.take() {
        Some(b) => b,
        None if older => (history.len(), p.text()),
        None => return,
    };
    let pos = if older {
        pos.saturating_sub(1)
    } else {
        pos + 1
    };
    p.completing = None;
    if pos >= history.len() {
        p.set_text(&typed);
        return;
    }
    p.set_text(&history[pos]);
    p.browsing = Some((pos, typed));
}
