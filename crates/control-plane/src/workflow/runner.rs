//! The campaign runner: one step looks at a campaign and moves it as far as it can
//! without calling the executor (enter a ring, raise approvals, dispatch targets, start
//! the bake, pause on a failed gate), all in one transaction, and hands the executor
//! work back to the engine as jobs.

use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{
    ApprovalState, Campaign, CampaignState, GateState, Level, RingState, TargetState, kinds,
};

use super::engine::{Job, Shared, target_key};
use super::gates;
use super::on_resume;
use super::plan::{self, Slot};
use super::record::{self, Actor};
use crate::DomainError;
use crate::store::campaigns::{self, TargetMeta};
use crate::store::events::append;
use crate::store::{Tx, approvals, fleet};

pub(crate) fn runner() -> Actor {
    Actor::new("runner", None)
}

/// Steps one campaign; returns the jobs to start.
pub(crate) async fn step(shared: &Shared, id: &str) -> Result<Vec<Job>, DomainError> {
    let mut tx = shared.store.begin().await?;
    let mut c = record::load(&mut tx, id).await?;
    let meta = campaigns::load_meta(&mut tx, id).await?;
    let mut jobs = Vec::new();
    let in_flight = recover_orphans(shared, &mut tx, &mut c, &mut jobs).await?;
    match c.state {
        CampaignState::Running => advance(shared, &mut tx, &mut c, &meta, &mut jobs).await?,
        CampaignState::AwaitingApproval => gates::await_promotion(shared, &mut tx, &mut c).await?,
        // Stepped only when one of its approvals moved (or a target is in flight).
        CampaignState::Paused if campaigns::approvals_moved(&mut tx, id).await? => {
            on_resume::refresh(&mut tx, &mut c).await?
        }
        // Disable first: the revert starts once nothing of the forward run is in flight.
        CampaignState::RollingBack if !in_flight => jobs.push(Job::Rollback {
            campaign_id: c.id.clone(),
        }),
        _ => {}
    }
    shared.store.commit(tx).await?;
    Ok(jobs)
}

/// Targets left mid-step by a stopped engine: one interrupted before its patch call goes
/// back to the queue; one interrupted during or after it is re-verified, never
/// re-patched. Returns whether any forward target is still in flight.
async fn recover_orphans(
    shared: &Shared,
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    jobs: &mut Vec<Job>,
) -> Result<bool, DomainError> {
    let mut in_flight = false;
    let orphans: Vec<(usize, String, TargetState)> = c
        .rings
        .iter()
        .enumerate()
        .flat_map(|(p, r)| r.targets.iter().map(move |t| (p, t)))
        .filter(|(_, t)| {
            matches!(
                t.state,
                TargetState::Prechecking | TargetState::Patching | TargetState::Verifying
            )
        })
        .map(|(p, t)| (p, t.database_id.clone(), t.state))
        .collect();
    for (pos, db, state) in orphans {
        in_flight = true;
        if shared.is_busy(&target_key(&c.id, &db)) {
            continue;
        }
        if state == TargetState::Prechecking {
            let (_, i) = record::find_target(c, &db).unwrap_or((pos, 0));
            let t = &mut c.rings[pos].targets[i];
            t.state = TargetState::Pending;
            t.message = Some("interrupted before its patch call; queued again".into());
            let ev = runner().event(
                kinds::TARGET_STATE,
                Level::Warn,
                format!("{db}: interrupted during precheck (engine restart); queued again"),
            );
            record::save_target(tx, c, pos, &db, false, ev).await?;
        } else {
            jobs.push(Job::Target {
                campaign_id: c.id.clone(),
                database_id: db,
                fresh: false,
            });
        }
    }
    Ok(in_flight)
}

