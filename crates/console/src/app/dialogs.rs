//! Dialogs are explicit state: the pending action, its inputs and which control has
//! focus. A dialog opens with focus on Cancel; Enter on Confirm sends exactly once.

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
    /// The id of the approval, campaign or database acted on.
    pub target: String,
    /// The version the user saw when the dialog opened: sent as If-Match.
    pub version: u64,
    pub facts: Vec<Fact>,
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
            facts,
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

    /// After a 412: takes the item's current version and facts from `fresh`, keeping
    /// what the user typed, so the next Confirm sends what the dialog now shows.
    pub fn refresh_from(&mut self, fresh: ActionDialog) {
        self.version = fresh.version;
        self.facts = fresh.facts;
        if self.confirm_id.is_none() {
            self.confirm_id = fresh.confirm_id;
        }
        self.retry = None;
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

    fn focus_order(&self) -> Vec<Focus> {
        let mut order = Vec::with_capacity(4);
        if self.text.is_some() {
            order.push(Focus::Text);
        }
        if self.confirm_id.is_some() {
            order.push(Focus::ConfirmId);
        }
        order.extend([Focus::Cancel, Focus::Confirm]);
        order
    }

    pub fn cycle_focus(&mut self, forward: bool) {
        let order = self.focus_order();
        let n = order.len();
        let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
        self.focus = order[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    /// Enter in a text field: on to the next field, then to the action's button (never
    /// to Cancel, which would throw the text away).
    pub fn field_done(&mut self) {
        self.focus = match self.focus {
            Focus::Text if self.confirm_id.is_some() => Focus::ConfirmId,
            _ => Focus::Confirm,
        };
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
