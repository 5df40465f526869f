//! What people ask of a campaign or a database: create, pause, resume, roll back, drill
//! now. Each validates, refuses a stale `If-Match` or a wrong state with the reason, and
//! writes the new state with its events in the caller's transaction; the engine notices
//! the commit and acts.

use chrono::Utc;
use fleetdeck_api::{
    ApprovalState, Campaign, CampaignState, Change, CreateCampaign, Drill, DrillState,
    EventSubject, GateState, GateStatus, Level, Ring, RingState, RollbackStage, RollbackStatus,
    Target, TargetState, kinds,
};

use super::plan::{self, check_reason};
use super::record::{self, Actor};
use crate::DomainError;
use crate::store::campaigns::{self, TargetMeta};
use crate::store::events::append;
use crate::store::{Tx, approvals, drills, fleet};

fn check_version(c: &Campaign, if_match: Option<u64>) -> Result<(), DomainError> {
    match if_match {
        Some(seen) if seen != c.version => Err(DomainError::PreconditionFailed {
            what: format!("campaign {}", c.id),
            seen,
            current: c.version,
        }),
        _ => Ok(()),
    }
}

fn wrong_state(c: &Campaign, action: &str, allowed: &str) -> DomainError {
    DomainError::Conflict(format!(
        "campaign {} is {}; only a {allowed} campaign can be {action}",
        c.id,
        c.state.as_str().replace('_', " ")
    ))
}

/// Starts a campaign: plans its rings and targets; the runner takes it from there.
pub async fn create_campaign(
    tx: &mut Tx<'_>,
    actor: &str,
    req: &CreateCampaign,
    corr: Option<String>,
) -> Result<Campaign, DomainError> {
    let (title, target_version) = plan::check_request(req)?;
    let gate = plan::check_gate(req.gate.as_ref())?;
    let fleet_dbs = fleet::all(tx).await?;
    let selected = plan::select(&fleet_dbs, req, &target_version)?;
    let busy = campaigns::busy_databases(tx).await?;
    if let Some((db, cmp)) = busy
        .iter()
        .find(|(db, _)| selected.iter().any(|s| &s.id == db))
    {
        return Err(DomainError::Conflict(format!(
            "database {db} is already in unfinished campaign {cmp}; finish or roll it back first"
        )));
    }
    let planned = plan::plan_rings(&selected);
    let num = campaigns::next_num(tx).await?;
    let now = Utc::now();
    let mut metas = Vec::new();
    let rings: Vec<Ring> = planned
        .iter()
        .enumerate()
        .map(|(pos, r)| Ring {
            index: r.ring,
            state: RingState::Pending,
            contains_prod: r.contains_prod,
            gate: GateStatus {
                state: GateState::Pending,
                failures: 0,
                bake_until: None,
                reason: None,
            },
            approval_id: None,
            started_at: None,
            finished_at: None,
            targets: r
                .targets
                .iter()
                .map(|t| {
                    metas.push(TargetMeta {
                        database_id: t.database_id.clone(),
                        ring_pos: pos,
                        primary_id: t.primary_id.clone(),
                        patch_started: false,
                    });
                    Target {
                        database_id: t.database_id.clone(),
                        state: TargetState::Pending,
                        from_version: t.from_version.clone(),
                        to_version: target_version.clone(),
                        attempts: 0,
                        started_at: None,
                        finished_at: None,
                        message: None,
                        approval_id: None,
                    }
                })
                .collect(),
        })
        .collect();
    let mut c = Campaign {
        id: format!("cmp-{num}"),
        title: fleetdeck_api::text::sanitize_line(&title).into_owned(),
        target_version,
        created_by: actor.to_string(),
        created_at: now,
        updated_at: now,
        state: CampaignState::Running,
        paused_reason: None,
        waiting_for: None,
        gate,
        current_ring: None,
        rings,
        rollback: None,
        version: 0,
    };
    record::set_current(&mut c, 0);
    campaigns::insert(tx, num, &c, &metas).await?;
    let summary = c
        .rings
        .iter()
        .map(|r| format!("ring {}: {}", r.index, r.targets.len()))
        .collect::<Vec<_>>()
        .join(", ");
    let msg = format!(
        "{actor} started campaign {} '{}' to {} on {} databases ({summary})",
        c.id,
        c.title,
        c.target_version,
        c.target_count()
    );
    let ev = Actor::new(actor, corr).event(kinds::CAMPAIGN_CREATED, Level::Info, msg);
    record::save_campaign(tx, &mut c, ev).await?;
    Ok(c)
}