async fn advance(
    shared: &Shared,
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    meta: &[TargetMeta],
    jobs: &mut Vec<Job>,
) -> Result<(), DomainError> {
    let pos = record::current_pos(c);
    if pos >= c.rings.len() {
        return complete(tx, c).await;
    }
    match c.rings[pos].state {
        RingState::Pending => enter_ring(shared, tx, c, pos, meta, jobs).await,
        RingState::AwaitingApproval => {
            c.state = CampaignState::AwaitingApproval;
            let ev = runner().event(
                kinds::CAMPAIGN_AWAITING_APPROVAL,
                Level::Info,
                format!("{} waits for the ring-promotion approval", c.id),
            );
            record::save_campaign(tx, c, ev).await
        }
        RingState::Running => run_ring(shared, tx, c, pos, meta, jobs).await,
        RingState::Baking => {
            jobs.push(Job::Bake {
                campaign_id: c.id.clone(),
            });
            Ok(())
        }
        RingState::Passed => next_ring(tx, c, pos).await,
        RingState::Failed => {
            let reason = c.rings[pos]
                .gate
                .reason
                .clone()
                .unwrap_or_else(|| "the gate failed".into());
            pause_for(
                tx,
                c,
                format!("ring {} gate failed: {reason}", c.rings[pos].index),
            )
            .await
        }
        RingState::RolledBack | RingState::Unknown => Ok(()),
    }
}

/// Enters ring `pos`: a production ring first needs its promotion approved.
async fn enter_ring(
    shared: &Shared,
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    pos: usize,
    meta: &[TargetMeta],
    jobs: &mut Vec<Job>,
) -> Result<(), DomainError> {
    if c.rings[pos].contains_prod {
        let approved = match &c.rings[pos].approval_id {
            Some(id) => approvals::get(tx, id)
                .await?
                .is_some_and(|a| a.state == ApprovalState::Approved),
            None => false,
        };
        if !approved {
            let expires = Utc::now() + to_chrono(shared.settings.approval_ttl);
            let a = gates::request_promotion(tx, c, pos, expires, None).await?;
            let ring = &mut c.rings[pos];
            ring.approval_id = Some(a.id.clone());
            ring.state = RingState::AwaitingApproval;
            c.state = CampaignState::AwaitingApproval;
            let what = format!(
                "ring-promotion approval {} ({} of {} approvals) to enter production ring {}",
                a.id,
                a.approvals_so_far(),
                a.approvals_required,
                ring.index
            );
            c.waiting_for = Some(what.clone());
            let ev = runner()
                .event(
                    kinds::CAMPAIGN_AWAITING_APPROVAL,
                    Level::Warn,
                    format!("{} waits for {what}", c.id),
                )
                .subject(record::subject(c, Some(pos), None));
            return record::save_campaign(tx, c, ev).await;
        }
    }
    start_ring(shared, tx, c, pos, None).await?;
    run_ring(shared, tx, c, pos, meta, jobs).await
}

/// Marks ring `pos` running and blocks every target whose evidence needs an exception.
pub(crate) async fn start_ring(
    shared: &Shared,
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    pos: usize,
    note: Option<String>,
) -> Result<(), DomainError> {
    let now = Utc::now();
    let ring = &mut c.rings[pos];
    ring.state = RingState::Running;
    ring.started_at = Some(now);
    ring.gate.state = GateState::Watching;
    c.state = CampaignState::Running;
    c.waiting_for = None;
    let mut msg = format!(
        "{}: ring {} started: {} targets, at most {} at a time, pauses at {} failed",
        c.id,
        ring.index,
        ring.targets.len(),
        c.gate.concurrency,
        c.gate.failure_budget
    );
    if let Some(n) = note {
        msg = format!("{n}; {msg}");
    }
    record::save_campaign(
        tx,
        c,
        runner()
            .event(kinds::CAMPAIGN_RING_STARTED, Level::Info, msg)
            .subject(record::subject(c, Some(pos), None)),
    )
    .await?;
    let ids: Vec<String> = c.rings[pos]
        .targets
        .iter()
        .filter(|t| t.state == TargetState::Pending)
        .map(|t| t.database_id.clone())
        .collect();
    for id in ids {
        let Some(db) = fleet::get(tx, &id).await? else {
            continue;
        };
        let ev = gates::evidence_of(tx, &db).await?;
        if ev.needs_exception() {
            gates::block_target(shared, tx, c, pos, &db, &ev).await?;
        }
    }
    Ok(())
}

