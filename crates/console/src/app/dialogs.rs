//! Dialogs are explicit state: the pending action, its inputs and which control has
//! focus. A dialog opens with focus on Cancel; Enter on Confirm sends exactly once.
//! A dialog's subject never changes; what it shows of the subject follows the subject
//! live (see `App::refresh_dialog`), so Confirm sends the version the operator sees.

use fleetdeck_api::limits::MAX_REASON_CHARS;
use ratatui_textarea::{CursorMove, TextArea};
use uuid::Uuid;

use crate::keymap::NamedAction;
use crate::message::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Approve,
    Reject,
    Pause,
    Resume,
    Rollback,
    Drill,
}

impl ActionKind {
    /// The button and title word.
    pub fn label(self) -> &'static str {
        match self {
            ActionKind::Approve => "Approve",
            ActionKind::Reject => "Reject",
            ActionKind::Pause => "Pause",
            ActionKind::Resume => "Resume",
            ActionKind::Rollback => "Roll back",
            ActionKind::Drill => "Drill now",
        }
    }

    /// Past tense for the result notice.
    pub fn done(self) -> &'static str {
        match self {
            ActionKind::Approve => "approved",
            ActionKind::Reject => "rejected",
            ActionKind::Pause => "paused",
            ActionKind::Resume => "resumed",
            ActionKind::Rollback => "rollback started for",
            ActionKind::Drill => "drill started for",
        }
    }

    /// The text field, if any: (label, required).
    fn text_field(self) -> Option<(&'static str, bool)> {
        match self {
            ActionKind::Approve => Some(("Comment (optional)", false)),
            ActionKind::Reject => Some(("Comment (required)", true)),
            ActionKind::Pause => Some(("Reason (required)", true)),
            ActionKind::Resume => Some(("Reason (optional)", false)),
            ActionKind::Rollback => Some(("Reason (required)", true)),
            ActionKind::Drill => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Text,
    ConfirmId,
    Cancel,
    Confirm,
}

/// One line of "what this will do", computed when the dialog opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
    /// Production or tier-1 involvement: drawn as a warning.
    pub severe: bool,
}

pub struct TextField {
    pub label: &'static str,
    pub required: bool,
    pub area: TextArea<'static>,
}

impl TextField {
    fn new(label: &'static str, required: bool) -> TextField {
        TextField {
            label,
            required,
            area: TextArea::default(),
        }
    }

    /// The typed text, trimmed; `None` when blank.
    pub fn value(&self) -> Option<String> {
        let text = self.area.lines().join(" ");
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }
}

pub struct ActionDialog {
    pub kind: ActionKind,
    /// The id of the approval, campaign or database acted on; fixed for the dialog's life.
    pub target: String,
    /// The version the dialog shows (its facts are of this version): sent as If-Match.
    pub version: u64,
    /// The version when the dialog opened, to say that the subject moved since.
    pub opened_version: u64,
    pub facts: Vec<Fact>,
    /// Why the action cannot be sent now whatever is typed: the subject left, or its
    /// state no longer allows it (a campaign that completed while a pause was open).
    pub unavailable: Option<String>,
    /// After a 412: the version the server has. Confirm waits until the dialog shows at
    /// least that version, so a version the server refused is never sent again.
    pub server_version: Option<u64>,
    pub text: Option<TextField>,
    /// Present when the action touches production: the target id must be typed.
    pub confirm_id: Option<TextField>,
    pub focus: Focus,
    /// The request sent from this dialog and not yet answered.
    pub in_flight: Option<u64>,
    /// The last refusal or failure, shown in the dialog.
    pub error: Option<String>,
    /// After a request got no answer: resending the same action reuses its key, so the
    /// server can tell a retry from a second request.
    pub retry: Option<(Action, Uuid)>,
    /// A bulk decision: each marked item with the version the user saw. Empty for one.
    pub bulk: Vec<(String, u64)>,
    /// What must be typed into `confirm_id`: the target id, or the count for a bulk.
    pub expect: String,
}

impl ActionDialog {
    pub fn new(
        kind: ActionKind,
        target: String,
        version: u64,
        facts: Vec<Fact>,
        typed_confirmation: bool,
    ) -> ActionDialog {
        ActionDialog {
            kind,
            target,
            version,
            opened_version: version,
            facts,
            unavailable: None,
            server_version: None,
            text: kind
                .text_field()
                .map(|(label, required)| TextField::new(label, required)),
            confirm_id: typed_confirmation
                .then(|| TextField::new("Type the campaign id to confirm", true)),
            focus: Focus::Cancel,
            in_flight: None,
            error: None,
            retry: None,
            bulk: Vec::new(),
            expect: String::new(),
        }
    }

