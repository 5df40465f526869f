//! Key routing: the top-most layer takes a key first (help, dialog, text field, detail
//! or focused pane, then global). No widget matches key codes itself.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::App;
use super::dialogs::{self, ActionKind, Dialog, Focus};
use super::sort::SortChange;
use super::view::{Detail, DetailKind, Loading, Notice, NoticeKind, Pane};
use crate::keymap::{Layer, NamedAction as A};
use crate::message::Effect;
use crate::ui::layout;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let km = &self.config.keymap;
        if let Some(scroll) = self.help {
            self.help = match km.lookup(Layer::Global, &key) {
                Some(A::Help | A::Quit) => None,
                Some(A::Up) => Some(scroll.saturating_sub(1)),
                Some(A::Down) => Some(scroll.saturating_add(1)),
                Some(A::PageUp) => Some(scroll.saturating_sub(10)),
                Some(A::PageDown) => Some(scroll.saturating_add(10)),
                Some(A::Top) => Some(0),
                _ if km.lookup(Layer::Dialog, &key) == Some(A::Cancel) => None,
                _ => Some(scroll),
            };
            return Vec::new();
        }
        if self.dialog.is_some() {
            return self.dialog_key(&key);
        }
        if self.prompt.is_some() {
            return self.prompt_key(&key);
        }
        if self.detail.is_some() {
            if let Some(action) = km.lookup(Layer::Detail, &key) {
                return self.detail_action(action);
            }
            return match km.lookup(Layer::Global, &key) {
                Some(A::Quit) => self.quit(),
                Some(A::Command) => {
                    self.open_command();
                    Vec::new()
                }
                Some(A::Help) => {
                    self.help = Some(0);
                    Vec::new()
                }
                _ => Vec::new(),
            };
        }
        if let Some(action) = km.lookup(self.focus.layer(), &key) {
            return self.pane_action(action);
        }
        match km.lookup(Layer::Global, &key) {
            Some(action) => self.global_action(action),
            None => Vec::new(),
        }
    }

    pub(super) fn on_paste(&mut self, text: &str) {
        if self.dialog.is_none() && self.prompt.is_some() {
            self.prompt_paste(text);
            return;
        }
        if let Some(Dialog::Action(d)) = &mut self.dialog
            && d.in_flight.is_none()
            && let Some(field) = d.focused_field()
        {
            dialogs::type_text(&mut field.area, text);
        }
    }

    pub(super) fn quit(&mut self) -> Vec<Effect> {
        if self.in_flight.is_empty() {
            vec![Effect::Quit]
        } else {
            self.dialog = Some(Dialog::Quit {
                focus: Focus::Cancel,
            });
            Vec::new()
        }
    }

    fn global_action(&mut self, action: A) -> Vec<Effect> {
        match action {
            A::Quit => return self.quit(),
            A::Help => self.help = Some(0),
            A::NextPane => self.focus = self.focus.cycle(true),
            A::PrevPane => self.focus = self.focus.cycle(false),
            A::FocusFleet => self.focus_pane(Pane::Fleet),
            A::FocusRings => self.focus_pane(Pane::Rings),
            A::FocusEvidence => self.focus_pane(Pane::Evidence),
            A::FocusApprovals => self.focus_pane(Pane::Approvals),
            A::FocusLog => self.focus_pane(Pane::Log),
            A::Command => self.open_command(),
            A::Filter => self.open_filter(),
            A::ClearFilter => self.clear_filter_and_marks(),
            A::Mark => self.toggle_mark(),
            A::ToggleTime => {
                self.local_time = !self.local_time;
                // The log's filter matches the times the lines show.
                if self.filter_of(Pane::Log).is_some() {
                    self.install_filter(Pane::Log);
                }
                let zone = if self.local_time { "local time" } else { "UTC" };
                self.notify(NoticeKind::Info, format!("times shown in {zone}"));
            }
            A::Zoom => self.zoom = !self.zoom,
            A::Up => self.move_selection(-1),
            A::Down => self.move_selection(1),
            A::PageUp => self.move_selection(-(self.page() as i64)),
            A::PageDown => self.move_selection(self.page() as i64),
            // Moves saturate at the ends, so "as far as possible" is the first/last row.
            A::Top => self.move_selection(i64::MIN),
            A::Bottom => self.move_selection(i64::MAX),
            A::Open => return self.open_detail(),
            _ => {}
        }
        Vec::new()
    }

    /// Runs an action as its key would where the user is now (command mode's
    /// `:action_name`), or says where it works.
    pub(super) fn run_action(&mut self, action: A) -> Vec<Effect> {
        if self.detail.is_some() && Layer::Detail.allows(action) {
            return self.detail_action(action);
        }
        if self.focus.layer().allows(action) {
            return self.pane_action(action);
        }
        if Layer::Global.allows(action) {
            return self.global_action(action);
        }
        let where_ = crate::keymap::Layer::ALL
            .iter()
            .find(|l| l.commandable() && l.allows(action))
            .map_or("elsewhere", |l| l.title());
        self.notify(
            NoticeKind::Refused,
            format!(":{} works in the {where_}: go there first", action.name()),
        );
        Vec::new()
    }

    pub(super) fn focus_pane(&mut self, pane: Pane) {
        self.focus = pane;
    }

    fn pane_action(&mut self, action: A) -> Vec<Effect> {
        let page = self.page();
        match action {
            A::Sort | A::ReverseSort => {
                let how = if action == A::Sort {
                    SortChange::Next
                } else {
                    SortChange::Reverse
                };
                if let Err(why) = self.sort_pane(self.focus, how) {
                    self.notify(NoticeKind::Refused, why);
                }
            }
            A::Follow => self.log.toggle_follow(page),
            A::Wrap => self.log.toggle_wrap(),
            other => {
                if let Some(kind) = action_kind(other) {
                    self.open_action(kind);
                }
            }
        }
        Vec::new()
    }

    fn detail_action(&mut self, action: A) -> Vec<Effect> {
        let Some(detail) = &mut self.detail else {
            return Vec::new();
        };
        let page = self.size.1.saturating_sub(8).max(1);
        match action {
            A::Close => self.detail = None,
            A::Up => detail.scroll = detail.scroll.saturating_sub(1),
            A::Down => detail.scroll = detail.scroll.saturating_add(1),
            A::PageUp => detail.scroll = detail.scroll.saturating_sub(page),
            A::PageDown => detail.scroll = detail.scroll.saturating_add(page),
            A::Top => detail.scroll = 0,
            // Drawing clamps the scroll to the content.
            A::Bottom => detail.scroll = u16::MAX,
            other => {
                if let Some(kind) = action_kind(other) {
                    self.open_action(kind);
                }
            }
        }
        Vec::new()
    }

    fn open_action(&mut self, kind: ActionKind) {
        if let Err(why) = self.read_only_gate(kind) {
            self.notify(NoticeKind::Refused, why);
            return;
        }
        if self.detail.is_none()
            && let Err(why) = self.held_after_move(&kind.label().to_lowercase())
        {
            self.notify(NoticeKind::Refused, why);
            return;
        }
        if self.detail.is_none()
            && matches!(kind, ActionKind::Approve | ActionKind::Reject)
            && self.focus == Pane::Approvals
            && self.marks.count(Pane::Approvals) > 0
        {
            return self.open_bulk(kind);
        }
        match self.prepare(kind) {
            Ok(dialog) => self.dialog = Some(Dialog::Action(Box::new(dialog))),
            Err(why) => self.notify(NoticeKind::Refused, why),
        }
    }

    pub(super) fn notify(&mut self, kind: NoticeKind, text: String) {
        self.notice = Some(Notice {
            kind,
            text,
            at: self.clock,
        });
    }

    /// Rows a page moves in the focused pane.
    pub(super) fn page(&self) -> usize {
        layout::page_rows(self.size, self.focus, self.zoom)
    }

    pub(super) fn move_selection(&mut self, delta: i64) {
        let page = self.page();
        if self.focus == Pane::Log {
            self.log.move_by(delta, page);
            return;
        }
        let pane = self.focus;
        let len = self.pane_len(pane);
        if len == 0 {
            return;
        }
        let from = self.selected_index(pane).unwrap_or(0) as i64;
        let to = from.saturating_add(delta).clamp(0, len as i64 - 1) as usize;
        let id = self.id_at(pane, to);
        let page = if pane == Pane::Rings { 1 } else { page };
        if let Some(sel) = self.selection_mut(pane) {
            sel.set(to, id, page);
        }
    }

    fn open_detail(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Err(why) = self.held_after_move("open") {
            self.notify(NoticeKind::Refused, why);
            return effects;
        }
        let kind = match self.focus {
            Pane::Fleet | Pane::Evidence => self.selected_id(self.focus).map(|id| {
                effects.push(Effect::LoadDatabase(id.clone()));
                DetailKind::Database {
                    id,
                    detail: Loading::Waiting,
                }
            }),
            Pane::Rings => self
                .selected_id(Pane::Rings)
                .map(|id| DetailKind::Campaign { id }),
            Pane::Approvals => self
                .selected_id(Pane::Approvals)
                .and_then(|id| self.data.approvals.get(&id))
                .map(|a| DetailKind::Approval(Box::new(a.clone()))),
            Pane::Log => self
                .log
                .selected_event()
                .map(|e| DetailKind::Event(Box::new(e.clone()))),
        };
        match kind {
            Some(kind) => self.detail = Some(Detail { kind, scroll: 0 }),
            None => self.notify(
                NoticeKind::Info,
                format!("{} is empty: nothing to open", self.focus.title()),
            ),
        }
        effects
    }

    fn dialog_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        let km = &self.config.keymap;
        let action = km.lookup(Layer::Dialog, key);
        let Some(dialog) = &mut self.dialog else {
            return Vec::new();
        };
        let d = match dialog {
            Dialog::Quit { focus } => {
                match action {
                    Some(A::Cancel) => self.dialog = None,
                    Some(A::NextField | A::PrevField) => {
                        *focus = if *focus == Focus::Cancel {
                            Focus::Confirm
                        } else {
                            Focus::Cancel
                        };
                    }
                    Some(A::Activate) if *focus == Focus::Confirm => return vec![Effect::Quit],
                    Some(A::Activate) => self.dialog = None,
                    _ => {}
                }
                return Vec::new();
            }
            Dialog::Action(d) => d,
        };
        match action {
            Some(A::Cancel) => {
                let waiting = d.in_flight.is_some();
                self.dialog = None;
                if waiting {
                    self.notify(
                        NoticeKind::Info,
                        "still waiting for the server: its answer will show here".into(),
                    );
                }
            }
            Some(A::NextField) => d.cycle_focus(true),
            Some(A::PrevField) => d.cycle_focus(false),
            Some(A::Activate) => match d.focus {
                Focus::Cancel if d.in_flight.is_none() => self.dialog = None,
                Focus::Confirm => return self.confirm(),
                Focus::Text | Focus::ConfirmId => d.field_done(),
                Focus::Cancel => {}
            },
            _ if d.in_flight.is_none() => {
                let text_action = km.lookup(Layer::TextInput, key);
                let typing = text_action.is_some()
                    || matches!(key.code, KeyCode::Char(_))
                        && !key
                            .modifiers
                            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                if typing
                    && d.focused_field().is_none()
                    && let Some(label) = d.field_to_type_in()
                {
                    // Typing on a button goes nowhere; say where it would go.
                    d.error = Some(format!(
                        "nothing typed: focus is on a button; the {label} field takes text \
                         (Tab or Shift-Tab to it)"
                    ));
                }
                if let Some(field) = d.focused_field() {
                    match (text_action, key.code) {
                        (Some(a), _) => {
                            dialogs::edit(&mut field.area, a);
                        }
                        (None, KeyCode::Char(c))
                            if !key
                                .modifiers
                                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
                        {
                            dialogs::type_text(&mut field.area, c.encode_utf8(&mut [0; 4]));
                        }
                        _ => {}
                    }
                    d.error = None;
                }
            }
            _ => {}
        }
        Vec::new()
    }
}

fn action_kind(action: A) -> Option<ActionKind> {
    Some(match action {
        A::Approve => ActionKind::Approve,
        A::Reject => ActionKind::Reject,
        A::Pause => ActionKind::Pause,
        A::Resume => ActionKind::Resume,
        A::Rollback => ActionKind::Rollback,
        A::Drill => ActionKind::Drill,
        _ => return None,
    })
}
