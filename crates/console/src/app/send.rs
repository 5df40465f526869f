//! Sending a confirmed action exactly once, and turning its answer into a notice.

use uuid::Uuid;

use super::App;
use super::dialogs::{ActionKind, Dialog};
use super::view::NoticeKind;
use crate::message::{Action, ActionError, ActionRequest, Effect};
use fleetdeck_api::text::sanitize_line;

impl App {
    /// Confirm in an action dialog: checks again, then emits one request. While that
    /// request is in flight, pressing Confirm again sends nothing.
    pub(super) fn confirm(&mut self) -> Vec<Effect> {
        if matches!(&self.dialog, Some(Dialog::Action(d)) if !d.bulk.is_empty()) {
            return self.confirm_bulk();
        }
        let kind = match &self.dialog {
            Some(Dialog::Action(d)) => d.kind,
            _ => return Vec::new(),
        };
        let gate = self
            .read_only_gate(kind)
            .and_then(|()| self.connection_gate());
        let Some(Dialog::Action(d)) = &mut self.dialog else {
            return Vec::new();
        };
        if d.in_flight.is_some() {
            return Vec::new();
        }
        if let Err(why) = gate {
            d.error = Some(why);
            return Vec::new();
        }
        let action = match d.action() {
            Ok(action) => action,
            Err(why) => {
                d.error = Some(why);
                return Vec::new();
            }
        };
        let idempotency_key = match &d.retry {
            Some((previous, key)) if *previous == action => *key,
            _ => Uuid::new_v4(),
        };
        let id = self.next_request;
        self.next_request += 1;
        let request = ActionRequest {
            id,
            action,
            idempotency_key,
            if_match: Some(d.version),
        };
        d.in_flight = Some(id);
        d.error = None;
        self.in_flight.insert(id, request.clone());
        vec![Effect::Send(request)]
    }

    pub(super) fn action_done(&mut self, id: u64, result: Result<(), ActionError>) {
        let Some(request) = self.in_flight.remove(&id) else {
            return;
        };
        let kind = kind_of(&request.action);
        let target = target_of(&request.action).to_string();
        let failure = result
            .as_ref()
            .err()
            .map(|e| sanitize_line(&e.to_string()).into_owned());
        if self.bulk_answer(id, &target, failure) {
            return;
        }
        let ours = matches!(&self.dialog, Some(Dialog::Action(d)) if d.in_flight == Some(id));
        match result {
            Ok(()) => {
                if ours {
                    self.dialog = None;
                }
                self.notify(NoticeKind::Ok, format!("✓ {} {target}", kind.done()));
            }
            Err(err) => {
                let verb = kind.label().to_lowercase();
                let (what, retry) = match &err {
                    ActionError::Refused(p) => (
                        format!("{verb} {target} refused: {}", sanitize_line(&p.to_string())),
                        None,
                    ),
                    ActionError::Transport(why) => (
                        format!(
                            "{verb} {target}: no answer ({}); Confirm retries it with the same \
                             Idempotency-Key",
                            sanitize_line(why)
                        ),
                        Some((request.action.clone(), request.idempotency_key)),
                    ),
                };
                // The dialog marks its error line itself; the footer needs the mark.
                let text = format!("✗ {what}");
                // A 412: the item moved on since the version sent. The server says which
                // version it has; the dialog never sends the refused one again.
                let sent = request.if_match.unwrap_or_default();
                let server_has = match &err {
                    ActionError::Refused(p) if p.status == 412 => {
                        Some(p.current_version.unwrap_or(sent + 1).max(sent + 1))
                    }
                    _ => None,
                };
                if ours {
                    if let Some(Dialog::Action(d)) = &mut self.dialog {
                        d.in_flight = None;
                        d.retry = retry;
                        d.server_version = server_has;
                        d.error = None;
                    }
                    self.refresh_dialog();
                    if let Some(Dialog::Action(d)) = &mut self.dialog {
                        d.error = Some(match (server_has, &d.unavailable) {
                            (_, Some(why)) => format!("{what}; now: {why}"),
                            (Some(have), None) if d.version < have => format!(
                                "{target} changed since you saw it: the server refused version \
                                 {sent} and has {have}; this dialog shows it as it is once that \
                                 arrives, then confirm again"
                            ),
                            (Some(_), None) => format!(
                                "{target} changed since you saw it (version {sent} → {}); the \
                                 dialog now shows it as it is: review, then confirm again",
                                d.version
                            ),
                            (None, None) => what,
                        });
                    }
                }
                self.notify(NoticeKind::Refused, text);
            }
        }
    }
}

pub(crate) fn kind_of(action: &Action) -> ActionKind {
    match action {
        Action::Approve { .. } => ActionKind::Approve,
        Action::Reject { .. } => ActionKind::Reject,
        Action::Pause { .. } => ActionKind::Pause,
        Action::Resume { .. } => ActionKind::Resume,
        Action::Rollback { .. } => ActionKind::Rollback,
        Action::Drill { .. } => ActionKind::Drill,
    }
}

pub(crate) fn target_of(action: &Action) -> &str {
    match action {
        Action::Approve { approval_id, .. } | Action::Reject { approval_id, .. } => approval_id,
        Action::Pause { campaign_id, .. }
        | Action::Resume { campaign_id, .. }
        | Action::Rollback { campaign_id, .. } => campaign_id,
        Action::Drill { database_id } => database_id,
    }
}
