//! Rollback in four visible stages, each an event and each persisted so a restarted
//! engine continues at the stage it was in: disable (nothing new is dispatched; the
//! runner starts this job only once in-flight targets finished), revert (executor
//! rollback of every patched target, newest ring first), repair (health of every
//! reverted target), reconcile (actual versions against the declared ones, every
//! mismatch reported).

use chrono::Utc;
use fleetdeck_api::{
    Campaign, CampaignState, Level, Mismatch, RingState, RollbackStage, TargetState, kinds,
};
use futures_util::future::join_all;

use super::engine::Shared;
use super::health::{self, Observer};
use super::logs::{LogTo, with_log};
use super::plan;
use super::record::{self, Actor};
use super::target::{Mark, transition};
use crate::DomainError;
use crate::store::campaigns;
use crate::store::fleet;

fn actor(c: &Campaign) -> Actor {
    Actor::new("runner", Some(format!("{}/rollback", c.id)))
}

async fn load(shared: &Shared, id: &str) -> Result<Option<Campaign>, DomainError> {
    let mut conn = shared.store.pool().acquire().await?;
    campaigns::load(&mut conn, id).await
}

/// Moves the rollback to `stage`, announcing it with `message`.
async fn enter(
    shared: &Shared,
    id: &str,
    stage: RollbackStage,
    message: String,
) -> Result<(), DomainError> {
    let mut tx = shared.store.begin().await?;
    let mut c = record::load(&mut tx, id).await?;
    if let Some(rb) = &mut c.rollback {
        rb.stage = stage;
    }
    let ev = actor(&c).event(kinds::CAMPAIGN_ROLLBACK_STAGE, Level::Warn, message);
    record::save_campaign(&mut tx, &mut c, ev).await?;
    shared.store.commit(tx).await
}

/// Carries a rollback through its remaining stages.
pub(crate) async fn run(shared: &Shared, id: &str) -> Result<(), DomainError> {
    loop {
        if shared.stopping() {
            return Ok(());
        }
        let Some(c) = load(shared, id).await? else {
            return Ok(());
        };
        if c.state != CampaignState::RollingBack {
            return Ok(());
        }
        let stage = c
            .rollback
            .as_ref()
            .map_or(RollbackStage::Disable, |r| r.stage);
        match stage {
            RollbackStage::Disable => {
                let n = to_revert(shared, &c).await?.len();
                let msg = format!(
                    "rollback stage 2/4 revert: {} — {n} patched target(s) go back to their previous version, newest ring first",
                    c.id
                );
                enter(shared, id, RollbackStage::Revert, msg).await?;
            }
            RollbackStage::Revert => {
                revert(shared, &c).await?;
                if shared.stopping() {
                    return Ok(());
                }
                let c = load(shared, id).await?.unwrap_or(c);
                let reverted = reverted(&c).len();
                let msg = format!(
                    "rollback stage 3/4 repair: {} — verifying the health of {reverted} reverted target(s)",
                    c.id
                );
                enter(shared, id, RollbackStage::Repair, msg).await?;
            }
            RollbackStage::Repair => {
                let summary = repair(shared, &c).await?;
                let msg = format!(
                    "{summary}; rollback stage 4/4 reconcile: {} — comparing every target's actual version with the declared one",
                    c.id
                );
                enter(shared, id, RollbackStage::Reconcile, msg).await?;
            }
            RollbackStage::Reconcile => return reconcile(shared, &c).await,
            RollbackStage::Done | RollbackStage::Unknown => {
                return finish(shared, id, Vec::new()).await;
            }
        }
    }
}

