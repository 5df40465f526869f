//! Planning a campaign: what starting it would do now, ring by ring and target by target,
//! with every reason it would be refused. `POST /v1/campaigns/plan` answers with it and
//! [`super::create_campaign`] starts exactly it, so a plan and the campaign it starts
//! cannot disagree. The dispatch order comes from the runner's own rule
//! ([`plan::dispatchable`], through [`plan::dispatch_waves`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use fleetdeck_api::{
    BlastRadius, CampaignPlan, CreateCampaign, Database, Evidence, GateSettings, PlanApproval,
    PlanBlock, PlanGate, PlanRefusal, PlanRing, PlanTarget, ordinal,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;

use super::plan::{self, PlannedRing, refusal};
use super::{estimate, gates};
use crate::DomainError;
use crate::store::{campaigns, drills, fleet};

/// A plan with what creating its campaign needs besides the wire view.
pub(crate) struct Planned {
    pub plan: CampaignPlan,
    pub rings: Vec<PlannedRing>,
    pub title: String,
    pub target_version: String,
    pub gate: GateSettings,
    pub change_ref: Option<String>,
}

/// `POST /v1/campaigns/plan`: what `req` would do if it were created now.
pub async fn plan_campaign(
    conn: &mut SqliteConnection,
    req: &CreateCampaign,
) -> Result<CampaignPlan, DomainError> {
    Ok(prepare(conn, req, Utc::now(), Estimate::FromHistory)
        .await?
        .plan)
}

/// Whether a plan reads the history for its estimate: a create does not show one, and
/// skips the reads inside its write transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Estimate {
    FromHistory,
    Skip,
}

/// Up to this many targets, evidence is read per database (as the runner reads it);
/// beyond, in one pass over the fleet.
const EVIDENCE_ONE_BY_ONE: usize = 64;

/// Plans `req` against the store as it is now. Refusals are part of the plan, not
/// errors: only a failing store is an error.
pub(crate) async fn prepare(
    conn: &mut SqliteConnection,
    req: &CreateCampaign,
    now: DateTime<Utc>,
    estimate: Estimate,
) -> Result<Planned, DomainError> {
    let mut refusals = Vec::new();
    let mut invalid = |e: DomainError| refusals.push(refusal("invalid", e.to_string(), None));
    let title = plan::check_title(req).unwrap_or_else(|e| {
        invalid(e);
        req.title.trim().to_string()
    });
    // An invalid version still selects (so every other reason shows), made inert for
    // the messages that quote it.
    let target_version = plan::check_version(req).unwrap_or_else(|e| {
        invalid(e);
        fleetdeck_api::text::sanitize_line(req.target_version.trim()).into_owned()
    });
    let gate = plan::check_gate(req.gate.as_ref()).unwrap_or_else(|e| {
        invalid(e);
        req.gate.clone().unwrap_or_default()
    });
    let change_ref = plan::check_change_ref(req).unwrap_or_else(|e| {
        invalid(e);
        None
    });
    let title = fleetdeck_api::text::sanitize_line(&title).into_owned();

    let fleet_dbs = fleet::all(conn).await?;
    let selection = plan::select(&fleet_dbs, req, &target_version);
    refusals.extend(selection.refusals);
    let busy: HashMap<String, String> =
        campaigns::busy_databases(conn).await?.into_iter().collect();
    for d in &selection.todo {
        if let Some(cmp) = busy.get(&d.id) {
            refusals.push(refusal(
                "busy",
                format!(
                    "database {} is already in unfinished campaign {cmp}; finish or roll it back first",
                    d.id
                ),
                Some(&d.id),
            ));
        }
    }
    let rings = plan::plan_rings(&selection.todo);
    let by_id: HashMap<&str, &Database> =
        selection.todo.iter().map(|d| (d.id.as_str(), *d)).collect();
    let evidence = evidence_of(conn, &selection.todo, now).await?;
    let mut wire_rings = Vec::new();
    let mut waves_per_ring = Vec::new();
    for ring in &rings {
        let (wire, waves) = plan_ring(ring, &by_id, &evidence, &target_version, &gate);
        waves_per_ring.push(waves);
        wire_rings.push(wire);
    }
    let estimate = match estimate {
        Estimate::FromHistory => estimate::estimate(conn, &waves_per_ring, &gate).await?,
        Estimate::Skip => estimate::not_made(&gate),
    };
    let mut p = CampaignPlan {
        plan_hash: String::new(),
        can_start: refusals.is_empty(),
        title: title.clone(),
        target_version: target_version.clone(),
        change_ref: change_ref.clone(),
        gate: plan_gate(&gate),
        rings: wire_rings,
        blast_radius: plan::blast_radius(selection.todo.iter().copied()),
        refusals,
        estimate,
        computed_at: now,
    };
    p.plan_hash = plan_hash(&p);
    remember(&p);
    Ok(Planned {
        plan: p,
        rings,
        title,
        target_version,
        gate,
        change_ref,
    })
}

