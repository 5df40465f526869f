//! Policy at the ring boundary: the ring-promotion approval for production rings and the
//! policy exceptions for targets whose restore evidence cannot be trusted.

use chrono::{DateTime, Utc};
use fleetdeck_api::{
    Approval, ApprovalKind, ApprovalState, Campaign, CampaignState, Database, Evidence, Finding,
    Freshness, Level, RingState, Severity, TargetState, kinds,
};

use super::engine::Shared;
use super::plan;
use super::record;
use super::runner::{pause_for, runner, start_ring, to_chrono};
use crate::DomainError;
use crate::store::approvals::{self, NewApproval};
use crate::store::{Tx, drills, fleet};

/// The databases of a ring, as the inventory has them now.
pub async fn ring_databases(
    tx: &mut Tx<'_>,
    c: &Campaign,
    pos: usize,
) -> Result<Vec<Database>, DomainError> {
    let mut out = Vec::new();
    for t in &c.rings[pos].targets {
        if let Some(db) = fleet::get(tx, &t.database_id).await? {
            out.push(db);
        }
    }
    Ok(out)
}

/// Raises the approval to enter ring `pos`, requested by the campaign's creator.
pub async fn request_promotion(
    tx: &mut Tx<'_>,
    c: &Campaign,
    pos: usize,
    expires_at: DateTime<Utc>,
    corr: Option<String>,
) -> Result<Approval, DomainError> {
    let ring = &c.rings[pos];
    let dbs = ring_databases(tx, c, pos).await?;
    let radius = plan::blast_radius(&dbs);
    let earlier_failures = c.rings[..pos]
        .iter()
        .flat_map(|r| &r.targets)
        .filter(|t| t.state == TargetState::Failed)
        .count() as u32;
    let passed: Vec<String> = c.rings[..pos]
        .iter()
        .map(|r| format!("ring {} {}", r.index, r.state.as_str()))
        .collect();
    let reason = format!(
        "campaign {} '{}' to {}: promote into ring {} ({} databases){}",
        c.id,
        c.title,
        c.target_version,
        ring.index,
        ring.targets.len(),
        if passed.is_empty() {
            String::new()
        } else {
            format!(" after {}", passed.join(", "))
        }
    );
    approvals::insert(
        tx,
        NewApproval {
            kind: ApprovalKind::RingPromotion,
            subject: format!("campaign {} · ring {}", c.id, ring.index),
            campaign_id: Some(c.id.clone()),
            database_id: None,
            ring: Some(ring.index),
            requested_by: c.created_by.clone(),
            reason,
            blast_radius: radius,
            findings: plan::promotion_findings(ring.index, &radius, earlier_failures),
            approvals_required: plan::approvals_required(&radius),
            expires_at,
        },
        corr,
    )
    .await
}

