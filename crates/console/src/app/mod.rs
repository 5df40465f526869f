//! The console's state machine. [`App::update`] is the only place state changes; it
//! never blocks and does no I/O, returning [`Effect`]s for the runtime instead.
//! [`App::draw`] is a pure function of state (see `crate::ui`).
//!
//! Rooms: `state` (the fleet copy), `indexes`/`order` (sorted panes), `log` (the
//! execution log), `view` (focus, selections, details), `selection` (selections that
//! follow their item), `dialogs` and `actions` (what can be done and how it is asked),
//! `live` (an open dialog following its subject), `input` (key routing), `send`
//! (requests and their answers), `prompt` and `commands` (the `:` line), `filter` (the `/` line), `marks`
//! (Space and bulk approval), `sort` (each table pane's column and direction), `mouse`,
//! `notify` (bell and title).

mod actions;
pub mod commands;
pub mod dialogs;
pub mod filter;
pub mod indexes;
mod input;
mod live;
pub mod log;
mod marks;
mod mouse;
pub mod natural;
mod notify;
pub mod order;
pub mod prompt;
mod selection;
mod send;
pub mod sort;
pub mod state;
pub mod view;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fleetdeck_api::{Change, Event, WhoAmI};

use crate::keymap::Keymap;
use crate::message::{ActionRequest, ConnState, Effect, HostRequest, Msg};
use crate::theme::Theme;
use crate::ui::layout::page_rows as layout_page;
use dialogs::Dialog;
use log::LogBuffer;
use state::FleetState;
use view::{Detail, DetailKind, Loading, Notice, Pane, Selection};

/// How the console is set up; built by the runtime from the command line.
pub struct AppConfig {
    /// `embedded demo` or the server URL.
    pub context: String,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Data older than this: actions are refused.
    pub stale_after: Duration,
    /// Most log lines kept.
    pub log_cap: usize,
}

/// How this session is set up beyond [`AppConfig`]: from the config file and the
/// chosen context. Every setting is off or empty by default; the runtime passes it
/// with [`App::with_session`].
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Start read-only (`--readonly`): no action can be sent.
    pub read_only: bool,
    /// The context is read-only: `:readonly` cannot turn it off.
    pub read_only_forced: bool,
    /// A production context: its own border colour and a banner in the header.
    pub production: bool,
    /// Context names `:ctx NAME` may switch to.
    pub contexts: Vec<String>,
    /// The user's own themes by name, for `:theme NAME` (built-ins need no entry).
    pub themes: Vec<(String, Theme)>,
    /// Ring the terminal bell when an approval arrives or a campaign auto-pauses.
    pub notify_bell: bool,
    /// Put the count of waiting approvals and paused campaigns in the window title.
    pub notify_title: bool,
    /// Show absolute times in local time instead of UTC at start.
    pub local_time: bool,
    /// The runtime captures the mouse (config `mouse`); `:mouse` changes it.
    pub mouse: bool,
    /// `NO_COLOR` is set: a theme `:theme` switches to is drawn without colours.
    pub no_color: bool,
}

pub struct App {
    pub(crate) config: AppConfig,
    pub(crate) whoami: Option<WhoAmI>,
    pub(crate) data: FleetState,
    pub(crate) loaded: bool,
    pub(crate) log: LogBuffer,
    pub(crate) conn: ConnState,
    /// When the server last proved the data current.
    pub(crate) last_alive: Option<DateTime<Utc>>,
    /// The time of the last tick: drawing never reads the clock itself.
    pub(crate) clock: Option<DateTime<Utc>>,
    /// Terminal size from the last resize, for page sizes.
    pub(crate) size: (u16, u16),
    pub(crate) focus: Pane,
    pub(crate) zoom: bool,
    pub(crate) selections: [Selection; 4],
    pub(crate) detail: Option<Detail>,
    pub(crate) dialog: Option<Dialog>,
    /// The help overlay's scroll, while it is open.
    pub(crate) help: Option<u16>,
    pub(crate) notice: Option<Notice>,
    pub(crate) in_flight: BTreeMap<u64, ActionRequest>,
    pub(crate) next_request: u64,
    pub(crate) session: Session,
    /// Read-only now: from the session, or switched on with `:readonly`.
    pub(crate) read_only: bool,
    /// The `:` or `/` line, while it is open.
    pub(crate) prompt: Option<prompt::Prompt>,
    /// Command lines run, oldest first.
    pub(crate) history: Vec<String>,
    /// Each pane's filter, in `Pane::ALL` order.
    pub(crate) filters: [Option<filter::PaneFilter>; 5],
    pub(crate) marks: marks::Marks,
    pub(crate) bulk: Option<marks::BulkProgress>,
    /// Absolute times in local time instead of UTC.
    pub(crate) local_time: bool,
    /// Requests for the terminal host (bell, title, context) not yet taken.
    host: Vec<HostRequest>,
    dirty: bool,
}

