//! What people ask of a campaign or a database: create, pause, resume, roll back, drill
//! now. Each validates, refuses a stale `If-Match` or a wrong state with the reason, and
//! writes the new state with its events in the caller's transaction; the engine notices
//! the commit and acts.

use chrono::Utc;
use fleetdeck_api::{
    Campaign, CampaignState, Change, CreateCampaign, Drill, DrillState, EventSubject, GateState,
    GateStatus, Level, Ring, RingState, RollbackStage, RollbackStatus, Target, TargetState, kinds,
};

use super::on_resume;
use super::plan::check_reason;
use super::preview;
use super::record::{self, Actor};
use crate::DomainError;
use crate::store::campaigns::{self, TargetMeta};
use crate::store::events::append;
use crate::store::{Tx, drills, fleet};

/// What an `If-Match` on a campaign action guards. The campaign's version counts every
/// change, target steps included, and a busy campaign takes several a second; each
/// action is refused (412) only for a change to what the operator decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// Pause: nothing but a version from the future. Stopping dispatch is safe whatever
    /// moved since the operator looked (targets in flight finish their step either way), and the brake must work
    /// on the first press while targets keep moving. The state check (409) still
    /// refuses a campaign that cannot be paused.
    Nothing,
    /// Resume: the campaign's state and pause reason, i.e. the pause the operator saw.
    /// A paused campaign's in-flight targets go on finishing and move the version,
    /// which changes nothing a resume decides on; a campaign resumed and paused anew
    /// since (by someone else, or by the gate for a new reason) is refused.
    State,
    /// Rollback: everything its dialog showed (blast radius, targets patched, stages).
    Version,
}

async fn check_precondition(
    tx: &mut Tx<'_>,
    c: &Campaign,
    if_match: Option<u64>,
    guard: Guard,
) -> Result<(), DomainError> {
    let Some(seen) = if_match else {
        return Ok(());
    };
    let stale = |what: String| DomainError::PreconditionFailed {
        what,
        seen,
        current: c.version,
    };
    // A version the campaign never had is refused whatever the action: the client is
    // looking at another history (a server restored from an older copy, say).
    if seen > c.version {
        return Err(stale(format!("campaign {}", c.id)));
    }
    match guard {
        _ if seen == c.version => Ok(()),
        Guard::Nothing => Ok(()),
        Guard::Version => Err(stale(format!("campaign {}", c.id))),
        Guard::State => {
            let since = campaigns::state_version(tx, &c.id)
                .await?
                .unwrap_or(c.version);
            if seen >= since {
                Ok(())
            } else {
                Err(stale(format!("the state of campaign {}", c.id)))
            }
        }
    }
}

fn wrong_state(c: &Campaign, action: &str, allowed: &str) -> DomainError {
    DomainError::Conflict(format!(
        "campaign {} is {}; only a {allowed} campaign can be {action}",
        c.id,
        c.state.as_str().replace('_', " ")
    ))
}

/// Starts a campaign: plans it ([`super::plan_campaign`], refused when the plan has any
/// refusal, or is no longer the reviewed `plan_hash`) and stores its rings and targets as
/// planned; the runner takes it from there.
pub async fn create_campaign(
    tx: &mut Tx<'_>,
    actor: &str,
    req: &CreateCampaign,
    corr: Option<String>,
) -> Result<Campaign, DomainError> {
    let planned = preview::prepare(tx, req, Utc::now(), preview::Estimate::Skip).await?;
    if let Some(reviewed) = &req.plan_hash {
        preview::check_reviewed(reviewed, &planned.plan)?;
    }
    if !planned.plan.refusals.is_empty() {
        return Err(preview::refused(&planned.plan.refusals));
    }
    let preview::Planned {
        rings: planned,
        title,
        target_version,
        gate,
        change_ref,
        ..
    } = planned;
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
                        rollback: None,
                    }
                })
                .collect(),
        })
        .collect();
    let mut c = Campaign {
        id: format!("cmp-{num}"),
        title,
        target_version,
        created_by: actor.to_string(),
        created_at: now,
        updated_at: now,
        state: CampaignState::Running,
        paused_reason: None,
        waiting_for: None,
        on_resume: None,
        gate,
        current_ring: None,
        rings,
        rollback: None,
        version: 0,
        change_ref,
    };
    record::set_current(&mut c, 0);
    campaigns::insert(tx, num, &c, &metas).await?;
    let summary = c
        .rings
        .iter()
        .map(|r| format!("ring {}: {}", r.index, r.targets.len()))
        .collect::<Vec<_>>()
        .join(", ");
    let change = c
        .change_ref
        .as_deref()
        .map(|r| format!(" for {r}"))
        .unwrap_or_default();
    let msg = format!(
        "{actor} started campaign {} '{}' to {}{change} on {} databases ({summary})",
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
    check_precondition(tx, &c, if_match, Guard::Nothing).await?;
    if !c.state.can_pause() {
        return Err(wrong_state(&c, "paused", "running or awaiting-approval"));
    }
    on_resume::mark_paused(tx, &mut c, format!("paused by {actor}: {reason}")).await?;
    let msg = format!("{actor} paused {}: {reason}", c.id);
    let ev = Actor::new(actor, corr).event(kinds::CAMPAIGN_PAUSED, Level::Warn, msg);
    record::save_campaign(tx, &mut c, ev).await?;
    Ok(c)
}

/// Continues a paused campaign as its `on_resume` said (see [`on_resume`]): a failed gate
/// starts counting afresh (failed targets stay failed); an expired or rejected approval
/// is requested again by the runner.
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
    check_precondition(tx, &c, if_match, Guard::State).await?;
    if !c.state.can_resume() {
        return Err(wrong_state(&c, "resumed", "paused"));
    }
    let notes = on_resume::apply(tx, &mut c).await?;
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
    check_precondition(tx, &c, if_match, Guard::Version).await?;
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
    c.on_resume = None;
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
