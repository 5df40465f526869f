//! The console's copy of the control plane's state: loaded from a snapshot, then kept
//! current one event at a time without refetching or re-sorting.

use std::collections::HashMap;

use fleetdeck_api::{
    Approval, ApprovalState, Campaign, CampaignState, Change, Event, Evidence, Freshness,
    RingState, Seq, Snapshot, Target,
};

use super::indexes::Collection;
use super::order::{
    ApprovalsColumn, DbRow, EvidenceColumn, FleetColumn, RingsColumn, Sort, sorted,
};

/// The numbers the header shows, kept by adding and subtracting per change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending_approvals: usize,
    pub evidence_failed: usize,
    /// Drilled, but the last good drill is older than the policy allows.
    pub evidence_stale: usize,
    /// Never drilled successfully.
    pub evidence_never: usize,
    pub campaigns_paused: usize,
    /// A ring's gate failed, or the campaign is being or was rolled back.
    pub campaigns_failed: usize,
}

impl Counts {
    fn evidence(&mut self, e: &Evidence, sign: isize) {
        match e.freshness {
            Freshness::Failed => bump(&mut self.evidence_failed, sign),
            Freshness::Stale => bump(&mut self.evidence_stale, sign),
            Freshness::Never => bump(&mut self.evidence_never, sign),
            _ => {}
        }
    }

    /// Databases whose evidence needs a look: failed, stale or never drilled.
    pub fn evidence_bad(&self) -> usize {
        self.evidence_failed + self.evidence_stale + self.evidence_never
    }

    fn campaign(&mut self, c: &Campaign, sign: isize) {
        if c.state == CampaignState::Paused {
            bump(&mut self.campaigns_paused, sign);
        }
        if campaign_failed(c) {
            bump(&mut self.campaigns_failed, sign);
        }
    }
}

fn bump(n: &mut usize, sign: isize) {
    *n = n.saturating_add_signed(sign);
}

pub fn campaign_failed(c: &Campaign) -> bool {
    matches!(
        c.state,
        CampaignState::RollingBack | CampaignState::RolledBack
    ) || (!c.state.is_finished() && c.rings.iter().any(|r| r.state == RingState::Failed))
}

pub struct FleetState {
    pub databases: Collection<DbRow, Sort<FleetColumn>>,
    pub campaigns: Collection<Campaign, Sort<RingsColumn>>,
    pub evidence: Collection<Evidence, Sort<EvidenceColumn>>,
    /// Pending approvals only: one that is decided or expires leaves the queue.
    pub approvals: Collection<Approval, Sort<ApprovalsColumn>>,
    pub counts: Counts,
    /// The newest event reflected here; older or equal sequence numbers are duplicates.
    pub last_seq: Seq,
    /// Where each target sits: campaign id → database id → (ring position, index in the
    /// ring). A campaign over the whole fleet has rings of tens of thousands of targets;
    /// a target event finds its own without scanning them.
    target_slots: HashMap<String, HashMap<String, (usize, usize)>>,
}

impl Default for FleetState {
    fn default() -> Self {
        FleetState {
            databases: Collection::new(sorted, Sort::default()),
            campaigns: Collection::new(sorted, Sort::default()),
            evidence: Collection::new(sorted, Sort::default()),
            approvals: Collection::new(sorted, Sort::default()),
            counts: Counts::default(),
            last_seq: 0,
            target_slots: HashMap::new(),
        }
    }
}

impl FleetState {
    /// Replaces everything with a snapshot, taking its parts rather than copying them
    /// (at 10k databases the copies were a third of the load). Its events are the
    /// log's, not the state's: they are handed back.
    pub fn load(&mut self, snap: Snapshot) -> Vec<Event> {
        let started = std::time::Instant::now();
        let Snapshot {
            server_time: _,
            last_seq,
            databases,
            campaigns,
            evidence,
            approvals,
            events,
        } = snap;
        // Index evidence by id once so loading a large fleet stays O(n log n).
        let by_db: HashMap<&str, Freshness> = evidence
            .iter()
            .map(|e| (e.database_id.as_str(), e.freshness))
            .collect();
        self.databases
            .replace_all(databases.into_iter().map(|db| DbRow {
                freshness: by_db.get(db.id.as_str()).copied(),
                db,
            }));
        drop(by_db);
        self.target_slots.clear();
        for c in &campaigns {
            self.index_targets(c);
        }
        self.campaigns.replace_all(campaigns);
        self.evidence.replace_all(evidence);
        self.approvals.replace_all(
            approvals
                .into_iter()
                .filter(|a| a.state == ApprovalState::Pending),
        );
        let mut counts = Counts::default();
        self.evidence.values().for_each(|e| counts.evidence(e, 1));
        self.campaigns.values().for_each(|c| counts.campaign(c, 1));
        counts.pending_approvals = self.approvals.total();
        self.counts = counts;
        self.last_seq = last_seq;
        tracing::debug!(
            databases = self.databases.total(),
            ms = started.elapsed().as_millis(),
            "fleet state loaded"
        );
        events
    }