/// Stops dispatching; targets in flight finish.
pub async fn pause(
    tx: &mut Tx<'_>,
    actor: &str,
    campaign_id: &str,
    if_match: Option<u64>,
    reason: &str,
    corr: Option<String>,
) -> Result<Campaign, DomainError> {
    let reason = check_reason(Some(reason), true)?.unwrap_or_default();
    let mut c = record::load(tx, campaign_id).await?;
    check_version(&c, if_match)?;
    if !c.state.can_pause() {
        return Err(wrong_state(&c, "paused", "running or awaiting-approval"));
    }
    c.state = CampaignState::Paused;
    c.paused_reason = Some(format!("paused by {actor}: {reason}"));
    let msg = format!("{actor} paused {}: {reason}", c.id);
    let ev = Actor::new(actor, corr).event(kinds::CAMPAIGN_PAUSED, Level::Warn, msg);
    record::save_campaign(tx, &mut c, ev).await?;
    Ok(c)
}

/// Continues a paused campaign. A failed gate starts counting afresh (failed targets stay
/// failed); an expired or rejected approval is requested again by the runner.
pub async fn resume(
    tx: &mut Tx<'_>,
    actor: &str,
    campaign_id: &str,
    if_match: Option<u64>,
    reason: Option<&str>,
    corr: Option<String>,
) -> Result<Campaign, DomainError> {
    let reason = check_reason(reason, false)?;
    let mut c = record::load(tx, campaign_id).await?;
    check_version(&c, if_match)?;
    if !c.state.can_resume() {
        return Err(wrong_state(&c, "resumed", "paused"));
    }
    let mut notes = Vec::new();
    if c.current_ring.is_some() {
        let pos = record::current_pos(&c);
        let mut stale_approvals = Vec::new();
        if let Some(ring) = c.rings.get(pos) {
            if let Some(id) = &ring.approval_id {
                stale_approvals.push(id.clone());
            }
            for t in ring
                .targets
                .iter()
                .filter(|t| t.state == TargetState::Blocked)
            {
                if let Some(id) = &t.approval_id {
                    stale_approvals.push(id.clone());
                }
            }
        }
        let mut dead = Vec::new();
        for id in stale_approvals {
            if let Some(a) = approvals::get(tx, &id).await?
                && matches!(a.state, ApprovalState::Expired | ApprovalState::Rejected)
                && !(a.state == ApprovalState::Rejected && a.database_id.is_some())
            {
                dead.push(id);
            }
        }
        let ring = &mut c.rings[pos];
        if ring
            .approval_id
            .as_ref()
            .is_some_and(|id| dead.contains(id))
        {
            ring.approval_id = None;
            ring.state = RingState::Pending;
            notes.push("ring promotion will be requested again".to_string());
        }
        for t in ring.targets.iter_mut() {
            if t.approval_id.as_ref().is_some_and(|id| dead.contains(id)) {
                t.approval_id = None;
                t.message = Some("policy exception will be requested again".into());
                campaigns::save_target(tx, &c.id, t).await?;
                notes.push(format!(
                    "exception for {} will be requested again",
                    t.database_id
                ));
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
                    "ring {} gate restarted (failed targets stay failed)",
                    ring.index
                ));
            }
            RingState::Baking => {
                // Health was not watched while paused: the bake starts over.
                ring.state = RingState::Running;
                ring.gate.bake_until = None;
                notes.push(format!("ring {} bake starts over", ring.index));
            }
            _ => {}
        }
        c.state = if ring.state == RingState::AwaitingApproval {
            CampaignState::AwaitingApproval
        } else {
            CampaignState::Running
        };
    } else {
        c.state = CampaignState::Running;
    }
    c.paused_reason = None;
    let mut msg = format!("{actor} resumed {}", c.id);
    if let Some(r) = &reason {
        msg.push_str(&format!(": {r}"));
    }
    if !notes.is_empty() {
        msg.push_str(&format!(" ({})", notes.join("; ")));
    }
    let ev = Actor::new(actor, corr).event(kinds::CAMPAIGN_RESUMED, Level::Info, msg);
    record::save_campaign(tx, &mut c, ev).await?;
    Ok(c)
}