    /// One decision for several marked items: the count must be typed to confirm, so
    /// a stray Enter never decides a batch.
    pub fn bulk(kind: ActionKind, items: Vec<(String, u64)>, facts: Vec<Fact>) -> ActionDialog {
        let n = items.len();
        let mut d = ActionDialog::new(
            kind,
            crate::ui::format::count(n, "marked approval"),
            0,
            facts,
            false,
        );
        d.confirm_id = Some(TextField::new(
            "Type the number of approvals to confirm",
            true,
        ));
        d.expect = n.to_string();
        d.bulk = items;
        d
    }

    /// Takes the subject's current version and facts from `fresh` (built for the same
    /// subject), keeping what the user typed, so Confirm sends what the dialog shows.
    pub fn refresh_from(&mut self, fresh: ActionDialog) {
        if fresh.version != self.version {
            // A lost answer is retried with its key only while nothing moved.
            self.retry = None;
        }
        self.version = fresh.version;
        self.facts = fresh.facts;
        if self.confirm_id.is_none() {
            self.confirm_id = fresh.confirm_id;
        }
    }

    /// Confirm waits for the server's newer state after a 412.
    fn behind_server(&self) -> Option<String> {
        let have = self.server_version?;
        (self.version < have).then(|| {
            format!(
                "the server has {} at version {have}; this shows version {}: Confirm waits \
                 for the newer state to arrive",
                self.target, self.version
            )
        })
    }

    pub fn title(&self) -> String {
        format!("{} {}", self.kind.label(), self.target)
    }

    /// The request the inputs make, or why Confirm is not available yet.
    pub fn action(&self) -> Result<Action, String> {
        self.action_for(self.target.clone())
    }

    /// The request the inputs make for item `id` (each item of a bulk decision).
    pub fn action_for(&self, id: String) -> Result<Action, String> {
        if let Some(why) = self.unavailable.clone().or_else(|| self.behind_server()) {
            return Err(why);
        }
        let text = self.text.as_ref().and_then(TextField::value);
        if let (Some(field), None) = (&self.text, &text)
            && field.required
        {
            let what = if field.label.starts_with("Comment") {
                "a comment"
            } else {
                "a reason"
            };
            return Err(format!("{} needs {what}", self.kind.label()));
        }
        if let Some(t) = &text
            && t.chars().count() > MAX_REASON_CHARS
        {
            return Err(format!("the text is over {MAX_REASON_CHARS} characters"));
        }
        let expect = if self.expect.is_empty() {
            &self.target
        } else {
            &self.expect
        };
        if let Some(field) = &self.confirm_id
            && field.value().as_deref() != Some(expect.as_str())
        {
            return Err(if self.bulk.is_empty() {
                format!(
                    "touches production: type {} to enable {}",
                    self.target,
                    self.kind.label()
                )
            } else {
                format!(
                    "type {expect} (the number of approvals) to enable {}",
                    self.kind.label()
                )
            });
        }
        Ok(match self.kind {
            ActionKind::Approve => Action::Approve {
                approval_id: id,
                comment: text,
            },
            ActionKind::Reject => Action::Reject {
                approval_id: id,
                comment: text.unwrap_or_default(),
            },
            ActionKind::Pause => Action::Pause {
                campaign_id: id,
                reason: text.unwrap_or_default(),
            },
            ActionKind::Resume => Action::Resume {
                campaign_id: id,
                reason: text,
            },
            ActionKind::Rollback => Action::Rollback {
                campaign_id: id,
                reason: text.unwrap_or_default(),
            },
            ActionKind::Drill => Action::Drill { database_id: id },
        })
    }

    /// Whether the action's button can be pressed now.
    pub fn confirmable(&self) -> bool {
        self.in_flight.is_none() && self.action().is_ok()
    }

    /// The text fields still waiting for input: a required one left blank, or the
    /// typed confirmation not yet matching.
    fn needs_input(&self, focus: Focus) -> bool {
        match focus {
            Focus::Text => self
                .text
                .as_ref()
                .is_some_and(|f| f.required && f.value().is_none()),
            Focus::ConfirmId => self.confirm_id.as_ref().is_some_and(|f| {
                let expect = if self.expect.is_empty() {
                    &self.target
                } else {
                    &self.expect
                };
                f.value().as_deref() != Some(expect.as_str())
            }),
            _ => false,
        }
    }

