//! Policy at the ring boundary: the ring-promotion approval for production rings and the
//! policy exceptions for targets whose restore evidence cannot be trusted.

use chrono::{DateTime, Utc};
use fleetdeck_api::{
    Approval, ApprovalKind, Campaign, Database, Evidence, Finding, Freshness, Severity, TargetState,
};

use super::plan;
use crate::DomainError;
use crate::store::approvals::{self, NewApproval};
use crate::store::{Tx, drills, fleet};

/// The databases of a ring, as the inventory has them now.
pub async fn ring_databases(
    tx: &mut Tx,
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
    tx: &mut Tx,
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
        _ => format!(
            "restore evidence is {} ({last}; policy {} days)",
            ev.freshness.as_str(),
            ev.interval_days
        ),
    }
}

/// The evidence of a database, judged now.
pub async fn evidence_of(tx: &mut Tx, db: &Database) -> Result<Evidence, DomainError> {
    drills::evidence(tx, db, Utc::now()).await
}

/// Raises the policy exception to patch `db` despite its evidence.
pub async fn request_exception(
    tx: &mut Tx,
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
                code: format!("evidence-{}", ev.freshness.as_str()),
                message: problem,
            }],
            approvals_required: plan::approvals_required(&radius),
            expires_at,
        },
        corr,
    )
    .await
}