/// Starts the four-stage rollback; the runner performs it once in-flight targets finish.
pub async fn rollback(
    tx: &mut Tx<'_>,
    actor: &str,
    campaign_id: &str,
    if_match: Option<u64>,
    reason: &str,
    corr: Option<String>,
) -> Result<Campaign, DomainError> {
    let reason = check_reason(Some(reason), true)?.unwrap_or_default();
    let mut c = record::load(tx, campaign_id).await?;
    check_version(&c, if_match)?;
    if !c.state.can_rollback() {
        return Err(wrong_state(
            &c,
            "rolled back",
            "running, paused or awaiting-approval",
        ));
    }
    let who = Actor::new(actor, corr);
    let msg = format!("{actor} requested rollback of {}: {reason}", c.id);
    c.state = CampaignState::RollingBack;
    c.paused_reason = None;
    c.waiting_for = None;
    c.rollback = Some(RollbackStatus {
        stage: RollbackStage::Disable,
        reason: reason.clone(),
        requested_by: actor.to_string(),
        started_at: Utc::now(),
        finished_at: None,
        mismatches: Vec::new(),
    });
    append(
        tx,
        who.event(kinds::CAMPAIGN_ROLLBACK_REQUESTED, Level::Warn, msg)
            .subject(record::subject(&c, None, None)),
    )
    .await?;
    let ev = who.event(
        kinds::CAMPAIGN_ROLLBACK_STAGE,
        Level::Warn,
        format!(
            "rollback stage 1/4 disable: {} dispatches nothing new; in-flight targets finish",
            c.id
        ),
    );
    record::save_campaign(tx, &mut c, ev).await?;
    Ok(c)
}

/// Queues a restore drill of one database now; the engine runs it at once.
pub async fn start_drill(
    tx: &mut Tx<'_>,
    actor: &str,
    database_id: &str,
    corr: Option<String>,
) -> Result<Drill, DomainError> {
    let db = fleet::get(tx, database_id).await?.ok_or_else(|| {
        DomainError::NotFound(format!(
            "no database with id '{}'",
            fleetdeck_api::text::sanitize_line(database_id)
        ))
    })?;
    let running = drills::running(tx).await?;
    if let Some(d) = running.iter().find(|d| d.database_id == db.id) {
        return Err(DomainError::Conflict(format!(
            "a restore drill of {} is already running ({}, started by {})",
            db.id, d.id, d.requested_by
        )));
    }
    let drill = new_drill(&db.id, actor);
    record_drill_started(tx, &db, &drill, &Actor::new(actor, corr)).await?;
    Ok(drill)
}

/// A drill in state running, not yet written.
pub(crate) fn new_drill(database_id: &str, actor: &str) -> Drill {
    let id = uuid::Uuid::new_v4().simple().to_string();
    Drill {
        id: format!("drl-{}", &id[..12]),
        database_id: database_id.to_string(),
        state: DrillState::Running,
        requested_by: actor.to_string(),
        started_at: Utc::now(),
        finished_at: None,
        backup_id: None,
        recovery_point: None,
        restore_seconds: None,
        checksum_ok: None,
        output: String::new(),
        proof: None,
    }
}

/// Writes a drill's new state and appends `kind` with the database's evidence.
pub(crate) async fn record_drill(
    tx: &mut Tx<'_>,
    db: &fleetdeck_api::Database,
    drill: &Drill,
    who: &Actor,
    kind: &str,
    level: Level,
    message: String,
) -> Result<(), DomainError> {
    drills::insert(tx, drill).await?;
    let evidence = drills::evidence(tx, db, Utc::now()).await?;
    append(
        tx,
        who.event(kind, level, message)
            .subject(EventSubject {
                database_id: Some(db.id.clone()),
                drill_id: Some(drill.id.clone()),
                ..EventSubject::default()
            })
            .change(Change::Evidence {
                evidence: Box::new(evidence),
            }),
    )
    .await?;
    Ok(())
}

pub(crate) async fn record_drill_started(
    tx: &mut Tx<'_>,
    db: &fleetdeck_api::Database,
    drill: &Drill,
    who: &Actor,
) -> Result<(), DomainError> {
    let msg = format!(
        "{} started restore drill {} of {}",
        who.name, drill.id, db.id
    );
    record_drill(tx, db, drill, who, kinds::DRILL_STARTED, Level::Info, msg).await
}