/// Why evidence needs an exception, in words.
pub fn evidence_problem(ev: &Evidence) -> String {
    let last = ev
        .last_good_at
        .map(|t| format!("last good drill {}", t.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_else(|| "no successful drill on record".into());
    match ev.freshness {
        Freshness::Failed => format!("latest restore drill failed ({last})"),
        Freshness::Never => "never restore-drilled".to_string(),
        f if !f.needs_exception() && !ev.missed_objectives().is_empty() => format!(
            "last good restore drill missed its recovery objectives ({})",
            ev.missed_objectives().join("; ")
        ),
        _ => format!(
            "restore evidence is {} ({last}; policy {} days)",
            ev.freshness.as_str(),
            ev.interval_days
        ),
    }
}

/// The finding code of evidence that needs an exception.
fn evidence_code(ev: &Evidence) -> String {
    if ev.freshness.needs_exception() {
        format!("evidence-{}", ev.freshness.as_str())
    } else {
        "evidence-objective-missed".to_string()
    }
}

/// The evidence of a database, judged now.
pub async fn evidence_of(tx: &mut Tx<'_>, db: &Database) -> Result<Evidence, DomainError> {
    drills::evidence(tx, db, Utc::now()).await
}

/// Raises the policy exception to patch `db` despite its evidence.
pub async fn request_exception(
    tx: &mut Tx<'_>,
    c: &Campaign,
    pos: usize,
    db: &Database,
    ev: &Evidence,
    expires_at: DateTime<Utc>,
    corr: Option<String>,
) -> Result<Approval, DomainError> {
    let radius = plan::blast_radius(std::slice::from_ref(db));
    let problem = evidence_problem(ev);
    let severity = if db.environment == fleetdeck_api::Environment::Prod {
        Severity::Critical
    } else {
        Severity::Warning
    };
    approvals::insert(
        tx,
        NewApproval {
            kind: ApprovalKind::PolicyException,
            subject: format!("{} · campaign {}", db.id, c.id),
            campaign_id: Some(c.id.clone()),
            database_id: Some(db.id.clone()),
            ring: Some(c.rings[pos].index),
            requested_by: c.created_by.clone(),
            reason: format!(
                "patch {} to {} although its {problem}",
                db.id, c.target_version
            ),
            blast_radius: radius,
            findings: vec![Finding {
                severity,
                code: evidence_code(ev),
                message: problem,
            }],
            approvals_required: plan::approvals_required(&radius),
            expires_at,
        },
        corr,
    )
    .await
}

pub(crate) async fn block_target(
    shared: &Shared,
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    pos: usize,
    db: &fleetdeck_api::Database,
    ev: &fleetdeck_api::Evidence,
) -> Result<(), DomainError> {
    let expires = Utc::now() + to_chrono(shared.settings.approval_ttl);
    let a = request_exception(tx, c, pos, db, ev, expires, None).await?;
    let problem = evidence_problem(ev);
    let Some((_, i)) = record::find_target(c, &db.id) else {
        return Ok(());
    };
    let t = &mut c.rings[pos].targets[i];
    t.state = TargetState::Blocked;
    t.approval_id = Some(a.id.clone());
    t.message = Some(format!("{problem}; waits for policy exception {}", a.id));
    let ev = runner().event(
        kinds::TARGET_STATE,
        Level::Warn,
        format!(
            "{} blocked: {problem}; policy exception {} requested",
            db.id, a.id
        ),
    );
    record::save_target(tx, c, pos, &db.id, false, ev).await
}

/// Applies decided policy exceptions to blocked targets. Returns false when an expired
/// one paused the campaign.
pub(crate) async fn settle_exceptions(
    shared: &Shared,
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    pos: usize,
) -> Result<bool, DomainError> {
    let blocked: Vec<(String, Option<String>)> = c.rings[pos]
        .targets
        .iter()
        .filter(|t| t.state == TargetState::Blocked)
        .map(|t| (t.database_id.clone(), t.approval_id.clone()))
        .collect();
    for (db_id, approval_id) in blocked {
        let Some(approval_id) = approval_id else {
            // Resumed after its exception expired: ask again.
            if let Some(db) = fleet::get(tx, &db_id).await? {
                let ev = evidence_of(tx, &db).await?;
                block_target(shared, tx, c, pos, &db, &ev).await?;
            }
            continue;
        };
        let Some(a) = approvals::get(tx, &approval_id).await? else {
            continue;
        };
        let Some((_, i)) = record::find_target(c, &db_id) else {
            continue;
        };
        let t = &mut c.rings[pos].targets[i];
        let (level, msg) = match a.state {
            ApprovalState::Approved => {
                t.state = TargetState::Pending;
                t.message = Some(format!("policy exception {approval_id} approved"));
                (
                    Level::Info,
                    format!("{db_id}: policy exception {approval_id} approved; queued"),
                )
            }
            ApprovalState::Rejected => {
                t.state = TargetState::Skipped;
                t.finished_at = Some(Utc::now());
                t.message = Some(format!(
                    "policy exception {approval_id} rejected; not patched"
                ));
                (
                    Level::Warn,
                    format!("{db_id}: policy exception {approval_id} rejected; skipped"),
                )
            }
            ApprovalState::Expired => {
                let reason = format!(
                    "policy exception {approval_id} for {db_id} expired undecided; resume to request it again"
                );
                pause_for(tx, c, reason).await?;
                return Ok(false);
            }
            _ => continue,
        };
        let ev = runner().event(kinds::TARGET_STATE, level, msg);
        record::save_target(tx, c, pos, &db_id, false, ev).await?;
    }
    Ok(true)
}

/// The campaign waits for a ring promotion: act on its decision.
pub(crate) async fn await_promotion(
    shared: &Shared,
    tx: &mut Tx<'_>,
    c: &mut Campaign,
) -> Result<(), DomainError> {
    let pos = record::current_pos(c);
    let Some(ring) = c.rings.get(pos) else {
        return Ok(());
    };
    let Some(id) = ring.approval_id.clone() else {
        // Nothing requested yet (resumed after an expiry): the running path asks.
        ring_pending_again(c, pos);
        return record::save_campaign(
            tx,
            c,
            runner().event(
                kinds::CAMPAIGN_UPDATED,
                Level::Info,
                "requesting ring promotion again",
            ),
        )
        .await;
    };
    let Some(a) = approvals::get(tx, &id).await? else {
        return Ok(());
    };
    match a.state {
        ApprovalState::Approved => {
            let by: Vec<&str> = a.decisions.iter().map(|d| d.approver.as_str()).collect();
            let note = format!("promotion {id} approved by {}", by.join(", "));
            start_ring(shared, tx, c, pos, Some(note)).await
        }
        ApprovalState::Rejected => {
            let why = a
                .decisions
                .iter()
                .find(|d| d.verdict == fleetdeck_api::Verdict::Reject)
                .map(|d| format!(" by {}: {}", d.approver, d.comment.as_deref().unwrap_or("")))
                .unwrap_or_default();
            pause_for(
                tx,
                c,
                format!("ring promotion {id} rejected{why}; resume to request it again"),
            )
            .await
        }
        ApprovalState::Expired => pause_for(
            tx,
            c,
            format!(
                "ring promotion {id} expired with {} of {} approvals; resume to request it again",
                a.approvals_so_far(),
                a.approvals_required
            ),
        )
        .await,
        _ => {
            let what = format!(
                "ring-promotion approval {id} ({} of {} approvals) to enter production ring {}",
                a.approvals_so_far(),
                a.approvals_required,
                c.rings[pos].index
            );
            if c.waiting_for.as_deref() != Some(what.as_str()) {
                c.waiting_for = Some(what.clone());
                let ev = runner().event(
                    kinds::CAMPAIGN_UPDATED,
                    Level::Info,
                    format!("{} waits for {what}", c.id),
                );
                record::save_campaign(tx, c, ev).await?;
            }
            Ok(())
        }
    }
}

fn ring_pending_again(c: &mut Campaign, pos: usize) {
    c.rings[pos].state = RingState::Pending;
    c.state = CampaignState::Running;
}