    /// Applies one change; O(log n) in the size of the affected pane.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Database { database } => {
                let freshness = self.evidence.get(&database.id).map(|e| e.freshness);
                self.databases.upsert(DbRow {
                    db: (**database).clone(),
                    freshness,
                });
            }
            Change::Campaign { campaign } => self.upsert_campaign((**campaign).clone()),
            Change::Target {
                campaign_id,
                ring,
                target,
                campaign_version,
            } => {
                // In place: a campaign may hold many targets; never clone it per event.
                let Some(c) = self.campaigns.get(campaign_id) else {
                    return;
                };
                self.counts.campaign(c, -1);
                let known = self
                    .target_slots
                    .get(campaign_id)
                    .and_then(|slots| slots.get(&target.database_id))
                    .copied();
                let placed = self
                    .campaigns
                    .modify(campaign_id, |c| {
                        c.version = c.version.max(*campaign_version);
                        place_target(c, *ring, target, known)
                    })
                    .flatten();
                if let Some(slot) = placed {
                    self.target_slots
                        .entry(campaign_id.clone())
                        .or_default()
                        .insert(target.database_id.clone(), slot);
                }
                if let Some(c) = self.campaigns.get(campaign_id) {
                    self.counts.campaign(c, 1);
                }
            }
            Change::Evidence { evidence } => {
                if let Some(old) = self.evidence.upsert((**evidence).clone()) {
                    self.counts.evidence(&old, -1);
                }
                self.counts.evidence(evidence, 1);
                let freshness = Some(evidence.freshness);
                self.databases
                    .modify(&evidence.database_id, |row| row.freshness = freshness);
            }
            Change::Approval { approval } => {
                if approval.state == ApprovalState::Pending {
                    self.approvals.upsert((**approval).clone());
                } else {
                    self.approvals.remove(&approval.id);
                }
                self.counts.pending_approvals = self.approvals.total();
            }
            Change::Unknown => {}
        }
    }

    fn upsert_campaign(&mut self, c: Campaign) {
        self.index_targets(&c);
        self.counts.campaign(&c, 1);
        if let Some(old) = self.campaigns.upsert(c) {
            self.counts.campaign(&old, -1);
        }
    }

    fn index_targets(&mut self, c: &Campaign) {
        let slots = c
            .rings
            .iter()
            .enumerate()
            .flat_map(|(p, r)| {
                r.targets
                    .iter()
                    .enumerate()
                    .map(move |(i, t)| (t.database_id.clone(), (p, i)))
            })
            .collect();
        self.target_slots.insert(c.id.clone(), slots);
    }
}

/// Puts `target` into ring `ring` of `c`: at `known` (its slot from the index) when that
/// slot still holds it, else where a scan of the ring finds it, else at the ring's end.
/// Returns the slot when it was not the known one, for the index.
fn place_target(
    c: &mut Campaign,
    ring: u8,
    target: &Target,
    known: Option<(usize, usize)>,
) -> Option<(usize, usize)> {
    if let Some((p, i)) = known
        && let Some(r) = c.rings.get_mut(p)
        && r.index == ring
        && let Some(t) = r.targets.get_mut(i)
        && t.database_id == target.database_id
    {
        *t = target.clone();
        return None;
    }
    let (p, r) = c
        .rings
        .iter_mut()
        .enumerate()
        .find(|(_, r)| r.index == ring)?;
    match r
        .targets
        .iter()
        .position(|t| t.database_id == target.database_id)
    {
        Some(i) => {
            r.targets[i] = target.clone();
            Some((p, i))
        }
        None => {
            r.targets.push(target.clone());
            Some((p, r.targets.len() - 1))
        }
    }
}