/// Patched targets not yet reverted, in revert order: last ring first; within a ring,
/// primaries (and standalone databases) before replicas, the reverse of the patch order,
/// so a replica never runs older than its primary. `(ring position, id, is replica)`.
async fn to_revert(
    shared: &Shared,
    c: &Campaign,
) -> Result<Vec<(usize, String, bool)>, DomainError> {
    let meta = {
        let mut conn = shared.store.pool().acquire().await?;
        campaigns::load_meta(&mut conn, &c.id).await?
    };
    let find = |db: &str| meta.iter().find(|m| m.database_id == db);
    let mut out: Vec<(usize, String, bool)> = c
        .rings
        .iter()
        .enumerate()
        .rev()
        .flat_map(|(p, r)| r.targets.iter().rev().map(move |t| (p, t)))
        .filter(|(_, t)| find(&t.database_id).is_some_and(|m| m.patch_started))
        .filter(|(_, t)| {
            matches!(
                t.state,
                TargetState::Done | TargetState::Failed | TargetState::RollingBack
            ) && !t
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with(REVERT_FAILED))
        })
        .map(|(p, t)| {
            let replica = find(&t.database_id).is_some_and(|m| m.primary_id.is_some());
            (p, t.database_id.clone(), replica)
        })
        .collect();
    // Stable: keeps the ring order, puts replicas after primaries within each ring.
    out.sort_by_key(|(p, _, replica)| (std::cmp::Reverse(*p), *replica));
    Ok(out)
}

const REVERT_FAILED: &str = "rollback failed";

fn reverted(c: &Campaign) -> Vec<String> {
    c.rings
        .iter()
        .flat_map(|r| &r.targets)
        .filter(|t| t.state == TargetState::RolledBack)
        .map(|t| t.database_id.clone())
        .collect()
}

async fn revert(shared: &Shared, c: &Campaign) -> Result<(), DomainError> {
    let todo = to_revert(shared, c).await?;
    let width = c.gate.concurrency.max(1) as usize;
    // One group per (ring, primaries | replicas), at most `concurrency` at a time.
    let mut rest = &todo[..];
    while let Some((ring, _, replica)) = rest.first() {
        let n = rest
            .iter()
            .position(|(p, _, r)| p != ring || r != replica)
            .unwrap_or(rest.len());
        for chunk in rest[..n].chunks(width) {
            if shared.stopping() {
                return Ok(());
            }
            let results = join_all(chunk.iter().map(|(_, db, _)| revert_one(shared, c, db))).await;
            for r in results {
                r?;
            }
        }
        rest = &rest[n..];
    }
    // Every ring that was entered is now rolled back.
    let mut tx = shared.store.begin().await?;
    let mut c = record::load(&mut tx, &c.id).await?;
    for r in c.rings.iter_mut().filter(|r| r.state != RingState::Pending) {
        r.state = RingState::RolledBack;
        r.gate.bake_until = None;
    }
    let msg = format!("{}: revert finished", c.id);
    let ev = actor(&c).event(kinds::CAMPAIGN_UPDATED, Level::Info, msg);
    record::save_campaign(&mut tx, &mut c, ev).await?;
    shared.store.commit(tx).await
}

async fn revert_one(shared: &Shared, c: &Campaign, database_id: &str) -> Result<(), DomainError> {
    let Some((pos, i)) = record::find_target(c, database_id) else {
        return Ok(());
    };
    let t = &c.rings[pos].targets[i];
    let from = t.from_version.clone();
    let who = actor(c);
    let db = {
        let mut conn = shared.store.pool().acquire().await?;
        fleet::get(&mut conn, database_id).await?
    };
    let Some(db) = db else { return Ok(()) };
    if t.state == TargetState::RollingBack {
        // A revert cut short by a restart is never repeated (like a patch): the actual
        // version says whether it took.
        return settle_interrupted(shared, c, pos, i, &db, &from).await;
    }
    let ev = who.event(
        kinds::TARGET_STATE,
        Level::Warn,
        format!("{database_id}: reverting to {from}"),
    );
    transition(
        shared,
        &c.id,
        database_id,
        TargetState::RollingBack,
        None,
        Mark::None,
        ev,
    )
    .await?;
    let to = LogTo {
        subject: record::subject(c, Some(pos), Some(database_id)),
        correlation: who.correlation.clone(),
    };
    let ex = &shared.executor;
    match with_log(shared, &to, |log| ex.rollback(&db, &from, log)).await {
        Ok(()) => mark_reverted(shared, c, pos, i, &from, "reverted").await,
        Err(e) => mark_revert_failed(shared, c, database_id, format!("{REVERT_FAILED}: {e}")).await,
    }
}