/// Works a running ring: settles exceptions, checks the failure budget, dispatches, and
/// starts the bake once every target finished.
async fn run_ring(
    shared: &Shared,
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    pos: usize,
    meta: &[TargetMeta],
    jobs: &mut Vec<Job>,
) -> Result<(), DomainError> {
    if !gates::settle_exceptions(shared, tx, c, pos).await? {
        return Ok(());
    }
    let ring = &c.rings[pos];
    if plan::budget_exhausted(ring.gate.failures, &c.gate) {
        let failed: Vec<String> = ring
            .targets
            .iter()
            .filter(|t| t.state == TargetState::Failed)
            .map(|t| match &t.message {
                Some(m) => format!("{} ({m})", t.database_id),
                None => t.database_id.clone(),
            })
            .collect();
        let reason = format!(
            "{} failed targets reached the failure budget of {}: {}",
            ring.gate.failures,
            c.gate.failure_budget,
            failed.join(", ")
        );
        return fail_gate(tx, c, pos, reason).await;
    }
    let slots: Vec<Slot> = ring
        .targets
        .iter()
        .map(|t| Slot {
            target: t,
            primary_id: meta
                .iter()
                .find(|m| m.database_id == t.database_id)
                .and_then(|m| m.primary_id.as_deref()),
        })
        .collect();
    let start: Vec<String> = plan::dispatchable(&slots, c.gate.concurrency)
        .into_iter()
        .map(str::to_string)
        .collect();
    for id in start {
        let Some((_, i)) = record::find_target(c, &id) else {
            continue;
        };
        let t = &mut c.rings[pos].targets[i];
        t.state = TargetState::Prechecking;
        t.started_at = Some(Utc::now());
        t.message = None;
        let msg = format!("{id}: precheck for {}", t.to_version);
        record::save_target(
            tx,
            c,
            pos,
            &id,
            false,
            runner().event(kinds::TARGET_STATE, Level::Info, msg),
        )
        .await?;
        jobs.push(Job::Target {
            campaign_id: c.id.clone(),
            database_id: id,
            fresh: true,
        });
    }
    let ring = &c.rings[pos];
    if plan::ring_finished(&ring.targets) {
        return start_bake(shared, tx, c, pos, jobs).await;
    }
    let waiting: Vec<String> = ring
        .targets
        .iter()
        .filter(|t| t.state == TargetState::Blocked)
        .map(|t| {
            format!(
                "{} ({})",
                t.database_id,
                t.approval_id.as_deref().unwrap_or("?")
            )
        })
        .collect();
    let waiting_for =
        (!waiting.is_empty()).then(|| format!("policy exceptions for {}", waiting.join(", ")));
    if waiting_for != c.waiting_for {
        let (kind, msg) = match &waiting_for {
            Some(w) => (
                kinds::CAMPAIGN_AWAITING_APPROVAL,
                format!("{} waits for {w}", c.id),
            ),
            None => (
                kinds::CAMPAIGN_UPDATED,
                format!("{} no longer waits for exceptions", c.id),
            ),
        };
        c.waiting_for = waiting_for;
        record::save_campaign(tx, c, runner().event(kind, Level::Info, msg)).await?;
    }
    Ok(())
}

