//! Marks (Space) on rows of a table pane, and deciding the marked approvals at once.
//!
//! A mark remembers what its item looked like when marked (a fingerprint of the state
//! that matters). When an event changes the item so that the fingerprint differs, the
//! mark is dropped with a notice: a bulk decision only ever covers what the user saw.

use std::collections::{BTreeMap, BTreeSet};

use fleetdeck_api::{Change, text::sanitize_line};
use uuid::Uuid;

use super::App;
use super::dialogs::{ActionDialog, ActionKind, Dialog, Fact};
use super::view::{NoticeKind, Pane};
use crate::message::{ActionRequest, Effect};

#[derive(Debug, Default)]
pub struct Marks {
    /// Per table pane (in `Pane::ALL` order): id → fingerprint when marked.
    by_pane: [BTreeMap<String, String>; 4],
}

fn slot(pane: Pane) -> Option<usize> {
    Pane::ALL.iter().position(|p| *p == pane).filter(|i| *i < 4)
}

impl Marks {
    pub fn count(&self, pane: Pane) -> usize {
        slot(pane).map_or(0, |i| self.by_pane[i].len())
    }

    pub fn is_marked(&self, pane: Pane, id: &str) -> bool {
        slot(pane).is_some_and(|i| self.by_pane[i].contains_key(id))
    }

    pub fn ids(&self, pane: Pane) -> Vec<String> {
        slot(pane).map_or_else(Vec::new, |i| self.by_pane[i].keys().cloned().collect())
    }

    pub fn clear(&mut self) {
        self.by_pane = Default::default();
    }

    fn clear_pane(&mut self, pane: Pane) {
        if let Some(i) = slot(pane) {
            self.by_pane[i].clear();
        }
    }
}

/// The answers still awaited for a bulk decision, and how the others went.
#[derive(Debug)]
pub struct BulkProgress {
    pub kind: ActionKind,
    pub waiting: BTreeSet<u64>,
    pub done: usize,
    pub failed: Vec<String>,
}

impl App {
    /// What about an item makes a mark on it stale when it changes.
    fn fingerprint(&self, pane: Pane, id: &str) -> Option<String> {
        match pane {
            Pane::Fleet => self
                .data
                .databases
                .get(id)
                .map(|r| format!("v{}", r.db.version)),
            Pane::Rings => self
                .data
                .campaigns
                .get(id)
                .map(|c| c.state.as_str().to_string()),
            Pane::Evidence => self.data.evidence.get(id).map(|e| {
                format!(
                    "{}/{:?}",
                    e.freshness.as_str(),
                    e.latest.as_ref().map(|d| d.state)
                )
            }),
            Pane::Approvals => self
                .data
                .approvals
                .get(id)
                .map(|a| format!("{}/v{}", a.state.as_str(), a.version)),
            Pane::Log => None,
        }
    }

    /// Space: marks or unmarks the selected row and moves on to the next.
    pub(super) fn toggle_mark(&mut self) {
        let pane = self.focus;
        let Some(i) = slot(pane) else {
            self.notify(
                NoticeKind::Info,
                "log lines are not marked: marks are for table panes".into(),
            );
            return;
        };
        if let Err(why) = self.held_after_move("mark") {
            self.notify(NoticeKind::Refused, why);
            return;
        }
        let Some(id) = self.selected_id(pane) else {
            self.notify(
                NoticeKind::Info,
                format!("{} is empty: nothing to mark", pane.title()),
            );
            return;
        };
        if self.marks.by_pane[i].remove(&id).is_none()
            && let Some(print) = self.fingerprint(pane, &id)
        {
            self.marks.by_pane[i].insert(id, print);
        }
        self.move_selection(1);
    }

    /// Esc: clears the focused pane's filter and its marks.
    pub(super) fn clear_filter_and_marks(&mut self) {
        let pane = self.focus;
        let had = self.filter_of(pane).is_some() || self.marks.count(pane) > 0;
        self.set_filter(pane, "");
        self.marks.clear_pane(pane);
        if had {
            self.notify(
                NoticeKind::Info,
                format!("{}: filter and marks cleared", pane.title()),
            );
        }
    }