    /// Where Tab can go, in screen order: the fields, Cancel, then the action's button
    /// unless it is locked.
    fn focus_order(&self) -> Vec<Focus> {
        let mut order = Vec::with_capacity(4);
        if self.text.is_some() {
            order.push(Focus::Text);
        }
        if self.confirm_id.is_some() {
            order.push(Focus::ConfirmId);
        }
        order.push(Focus::Cancel);
        if self.confirmable() {
            order.push(Focus::Confirm);
        }
        order
    }

    /// Tab (and Shift-Tab): a field that still needs input comes first, the next one
    /// after where focus is; with none left, the next stop in screen order. A locked
    /// button is never a stop.
    pub fn cycle_focus(&mut self, forward: bool) {
        let order = self.focus_order();
        let n = order.len();
        // Focus may sit on a button that locked since (a live change): count from it
        // as from its place in screen order.
        let i = order.iter().position(|f| *f == self.focus).unwrap_or(n - 1);
        let step = |k: usize| {
            if forward {
                order[(i + k) % n]
            } else {
                order[(i + n * k - k) % n]
            }
        };
        if forward
            && let Some(f) = (1..=n)
                .map(step)
                .find(|f| *f != self.focus && self.needs_input(*f))
        {
            self.focus = f;
            return;
        }
        self.focus = step(1);
    }

    /// Enter in a text field: on to the next field still needing input, else to the
    /// action's button (never to Cancel, which would throw the text away). While the
    /// button is locked focus stays in the field, where the status line says why.
    pub fn field_done(&mut self) {
        let next = [Focus::Text, Focus::ConfirmId]
            .into_iter()
            .find(|f| *f != self.focus && self.needs_input(*f));
        if let Some(f) = next {
            self.focus = f;
        } else if self.confirmable() {
            self.focus = Focus::Confirm;
        }
    }

    /// The label of the field a keystroke would go to next: the first one still
    /// needing input, else the first field. `None` without fields.
    pub fn field_to_type_in(&self) -> Option<&'static str> {
        let first = [Focus::Text, Focus::ConfirmId]
            .into_iter()
            .find(|f| self.needs_input(*f))
            .unwrap_or(Focus::Text);
        let field = match first {
            Focus::Text => self.text.as_ref().or(self.confirm_id.as_ref()),
            _ => self.confirm_id.as_ref(),
        };
        field.map(|f| f.label)
    }

    /// The text field with focus, if a text field has it.
    pub fn focused_field(&mut self) -> Option<&mut TextField> {
        match self.focus {
            Focus::Text => self.text.as_mut(),
            Focus::ConfirmId => self.confirm_id.as_mut(),
            _ => None,
        }
    }
}

/// Every open dialog; the top-most takes input first.
pub enum Dialog {
    Action(Box<ActionDialog>),
    /// `q` while a request is in flight.
    Quit {
        focus: Focus,
    },
}

/// Applies one text-input action to a field; single-line fields, so no newline.
pub fn edit(area: &mut TextArea<'static>, action: NamedAction) -> bool {
    match action {
        NamedAction::DeleteBack => area.delete_char(),
        NamedAction::DeleteForward => area.delete_next_char(),
        NamedAction::CursorLeft => move_to(area, CursorMove::Back),
        NamedAction::CursorRight => move_to(area, CursorMove::Forward),
        NamedAction::WordLeft => move_to(area, CursorMove::WordBack),
        NamedAction::WordRight => move_to(area, CursorMove::WordForward),
        NamedAction::LineStart => move_to(area, CursorMove::Head),
        NamedAction::LineEnd => move_to(area, CursorMove::End),
        NamedAction::DeleteWord => area.delete_word(),
        NamedAction::ClearField => {
            move_to(area, CursorMove::End);
            area.delete_line_by_head()
        }
        _ => false,
    }
}

fn move_to(area: &mut TextArea<'static>, m: CursorMove) -> bool {
    area.move_cursor(m);
    true
}

/// Types text (a key or a paste) into a field, as one line.
pub fn type_text(area: &mut TextArea<'static>, text: &str) {
    let line = fleetdeck_api::text::sanitize_line(text).replace('⏎', " ");
    area.insert_str(line);
}
