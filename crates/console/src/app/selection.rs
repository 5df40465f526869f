//! Each table pane's selection follows its item, not a row number: whatever arrives,
//! sorts or filters, the highlight stays on the same approval, campaign or database.
//! When the item itself leaves the pane (decided, expired, hidden by the filter) the
//! cursor goes to its neighbour, the footer says so, and the next key that would act
//! on the selection acts on nothing: it was meant for the item that left.

use fleetdeck_api::{ApprovalState, Change, text::sanitize_line};

use super::App;
use super::view::{NoticeKind, Pane, Selection};

/// Why selections are checked again.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PinCause<'a> {
    /// A server event changed this, done by `actor`.
    Event { change: &'a Change, actor: &'a str },
    /// A new snapshot replaced everything (a reconnect).
    Reload,
    /// The user changed a filter: they see the result at once; nothing is held back.
    Filter,
}

const TABLE_PANES: [Pane; 4] = [Pane::Fleet, Pane::Rings, Pane::Evidence, Pane::Approvals];

impl App {
    /// Holds each table pane's selection on its item, keeping its position current so
    /// a neighbour can take over when the item leaves. O(log n) per pane.
    pub(crate) fn pin_selections(&mut self, cause: PinCause) {
        for pane in TABLE_PANES {
            let old = self.selection(pane).and_then(|s| s.id.clone());
            let at = old.as_deref().and_then(|id| self.position_of(pane, id));
            if let Some(pos) = at {
                if let Some(sel) = self.selection_mut(pane) {
                    sel.index = pos;
                }
                continue;
            }
            let len = self.pane_len(pane);
            let index = self
                .selection(pane)
                .map_or(0, |s| s.index)
                .min(len.saturating_sub(1));
            let new = self.id_at(pane, index);
            // The user's own action took the item away (they approved it): they know.
            let own = matches!(cause, PinCause::Event { actor, .. }
                if self.whoami.as_ref().is_some_and(|w| w.user == actor));
            let Some(old) = old.filter(|o| Some(o) != new.as_ref() && !own) else {
                if let Some(sel) = self.selection_mut(pane) {
                    sel.id = new;
                    sel.index = index;
                }
                continue;
            };
            let why = self.why_gone(pane, &old, cause);
            let now = match &new {
                Some(id) => format!("the cursor is on {} now", sanitize_line(id)),
                None => format!("{} is empty now", pane.title()),
            };
            let held = !matches!(cause, PinCause::Filter);
            // With nothing selected now there is nothing a key could act on.
            let hold = held && new.is_some();
            if let Some(sel) = self.selection_mut(pane) {
                sel.id = new;
                sel.index = index;
                sel.moved_off = hold.then(|| old.clone());
            }
            if pane == self.focus {
                self.notify(
                    NoticeKind::Info,
                    format!("{} {why}: {now}", sanitize_line(&old)),
                );
            }
        }
    }

    /// Why `id` is no longer shown in `pane`, in words.
    fn why_gone(&self, pane: Pane, id: &str, cause: PinCause) -> String {
        if self.exists(pane, id) {
            return "is hidden by the filter".into();
        }
        match (pane, cause) {
            (
                Pane::Approvals,
                PinCause::Event {
                    change: Change::Approval { approval },
                    ..
                },
            ) if approval.id == id && approval.state != ApprovalState::Pending => {
                let by = approval
                    .decisions
                    .last()
                    .filter(|_| approval.state != ApprovalState::Expired)
                    .map(|d| format!(" by {}", sanitize_line(&d.approver)))
                    .unwrap_or_default();
                format!("left the queue ({}{by})", approval.state.as_str())
            }
            (Pane::Approvals, _) => "left the queue".into(),
            _ => format!("left {}", pane.title()),
        }
    }