/// The evidence of `dbs`, by database id, judged at `now`.
async fn evidence_of(
    conn: &mut SqliteConnection,
    dbs: &[&Database],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Evidence>, DomainError> {
    let mut out = HashMap::new();
    if dbs.len() <= EVIDENCE_ONE_BY_ONE {
        for d in dbs {
            out.insert(d.id.clone(), drills::evidence(conn, d, now).await?);
        }
        return Ok(out);
    }
    let wanted: HashSet<&str> = dbs.iter().map(|d| d.id.as_str()).collect();
    drills::for_each_evidence(conn, now, |e| {
        if wanted.contains(e.database_id.as_str()) {
            out.insert(e.database_id.clone(), e);
        }
        Ok(())
    })
    .await?;
    Ok(out)
}

/// One ring of the plan, its targets in dispatch order; and how many waves it takes.
fn plan_ring(
    ring: &PlannedRing,
    by_id: &HashMap<&str, &Database>,
    evidence: &HashMap<String, Evidence>,
    target_version: &str,
    gate: &GateSettings,
) -> (PlanRing, u32) {
    let blocks: HashMap<&str, PlanBlock> = ring
        .targets
        .iter()
        .filter_map(|t| {
            let ev = evidence.get(&t.database_id)?;
            let db = by_id.get(t.database_id.as_str())?;
            ev.freshness.needs_exception().then(|| {
                let radius = plan::blast_radius(std::iter::once(*db));
                let block = PlanBlock {
                    freshness: ev.freshness,
                    reason: gates::evidence_problem(ev),
                    approvals_required: plan::approvals_required(&radius),
                };
                (t.database_id.as_str(), block)
            })
        })
        .collect();
    let blocked: HashSet<&str> = blocks.keys().copied().collect();
    let waves = plan::dispatch_waves(ring, &blocked, gate.concurrency);
    let dbs: Vec<&Database> = ring
        .targets
        .iter()
        .filter_map(|t| by_id.get(t.database_id.as_str()).copied())
        .collect();
    let radius = plan::blast_radius(dbs.iter().copied());
    let mut targets: Vec<PlanTarget> = ring
        .targets
        .iter()
        .zip(&waves)
        .filter_map(|(t, &wave)| {
            let db = by_id.get(t.database_id.as_str())?;
            Some(PlanTarget {
                database_id: t.database_id.clone(),
                environment: db.environment,
                tier: db.tier,
                role: db.role,
                primary_id: t.primary_id.clone(),
                from_version: t.from_version.clone(),
                to_version: target_version.to_string(),
                wave,
                blocked: blocks.get(t.database_id.as_str()).cloned(),
            })
        })
        .collect();
    // Stable: within a wave, the ring's own order (which is the runner's).
    targets.sort_by_key(|t| t.wave);
    let promotion = ring.contains_prod.then(|| PlanApproval {
        approvals_required: plan::approvals_required(&radius),
        reason: plan::promotion_findings(ring.ring, &radius, 0)
            .into_iter()
            .map(|f| f.message)
            .collect::<Vec<_>>()
            .join("; "),
    });
    let wire = PlanRing {
        index: ring.ring,
        contains_prod: ring.contains_prod,
        blast_radius: radius,
        promotion,
        targets,
    };
    (wire, waves.iter().copied().max().unwrap_or(0))
}

fn plan_gate(g: &GateSettings) -> PlanGate {
    PlanGate {
        pauses_at_failed_target: g.failure_budget,
        bake_seconds: g.bake_seconds,
        max_replication_lag_s: g.max_replication_lag_s,
        concurrency: g.concurrency,
        summary: format!(
            "pauses at the {} failed target of a ring; bakes {} s after each ring, watching health \
             and replication lag (limit {:.1} s); at most {} target(s) at a time",
            ordinal(g.failure_budget),
            g.bake_seconds,
            g.max_replication_lag_s,
            g.concurrency
        ),
    }
}

/// The hash of what the plan would do: every field but the hash itself, the estimate and
/// the time it was computed (those change with the clock, not with what would happen).
/// Serialised by serde in declaration order, lists in plan order: stable.
pub fn plan_hash(p: &CampaignPlan) -> String {
    #[derive(Serialize)]
    struct Hashed<'a> {
        title: &'a str,
        target_version: &'a str,
        change_ref: &'a Option<String>,
        gate: &'a PlanGate,
        rings: &'a [PlanRing],
        blast_radius: &'a BlastRadius,
        refusals: &'a [PlanRefusal],
        can_start: bool,
    }
    // Naming every field: one added to the plan is a compile error here until it is
    // decided whether it belongs in the hash.
    let CampaignPlan {
        plan_hash: _,
        can_start,
        title,
        target_version,
        change_ref,
        gate,
        rings,
        blast_radius,
        refusals,
        estimate: _,
        computed_at: _,
    } = p;
    let hashed = Hashed {
        title,
        target_version,
        change_ref,
        gate,
        rings,
        blast_radius,
        refusals,
        can_start: *can_start,
    };
    let bytes = serde_json::to_vec(&hashed).unwrap_or_default();
    hex::encode(&Sha256::digest(&bytes)[..16])
}

