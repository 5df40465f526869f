//! An open action dialog follows its subject: the facts it shows and the version it
//! sends are the subject's as the console has it now, so Confirm sends what the
//! operator sees at that moment. Its subject never changes; when the subject leaves
//! or its state no longer allows the action, Confirm locks and says why.

use fleetdeck_api::{Change, text::sanitize_line};

use super::App;
use super::dialogs::{ActionKind, Dialog};

impl App {
    /// Whether `change` is about the open action dialog's subject.
    pub(crate) fn dialog_subject_in(&self, change: &Change) -> bool {
        let Some(Dialog::Action(d)) = &self.dialog else {
            return false;
        };
        let id = d.target.as_str();
        match (d.kind, change) {
            (ActionKind::Approve | ActionKind::Reject, Change::Approval { approval }) => {
                approval.id == id
            }
            (
                ActionKind::Pause | ActionKind::Resume | ActionKind::Rollback,
                Change::Campaign { campaign },
            ) => campaign.id == id,
            (
                ActionKind::Pause | ActionKind::Resume | ActionKind::Rollback,
                Change::Target { campaign_id, .. },
            ) => campaign_id == id,
            (ActionKind::Drill, Change::Database { database }) => database.id == id,
            (ActionKind::Drill, Change::Evidence { evidence }) => evidence.database_id == id,
            _ => false,
        }
    }

    /// Rebuilds the open dialog's facts and version from the subject as it is now,
    /// keeping what was typed. Nothing changes while a request from it is in flight (it
    /// shows what was sent) or for a bulk decision (each item keeps the version seen).
    pub(crate) fn refresh_dialog(&mut self) {
        let Some(Dialog::Action(d)) = &self.dialog else {
            return;
        };
        if !d.bulk.is_empty() || d.in_flight.is_some() {
            return;
        }
        let (kind, id) = (d.kind, d.target.clone());
        let fresh = self.describe(kind, id.clone());
        let unavailable = match &fresh {
            None => Some(match kind {
                ActionKind::Approve | ActionKind::Reject => format!(
                    "{} left the queue (decided or expired): nothing left to decide",
                    sanitize_line(&id)
                ),
                _ => format!("{} is no longer here", sanitize_line(&id)),
            }),
            Some(_) => self.permitted(kind, &id).err(),
        };
        let Some(Dialog::Action(d)) = &mut self.dialog else {
            return;
        };
        if let Some(fresh) = fresh {
            d.refresh_from(fresh);
        }
        d.unavailable = unavailable;
        if d.server_version.is_some_and(|have| d.version >= have) {
            // The state the server refused for has arrived: the dialog shows it now.
            d.server_version = None;
            d.error = Some(format!(
                "{} changed since you saw it; this now shows version {} as it is: review, \
                 then confirm again",
                sanitize_line(&id),
                d.version
            ));
        }
    }
}