    /// Before a key acts on the selection of the focused pane: if the selected item
    /// left since the user last moved, that key was meant for the item that left. It
    /// does nothing, and says where the cursor is now; the next press acts.
    pub(crate) fn held_after_move(&mut self, verb: &str) -> Result<(), String> {
        let pane = self.focus;
        let Some(gone) = self.selection_mut(pane).and_then(|s| s.moved_off.take()) else {
            return Ok(());
        };
        let now = self
            .selected_id(pane)
            .map_or("nothing".to_string(), |id| sanitize_line(&id).into_owned());
        Err(format!(
            "{} left {} before this key: nothing done; the cursor is on {now}, press again \
             to {verb} it",
            sanitize_line(&gone),
            pane.title()
        ))
    }

    fn exists(&self, pane: Pane, id: &str) -> bool {
        match pane {
            Pane::Fleet => self.data.databases.get(id).is_some(),
            Pane::Rings => self.data.campaigns.get(id).is_some(),
            Pane::Evidence => self.data.evidence.get(id).is_some(),
            Pane::Approvals => self.data.approvals.get(id).is_some(),
            Pane::Log => false,
        }
    }

    /// Where `id` is shown in a table pane (after its filter).
    pub(crate) fn position_of(&self, pane: Pane, id: &str) -> Option<usize> {
        match pane {
            Pane::Fleet => self.data.databases.position(id),
            Pane::Rings => self.data.campaigns.position(id),
            Pane::Evidence => self.data.evidence.position(id),
            Pane::Approvals => self.data.approvals.position(id),
            Pane::Log => None,
        }
    }

    /// The selected item's id in a table pane (not the log).
    pub(crate) fn selected_id(&self, pane: Pane) -> Option<String> {
        let pos = self.selected_index(pane)?;
        self.id_at(pane, pos)
    }

    /// Where the selection of a table pane is now: its item's position. Selections are
    /// pinned after every change, so the stored index is a fallback only before that.
    pub(crate) fn selected_index(&self, pane: Pane) -> Option<usize> {
        let len = self.pane_len(pane);
        if len == 0 {
            return None;
        }
        let sel = self.selection(pane)?;
        let by_id = sel.id.as_deref().and_then(|id| self.position_of(pane, id));
        Some(by_id.unwrap_or(sel.index).min(len - 1))
    }

    /// The item id at display position `pos` of a table pane.
    pub(crate) fn id_at(&self, pane: Pane, pos: usize) -> Option<String> {
        match pane {
            Pane::Fleet => self.data.databases.at(pos).map(|r| r.db.id.clone()),
            Pane::Rings => self.data.campaigns.at(pos).map(|c| c.id.clone()),
            Pane::Evidence => self.data.evidence.at(pos).map(|e| e.database_id.clone()),
            Pane::Approvals => self.data.approvals.at(pos).map(|a| a.id.clone()),
            Pane::Log => None,
        }
    }

    /// Items in a table pane before its filter.
    pub(crate) fn pane_total(&self, pane: Pane) -> usize {
        match pane {
            Pane::Fleet => self.data.databases.total(),
            Pane::Rings => self.data.campaigns.total(),
            Pane::Evidence => self.data.evidence.total(),
            Pane::Approvals => self.data.approvals.total(),
            Pane::Log => self.log.len(),
        }
    }

    pub(crate) fn pane_len(&self, pane: Pane) -> usize {
        match pane {
            Pane::Fleet => self.data.databases.len(),
            Pane::Rings => self.data.campaigns.len(),
            Pane::Evidence => self.data.evidence.len(),
            Pane::Approvals => self.data.approvals.len(),
            Pane::Log => self.log.view_len(),
        }
    }

    pub(crate) fn selection(&self, pane: Pane) -> Option<&Selection> {
        let i = Pane::ALL.iter().position(|p| *p == pane)?;
        self.selections.get(i)
    }

    pub(crate) fn selection_mut(&mut self, pane: Pane) -> Option<&mut Selection> {
        let i = Pane::ALL.iter().position(|p| *p == pane)?;
        self.selections.get_mut(i)
    }
}