/// Plans answered lately, so a create whose `plan_hash` no longer matches can say what
/// changed. A hash names its content, so one list serves every server in the process.
const REMEMBERED: usize = 256;
static RECENT: Mutex<VecDeque<Arc<CampaignPlan>>> = Mutex::new(VecDeque::new());

fn remember(p: &CampaignPlan) {
    let mut recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = recent.iter().position(|q| q.plan_hash == p.plan_hash) {
        recent.remove(i);
    }
    recent.push_back(Arc::new(p.clone()));
    if recent.len() > REMEMBERED {
        recent.pop_front();
    }
}

fn recall(hash: &str) -> Option<Arc<CampaignPlan>> {
    let recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
    recent.iter().find(|p| p.plan_hash == hash).cloned()
}

/// Refuses with 412 when the reviewed plan (`reviewed`, a `plan_hash`) is not the plan
/// now, listing what changed.
pub(crate) fn check_reviewed(reviewed: &str, now: &CampaignPlan) -> Result<(), DomainError> {
    let reviewed = reviewed.trim();
    if reviewed == now.plan_hash {
        return Ok(());
    }
    let changes = match recall(reviewed) {
        Some(before) => now.changes_from(&before).join("; "),
        None => "the reviewed plan is not known to this server (planned before it restarted, or \
                 long ago), so what changed cannot be listed; plan again and review it"
            .to_string(),
    };
    let shown: String = fleetdeck_api::text::sanitize_line(reviewed)
        .chars()
        .take(64)
        .collect();
    Err(DomainError::PlanChanged(format!(
        "the plan has changed since it was reviewed (plan_hash {shown} is now {}): {changes}",
        now.plan_hash
    )))
}

/// The error a create answers when its plan has refusals: all of them, 409 when every
/// one is about the state of the fleet (busy databases), else 400.
pub(crate) fn refused(refusals: &[PlanRefusal]) -> DomainError {
    let detail = refusals
        .iter()
        .map(|r| r.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    if refusals.iter().all(|r| r.code == "busy") {
        DomainError::Conflict(detail)
    } else {
        DomainError::Invalid(detail)
    }
}