/// A target found `rolling_back` when the revert stage starts: its executor rollback was
/// interrupted (the server stopped). It counts as reverted only if it runs `from`.
async fn settle_interrupted(
    shared: &Shared,
    c: &Campaign,
    pos: usize,
    i: usize,
    db: &fleetdeck_api::Database,
    from: &str,
) -> Result<(), DomainError> {
    match shared.executor.actual_version(db).await {
        Ok(v) if v == from => {
            let how = "reverted before an interruption (verified, not rolled back again)";
            mark_reverted(shared, c, pos, i, from, how).await
        }
        Ok(v) => {
            let why = format!(
                "{REVERT_FAILED}: interrupted by a restart; runs {v}, expected {from}; not rolled back again, check it by hand"
            );
            mark_revert_failed(shared, c, &db.id, why).await
        }
        Err(e) => {
            let why = format!(
                "{REVERT_FAILED}: interrupted by a restart and the version cannot be read ({e}); not rolled back again, check it by hand"
            );
            mark_revert_failed(shared, c, &db.id, why).await
        }
    }
}

/// Records target `(pos, i)` of `c` as rolled back to `from`, and the database's version
/// with it. Reads and writes only this target's row (and the campaign's header and
/// rings), as a forward step does: reverting a campaign costs O(targets), not
/// O(targets²).
async fn mark_reverted(
    shared: &Shared,
    c: &Campaign,
    pos: usize,
    i: usize,
    from: &str,
    how: &str,
) -> Result<(), DomainError> {
    let who = actor(c);
    let database_id = c.rings[pos].targets[i].database_id.clone();
    let mut tx = shared.store.begin().await?;
    let mut c = record::load_target(&mut tx, &c.id, &database_id).await?;
    let (pos, i) = record::find_target(&c, &database_id).ok_or_else(|| {
        DomainError::Internal(format!("campaign {} has no target {database_id}", c.id))
    })?;
    let t = &mut c.rings[pos].targets[i];
    t.state = TargetState::RolledBack;
    t.finished_at = Some(Utc::now());
    t.message = Some(format!("{how} to {from}"));
    let ev = who.event(
        kinds::TARGET_STATE,
        Level::Info,
        format!("{database_id}: {how} to {from}"),
    );
    record::save_target(&mut tx, &mut c, pos, &database_id, false, ev).await?;
    if let Some(mut db) = fleet::get(&mut tx, &database_id).await? {
        let was = std::mem::replace(&mut db.engine_version, from.to_string());
        let ev = who.event(
            kinds::DATABASE_PATCHED,
            Level::Info,
            format!("{database_id} rolled back {was} → {from} by {}", c.id),
        );
        fleet::save(&mut tx, db, ev).await?;
    }
    shared.store.commit(tx).await
}

async fn mark_revert_failed(
    shared: &Shared,
    c: &Campaign,
    database_id: &str,
    why: String,
) -> Result<(), DomainError> {
    let ev = actor(c).event(
        kinds::TARGET_STATE,
        Level::Error,
        format!("{database_id}: {why}"),
    );
    transition(
        shared,
        &c.id,
        database_id,
        TargetState::Failed,
        Some(why),
        Mark::None,
        ev,
    )
    .await
    .map(drop)
}