async fn start_bake(
    shared: &Shared,
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    pos: usize,
    jobs: &mut Vec<Job>,
) -> Result<(), DomainError> {
    let bake = shared
        .settings
        .scaled(Duration::from_secs(c.gate.bake_seconds));
    let ring = &mut c.rings[pos];
    let count = |s: TargetState| ring.targets.iter().filter(|t| t.state == s).count();
    let speed = if shared.settings.time_scale == 1.0 {
        String::new()
    } else {
        format!(
            " ({:.1}s at time scale {})",
            bake.as_secs_f64(),
            shared.settings.time_scale
        )
    };
    let msg = format!(
        "{}: ring {} finished ({} done, {} failed, {} skipped); baking {}s{speed}, watching health and replication lag (limit {:.1}s)",
        c.id,
        ring.index,
        count(TargetState::Done),
        count(TargetState::Failed),
        count(TargetState::Skipped),
        c.gate.bake_seconds,
        c.gate.max_replication_lag_s
    );
    ring.state = RingState::Baking;
    ring.gate.state = GateState::Watching;
    ring.gate.bake_until = Some(Utc::now() + to_chrono(bake));
    record::save_campaign(
        tx,
        c,
        runner()
            .event(kinds::CAMPAIGN_RING_BAKING, Level::Info, msg)
            .subject(record::subject(c, Some(pos), None)),
    )
    .await?;
    jobs.push(Job::Bake {
        campaign_id: c.id.clone(),
    });
    Ok(())
}

/// The gate failed: the ring fails and the campaign pauses with the reason.
pub(crate) async fn fail_gate(
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    pos: usize,
    reason: String,
) -> Result<(), DomainError> {
    let ring = &mut c.rings[pos];
    ring.state = RingState::Failed;
    ring.gate.state = GateState::Failed;
    ring.gate.reason = Some(reason.clone());
    ring.gate.bake_until = None;
    let index = ring.index;
    append(
        tx,
        runner()
            .event(
                kinds::CAMPAIGN_GATE_FAILED,
                Level::Error,
                format!("{}: ring {index} health gate failed: {reason}", c.id),
            )
            .subject(record::subject(c, Some(pos), None)),
    )
    .await?;
    pause_for(tx, c, format!("ring {index} health gate failed: {reason}")).await
}

/// Pauses the campaign on the runner's own account.
pub(crate) async fn pause_for(
    tx: &mut Tx<'_>,
    c: &mut Campaign,
    reason: String,
) -> Result<(), DomainError> {
    on_resume::mark_paused(tx, c, reason.clone()).await?;
    let ev = runner().event(
        kinds::CAMPAIGN_PAUSED,
        Level::Warn,
        format!("{} paused automatically: {reason}", c.id),
    );
    record::save_campaign(tx, c, ev).await
}

/// Ring `pos` passed: move to the next ring or complete.
async fn next_ring(tx: &mut Tx<'_>, c: &mut Campaign, pos: usize) -> Result<(), DomainError> {
    if pos + 1 < c.rings.len() {
        record::set_current(c, pos + 1);
        let msg = format!("{}: moving on to ring {}", c.id, c.rings[pos + 1].index);
        record::save_campaign(
            tx,
            c,
            runner().event(kinds::CAMPAIGN_UPDATED, Level::Info, msg),
        )
        .await
    } else {
        complete(tx, c).await
    }
}

pub(crate) async fn complete(tx: &mut Tx<'_>, c: &mut Campaign) -> Result<(), DomainError> {
    let all = c.rings.iter().flat_map(|r| &r.targets);
    let count = |s: TargetState| all.clone().filter(|t| t.state == s).count();
    let msg = format!(
        "{} completed: {} done, {} failed, {} skipped of {}",
        c.id,
        count(TargetState::Done),
        count(TargetState::Failed),
        count(TargetState::Skipped),
        c.target_count()
    );
    c.state = CampaignState::Completed;
    c.waiting_for = None;
    c.paused_reason = None;
    record::save_campaign(
        tx,
        c,
        runner().event(kinds::CAMPAIGN_COMPLETED, Level::Info, msg),
    )
    .await
}

pub(crate) fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
