//! What resuming a paused campaign does, decided in one place: the resume action applies
//! it, and a paused campaign's `on_resume` says it in words before anyone resumes, so
//! what an operator reads is what the resume will do. A paused campaign waits for no
//! approval (its `waiting_for` is empty): it waits for a resume.

use fleetdeck_api::{
    Approval, ApprovalState, Campaign, CampaignState, GateState, GateStatus, Level, Ring,
    RingState, TargetState, kinds,
};
use sqlx::SqliteConnection;

use super::record;
use super::runner::runner;
use crate::DomainError;
use crate::store::{Tx, approvals, campaigns};

/// The approvals the current ring refers to (its promotion, its blocked targets'
/// exceptions), as they stand now.
async fn ring_approvals(
    conn: &mut SqliteConnection,
    c: &Campaign,
) -> Result<Vec<Approval>, DomainError> {
    let Some(ring) = current_ring(c).map(|p| &c.rings[p]) else {
        return Ok(Vec::new());
    };
    let ids = ring.approval_id.iter().chain(
        ring.targets
            .iter()
            .filter(|t| t.state == TargetState::Blocked)
            .filter_map(|t| t.approval_id.as_ref()),
    );
    let mut out = Vec::new();
    for id in ids {
        out.extend(approvals::get(conn, id).await?);
    }
    Ok(out)
}

/// Asked again on resume: an expired approval, or a rejected promotion (a rejected
/// exception skips its target instead).
fn is_dead(a: &Approval) -> bool {
    match a.state {
        ApprovalState::Expired => true,
        ApprovalState::Rejected => a.database_id.is_none(),
        _ => false,
    }
}

/// The ring a resume works on, if the campaign has entered one.
fn current_ring(c: &Campaign) -> Option<usize> {
    let pos = record::current_pos(c);
    c.current_ring.and((pos < c.rings.len()).then_some(pos))
}

/// What a resume does to the current ring (in memory), given the approvals it refers
/// to: the campaign's new state, what it does in words, and the databases whose targets
/// changed. Only the ring is touched, so describing a resume copies one ring, not a
/// fleet-wide campaign.
fn restart(
    ring: Option<&mut Ring>,
    known: &[Approval],
) -> (CampaignState, Vec<String>, Vec<String>) {
    let mut notes = Vec::new();
    let mut changed = Vec::new();
    let Some(ring) = ring else {
        return (CampaignState::Running, notes, changed);
    };
    let dead = |id: &str| known.iter().find(|a| a.id == id && is_dead(a));
    if let Some(a) = ring.approval_id.as_deref().and_then(dead) {
        notes.push(format!(
            "requests the ring {} promotion again ({} {})",
            ring.index,
            a.id,
            a.state.as_str()
        ));
        ring.approval_id = None;
        ring.state = RingState::Pending;
    }
    for t in ring
        .targets
        .iter_mut()
        .filter(|t| t.state == TargetState::Blocked)
    {
        if let Some(a) = t.approval_id.as_deref().and_then(dead) {
            notes.push(format!(
                "requests the policy exception for {} again ({} {})",
                t.database_id,
                a.id,
                a.state.as_str()
            ));
            t.approval_id = None;
            t.message = Some("policy exception will be requested again".into());
            changed.push(t.database_id.clone());
        }
    }
    match ring.state {
        RingState::Failed => {
            // Running again: a finished ring starts a whole new bake at the next step.
            ring.state = RingState::Running;
            ring.gate = GateStatus {
                state: GateState::Watching,
                failures: 0,
                bake_until: None,
                reason: None,
            };
            notes.push(format!(
                "restarts ring {}'s gate (failed targets stay failed)",
                ring.index
            ));
        }
        RingState::Baking => {
            // Health was not watched while paused: the bake starts over.
            ring.state = RingState::Running;
            ring.gate.bake_until = None;
            notes.push(format!("starts ring {}'s bake over", ring.index));
        }
        _ => {}
    }
    let state = if ring.state == RingState::AwaitingApproval {
        CampaignState::AwaitingApproval
    } else {
        CampaignState::Running
    };
    (state, notes, changed)
}