impl App {
    pub fn new(config: AppConfig) -> App {
        App {
            log: LogBuffer::new(config.log_cap),
            config,
            whoami: None,
            data: FleetState::default(),
            loaded: false,
            conn: ConnState::Connecting,
            last_alive: None,
            clock: None,
            size: (0, 0),
            focus: Pane::Fleet,
            zoom: false,
            selections: Default::default(),
            detail: None,
            dialog: None,
            help: None,
            notice: None,
            in_flight: BTreeMap::new(),
            next_request: 1,
            session: Session::default(),
            read_only: false,
            prompt: None,
            history: Vec::new(),
            filters: Default::default(),
            marks: marks::Marks::default(),
            bulk: None,
            local_time: false,
            host: Vec::new(),
            dirty: true,
        }
    }

    /// Applies the session's settings (read-only, production, contexts, notifications).
    pub fn with_session(mut self, session: Session) -> App {
        self.read_only = session.read_only || session.read_only_forced;
        self.local_time = session.local_time;
        self.session = session;
        self
    }

    /// Requests for the terminal host since the last call: the runtime takes them after
    /// each update (bell, window title, context switch).
    pub fn take_host_requests(&mut self) -> Vec<HostRequest> {
        std::mem::take(&mut self.host)
    }

    /// Shows `text` in the footer as a refusal: what the host could not do for the
    /// user (a `:ctx` switch that could not connect), said inside the console.
    pub fn report_refused(&mut self, text: String) {
        self.notify(view::NoticeKind::Refused, text);
    }

    pub(crate) fn ask_host(&mut self, request: HostRequest) {
        self.host.push(request);
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let mut effects = Vec::new();
        match msg {
            Msg::Key(key) => effects = self.on_key(key),
            Msg::Paste(text) => self.on_paste(&text),
            Msg::Mouse(mouse) => {
                if !self.on_mouse(mouse) {
                    return effects;
                }
            }
            Msg::Resize(w, h) => self.size = (w, h),
            Msg::Tick(now) => {
                self.advance_clock(now);
                // Countdowns and ages in an open dialog's facts move with the clock.
                self.refresh_dialog();
            }
            Msg::Alive(at) => {
                self.last_alive = Some(self.last_alive.map_or(at, |t| t.max(at)));
                self.advance_clock(at);
            }
            Msg::Loaded { whoami, snapshot } => {
                self.whoami = Some(whoami);
                let at = snapshot.server_time;
                let events = self.data.load(*snapshot);
                let held = self.log.held_seq();
                self.log.clear();
                for e in events {
                    self.log.push(e);
                }
                self.loaded = true;
                self.reapply_filters();
                self.marks.clear();
                self.pin_selections(selection::PinCause::Reload);
                self.hold_log_line(held);
                self.refresh_dialog();
                self.last_alive = Some(self.last_alive.map_or(at, |t| t.max(at)));
                if self.clock.is_none() {
                    self.clock = Some(at);
                }
            }
            Msg::Server(event) => match self.apply_event(*event) {
                Some(more) => effects = more,
                None => return effects,
            },
            Msg::Connection(state) => {
                if let ConnState::Connected { since } = &state {
                    self.last_alive = Some(self.last_alive.map_or(*since, |t| t.max(*since)));
                    if let ConnState::Disconnected { since: lost, .. } = &self.conn {
                        let after = crate::ui::format::duration(*since - *lost);
                        self.notify(
                            view::NoticeKind::Ok,
                            format!(
                                "● connected again after {after}; the log resumes where it stopped"
                            ),
                        );
                    }
                }
                self.conn = state;
            }
            Msg::ActionDone { request_id, result } => self.action_done(request_id, result),
            Msg::DatabaseLoaded(result) => self.database_loaded(result),
        }
        self.dirty = true;
        effects
    }

