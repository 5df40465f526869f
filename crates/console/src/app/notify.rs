//! Optional notifications for whoever is not looking: the terminal bell and the window
//! title, when a new approval arrives or a campaign pauses itself. Both off by default
//! (`Session::notify_bell`, `Session::notify_title`); the runtime carries them out.

use fleetdeck_api::{ApprovalState, CampaignState, Change};

use super::App;
use crate::message::HostRequest;

/// What an item was before an event, as far as notifications care.
pub(super) enum Before {
    Nothing,
    /// Whether the approval was already in the queue.
    Approval(bool),
    /// Whether the campaign was already paused.
    Campaign(bool),
}

impl App {
    pub(super) fn notable_before(&self, change: &Change) -> Before {
        if !self.session.notify_bell && !self.session.notify_title {
            return Before::Nothing;
        }
        match change {
            Change::Approval { approval } => {
                Before::Approval(self.data.approvals.get(&approval.id).is_some())
            }
            Change::Campaign { campaign } => Before::Campaign(
                self.data
                    .campaigns
                    .get(&campaign.id)
                    .is_some_and(|c| c.state == CampaignState::Paused),
            ),
            _ => Before::Nothing,
        }
    }

    /// A new approval, or a pause nobody here asked for (the actor is not this user),
    /// rings the bell and/or retitles the window.
    pub(super) fn notify_after(&mut self, before: Before, change: &Change, actor: &str) {
        let me = self.whoami.as_ref().map(|w| w.user.as_str());
        let notable = match (before, change) {
            (Before::Approval(false), Change::Approval { approval }) => {
                approval.state == ApprovalState::Pending
            }
            (Before::Campaign(false), Change::Campaign { campaign }) => {
                campaign.state == CampaignState::Paused && me != Some(actor)
            }
            _ => false,
        };
        if !notable {
            return;
        }
        if self.session.notify_bell {
            self.ask_host(HostRequest::Bell);
        }
        if self.session.notify_title {
            let c = self.data.counts;
            self.ask_host(HostRequest::SetTitle(format!(
                "fleetdeck · ⧗{} to approve · ‖{} paused",
                c.pending_approvals, c.campaigns_paused
            )));
        }
    }
}