/// Resumes paused `c` (state, ring, targets) in the caller's transaction, saving the
/// targets it changed; returns what it did, in words. The caller saves the campaign.
pub(crate) async fn apply(tx: &mut Tx<'_>, c: &mut Campaign) -> Result<Vec<String>, DomainError> {
    let known = ring_approvals(tx, c).await?;
    let pos = current_ring(c);
    let (state, notes, changed) = restart(pos.map(|p| &mut c.rings[p]), &known);
    c.state = state;
    for db in changed {
        if let Some((pos, i)) = record::find_target(c, &db) {
            campaigns::save_target(tx, &c.id, &c.rings[pos].targets[i]).await?;
        }
    }
    c.paused_reason = None;
    c.on_resume = None;
    Ok(notes)
}

/// What resuming paused `c` would do, in words: what it asks for again or restarts,
/// then what it goes on to wait for among the approvals still open.
pub(crate) async fn describe(
    conn: &mut SqliteConnection,
    c: &Campaign,
) -> Result<String, DomainError> {
    let known = ring_approvals(conn, c).await?;
    let Some(mut ring) = current_ring(c).map(|p| c.rings[p].clone()) else {
        return Ok("continues the campaign".into());
    };
    let (_, mut notes, _) = restart(Some(&mut ring), &known);
    let open = |id: &str| {
        known
            .iter()
            .find(|a| a.id == id)
            .map(|a| (a.id.clone(), a.state))
    };
    if let Some((id, state)) = ring.approval_id.as_deref().and_then(open) {
        match state {
            ApprovalState::Pending => notes.push(format!(
                "waits again for ring-promotion approval {id} (pending)"
            )),
            ApprovalState::Approved => notes.push(format!(
                "enters ring {} (promotion {id} approved)",
                ring.index
            )),
            _ => {}
        }
    }
    for t in ring
        .targets
        .iter()
        .filter(|t| t.state == TargetState::Blocked)
    {
        let Some((id, state)) = t.approval_id.as_deref().and_then(open) else {
            continue;
        };
        let db = &t.database_id;
        match state {
            ApprovalState::Pending => notes.push(format!(
                "waits again for policy exception {id} for {db} (pending)"
            )),
            ApprovalState::Approved => {
                notes.push(format!("patches {db} (policy exception {id} approved)"));
            }
            ApprovalState::Rejected => {
                notes.push(format!("skips {db} (policy exception {id} rejected)"));
            }
            _ => {}
        }
    }
    if notes.is_empty() {
        notes.push(format!("continues ring {}", ring.index));
    }
    Ok(notes.join("; "))
}

/// Marks `c` paused with `reason`: it waits for no approval any more (a paused campaign
/// waits for a resume), and `on_resume` says what resuming will do. The caller saves.
pub(crate) async fn mark_paused(
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    reason: String,
) -> Result<(), DomainError> {
    c.state = CampaignState::Paused;
    c.paused_reason = Some(reason);
    c.waiting_for = None;
    c.on_resume = Some(describe(tx, c).await?);
    Ok(())
}

/// One of paused `c`'s approvals was decided or expired: says again what resuming will
/// do. Saved even when the words stay the same, so the engine's next pass sees the
/// campaign changed after the approval and leaves it alone.
pub(crate) async fn refresh(tx: &mut Tx<'_>, c: &mut Campaign) -> Result<(), DomainError> {
    let now = describe(tx, c).await?;
    let msg = format!(
        "{} is paused; an approval it refers to was decided or expired: resuming {now}",
        c.id
    );
    c.on_resume = Some(now);
    c.waiting_for = None;
    let ev = runner().event(kinds::CAMPAIGN_UPDATED, Level::Info, msg);
    record::save_campaign(tx, c, ev).await
}