/// Checks the health of every reverted target; returns the summary.
async fn repair(shared: &Shared, c: &Campaign) -> Result<String, DomainError> {
    let ids = reverted(c);
    let mut problems = Vec::new();
    for id in &ids {
        let db = {
            let mut conn = shared.store.pool().acquire().await?;
            fleet::get(&mut conn, id).await?
        };
        let Some(db) = db else { continue };
        let problem = match health::observe(shared, &db, Observer::Repair, None).await {
            Ok(h) => plan::health_problem(id, &h, &c.gate),
            Err(e) => Some(format!("health check of {id} failed: {e}")),
        };
        if let Some(p) = problem {
            problems.push(p);
        }
    }
    Ok(if problems.is_empty() {
        format!("repair: {} reverted target(s) healthy", ids.len())
    } else {
        format!(
            "repair: {} of {} reverted target(s) need attention: {}",
            problems.len(),
            ids.len(),
            problems.join("; ")
        )
    })
}

/// Compares actual versions with the declared ones (the version each target had before
/// the campaign), corrects the inventory to what exists, and finishes the rollback.
async fn reconcile(shared: &Shared, c: &Campaign) -> Result<(), DomainError> {
    let mut mismatches = Vec::new();
    for t in c.rings.iter().flat_map(|r| &r.targets) {
        let db = {
            let mut conn = shared.store.pool().acquire().await?;
            fleet::get(&mut conn, &t.database_id).await?
        };
        let Some(db) = db else { continue };
        let actual = match shared.executor.actual_version(&db).await {
            Ok(v) => v,
            Err(e) => format!("unknown ({e})"),
        };
        if actual != t.from_version {
            mismatches.push(Mismatch {
                database_id: db.id.clone(),
                declared_version: t.from_version.clone(),
                actual_version: actual.clone(),
            });
            if db.engine_version != actual && !actual.starts_with("unknown") {
                let mut tx = shared.store.begin().await?;
                let msg = format!(
                    "reconcile: {} runs {actual}, not the declared {}; inventory corrected",
                    db.id, t.from_version
                );
                let db = fleetdeck_api::Database {
                    engine_version: actual,
                    ..db
                };
                fleet::save(
                    &mut tx,
                    db,
                    actor(c).event(kinds::DATABASE_PATCHED, Level::Warn, msg),
                )
                .await?;
                shared.store.commit(tx).await?;
            }
        }
    }
    finish(shared, &c.id, mismatches).await
}

async fn finish(shared: &Shared, id: &str, mismatches: Vec<Mismatch>) -> Result<(), DomainError> {
    let mut tx = shared.store.begin().await?;
    let mut c = record::load(&mut tx, id).await?;
    let who = actor(&c);
    let report = if mismatches.is_empty() {
        "every target runs its declared version".to_string()
    } else {
        format!(
            "{} mismatch(es): {}",
            mismatches.len(),
            mismatches
                .iter()
                .map(|m| format!(
                    "{} declared {} actual {}",
                    m.database_id, m.declared_version, m.actual_version
                ))
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    let level = if mismatches.is_empty() {
        Level::Info
    } else {
        Level::Error
    };
    if let Some(rb) = &mut c.rollback {
        rb.stage = RollbackStage::Done;
        rb.finished_at = Some(Utc::now());
        rb.mismatches = mismatches;
    }
    crate::store::events::append(
        &mut tx,
        who.event(
            kinds::CAMPAIGN_ROLLBACK_STAGE,
            level,
            format!("reconcile report for {id}: {report}"),
        )
        .subject(record::subject(&c, None, None)),
    )
    .await?;
    // Targets the campaign never reached are settled, so none looks like it still waits.
    let now = Utc::now();
    for t in c.rings.iter_mut().flat_map(|r| r.targets.iter_mut()) {
        if matches!(t.state, TargetState::Pending | TargetState::Blocked) {
            t.state = TargetState::Skipped;
            t.finished_at = Some(now);
            t.message = Some("not patched: the campaign was rolled back".into());
            campaigns::save_target(&mut tx, id, t).await?;
        }
    }
    c.state = CampaignState::RolledBack;
    c.waiting_for = None;
    let ev = who.event(
        kinds::CAMPAIGN_ROLLED_BACK,
        level,
        format!("{id} rolled back: {report}"),
    );
    record::save_campaign(&mut tx, &mut c, ev).await?;
    shared.store.commit(tx).await
}