    /// After an event: drops marks on items it changed underneath. O(1) per event.
    pub(super) fn check_marks(&mut self, change: &Change) {
        let (pane, id) = match change {
            Change::Database { database } => (Pane::Fleet, database.id.clone()),
            Change::Campaign { campaign } => (Pane::Rings, campaign.id.clone()),
            Change::Target { campaign_id, .. } => (Pane::Rings, campaign_id.clone()),
            Change::Evidence { evidence } => (Pane::Evidence, evidence.database_id.clone()),
            Change::Approval { approval } => (Pane::Approvals, approval.id.clone()),
            Change::Unknown => return,
        };
        let Some(i) = slot(pane) else {
            return;
        };
        let Some(was) = self.marks.by_pane[i].get(&id).cloned() else {
            return;
        };
        let now = self.fingerprint(pane, &id);
        if now.as_deref() == Some(was.as_str()) {
            return;
        }
        self.marks.by_pane[i].remove(&id);
        let how = match now {
            None => "it left the pane".to_string(),
            Some(_) => "it changed since you marked it".to_string(),
        };
        self.notify(
            NoticeKind::Info,
            format!(
                "mark on {} dropped: {how}; {} still marked",
                sanitize_line(&id),
                self.marks.count(pane)
            ),
        );
    }

    /// The dialog deciding every marked approval: each listed with its blast radius.
    pub(super) fn open_bulk(&mut self, kind: ActionKind) {
        let mut items = Vec::new();
        let mut facts = Vec::new();
        for id in self.marks.ids(Pane::Approvals) {
            if let Err(why) = self.permitted(kind, &id) {
                self.notify(NoticeKind::Refused, format!("{why}: unmark it first"));
                return;
            }
            let Some(a) = self.data.approvals.get(&id) else {
                continue;
            };
            let b = a.blast_radius;
            facts.push(Fact {
                label: "",
                value: format!(
                    "{} · {} · {} db · {} prod · {} tier 1",
                    sanitize_line(&a.id),
                    sanitize_line(&a.subject),
                    b.databases,
                    b.prod,
                    b.tier1
                ),
                severe: b.prod > 0 || b.tier1 > 0,
            });
            items.push((a.id.clone(), a.version));
        }
        if let Err(why) = self.connection_gate() {
            self.notify(NoticeKind::Refused, why);
            return;
        }
        let total = facts.len();
        if let Some(first) = facts.first_mut() {
            first.label = if total == 1 { "Approval" } else { "Approvals" };
        }
        self.dialog = Some(Dialog::Action(Box::new(ActionDialog::bulk(
            kind, items, facts,
        ))));
    }

    /// Confirm in a bulk dialog: one request per approval, each with its own
    /// Idempotency-Key and the If-Match of the version the user saw.
    pub(super) fn confirm_bulk(&mut self) -> Vec<Effect> {
        let gate = self
            .connection_gate()
            .and_then(|()| self.read_only_gate(ActionKind::Approve));
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
        let mut requests = Vec::new();
        for (id, version) in &d.bulk {
            match d.action_for(id.clone()) {
                Ok(action) => requests.push((action, *version)),
                Err(why) => {
                    d.error = Some(why);
                    return Vec::new();
                }
            }
        }
        let kind = d.kind;
        let mut effects = Vec::new();
        let mut waiting = BTreeSet::new();
        for (action, version) in requests {
            let id = self.next_request;
            self.next_request += 1;
            let request = ActionRequest {
                id,
                action,
                idempotency_key: Uuid::new_v4(),
                if_match: Some(version),
            };
            waiting.insert(id);
            self.in_flight.insert(id, request.clone());
            effects.push(Effect::Send(request));
        }
        if let Some(Dialog::Action(d)) = &mut self.dialog {
            d.in_flight = waiting.first().copied();
        }
        self.bulk = Some(BulkProgress {
            kind,
            waiting,
            done: 0,
            failed: Vec::new(),
        });
        self.marks.clear_pane(Pane::Approvals);
        effects
    }

    /// One answer of a bulk decision; true when `id` belonged to one. When the last
    /// answer is in, the dialog closes and one notice sums them up.
    pub(super) fn bulk_answer(&mut self, id: u64, target: &str, failure: Option<String>) -> bool {
        let Some(b) = &mut self.bulk else {
            return false;
        };
        if !b.waiting.remove(&id) {
            return false;
        }
        match failure {
            None => b.done += 1,
            Some(why) => b.failed.push(format!("{target}: {why}")),
        }
        if !b.waiting.is_empty() {
            return true;
        }
        let b = self.bulk.take().expect("checked above");
        if matches!(&self.dialog, Some(Dialog::Action(d)) if !d.bulk.is_empty()) {
            self.dialog = None;
        }
        let verb = b.kind.done();
        if b.failed.is_empty() {
            self.notify(
                NoticeKind::Ok,
                format!("✓ {verb} {}", crate::ui::format::count(b.done, "approval")),
            );
        } else {
            self.notify(
                NoticeKind::Refused,
                format!(
                    "{verb} {} of {}; ✗ {}",
                    b.done,
                    b.done + b.failed.len(),
                    b.failed.join("; ")
                ),
            );
        }
        true
    }
}