    pub fn draw(&self, frame: &mut ratatui::Frame) {
        crate::ui::draw(self, frame);
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn mark_drawn(&mut self) {
        self.dirty = false;
    }

    pub fn requests_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// "Now" for ages and countdowns: the last tick, never the wall clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock
            .or(self.last_alive)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }

    /// How old the data is: time since the server last proved it current.
    pub(crate) fn data_age(&self) -> chrono::Duration {
        match self.last_alive {
            Some(t) => (self.now() - t).max(chrono::Duration::zero()),
            None => chrono::Duration::MAX,
        }
    }

    fn advance_clock(&mut self, now: DateTime<Utc>) {
        self.clock = Some(self.clock.map_or(now, |t| t.max(now)));
        if let Some(n) = &mut self.notice {
            match n.at {
                // Raised before the clock started: it counts from the first tick.
                None => n.at = Some(now),
                Some(at) if now - at > chrono::Duration::seconds(view::NOTICE_SECONDS) => {
                    self.notice = None;
                }
                Some(_) => {}
            }
        }
    }

    /// Applies one event; `None` when it was a duplicate (nothing changed).
    fn apply_event(&mut self, event: Event) -> Option<Vec<Effect>> {
        if event.seq <= self.data.last_seq {
            return None;
        }
        self.data.last_seq = event.seq;
        let mut effects = Vec::new();
        if let Some(change) = &event.change {
            let before = self.notable_before(change);
            self.data.apply(change);
            self.pin_selections(selection::PinCause::Event {
                change,
                actor: &event.actor,
            });
            self.check_marks(change);
            self.notify_after(before, change, &event.actor);
            effects = self.refresh_detail(change);
            if self.dialog_subject_in(change) {
                self.refresh_dialog();
            }
        }
        if self.log.push(event) && self.focus == Pane::Log {
            self.notify(
                view::NoticeKind::Info,
                format!(
                    "the log line you were on fell off the log (it keeps the newest {} \
                     lines): the cursor is on the oldest kept line",
                    self.config.log_cap
                ),
            );
        }
        Some(effects)
    }

    /// After a reload: the log line held selected stays selected when the new log
    /// still has it, and the user is told when it does not.
    fn hold_log_line(&mut self, held: Option<u64>) {
        let Some(seq) = held else {
            return;
        };
        let page = layout_page(self.size, Pane::Log, self.zoom);
        if !self.log.hold_seq(seq, page) && self.focus == Pane::Log {
            self.notify(
                view::NoticeKind::Info,
                format!(
                    "the log line you were on (#{seq}) is not in the reloaded log: following \
                     the newest"
                ),
            );
        }
    }

    /// Keeps an open detail view current: an approval detail holds its own copy (it
    /// may leave the queue); a database's drill history is fetched again when its
    /// evidence changes.
    fn refresh_detail(&mut self, change: &Change) -> Vec<Effect> {
        let Some(detail) = &mut self.detail else {
            return Vec::new();
        };
        match (&mut detail.kind, change) {
            (DetailKind::Approval(shown), Change::Approval { approval })
                if shown.id == approval.id =>
            {
                *shown = approval.clone();
            }
            (DetailKind::Database { id, .. }, Change::Evidence { evidence })
                if *id == evidence.database_id =>
            {
                return vec![Effect::LoadDatabase(id.clone())];
            }
            _ => {}
        }
        Vec::new()
    }

    fn database_loaded(
        &mut self,
        result: Result<Box<fleetdeck_api::DatabaseDetail>, crate::message::ActionError>,
    ) {
        let Some(Detail {
            kind: DetailKind::Database { id, detail },
            ..
        }) = &mut self.detail
        else {
            return;
        };
        match result {
            Ok(d) if d.database.id == *id => *detail = Loading::Ready(d),
            Ok(_) => {}
            Err(e) => *detail = Loading::Failed(e.to_string()),
        }
    }
}
