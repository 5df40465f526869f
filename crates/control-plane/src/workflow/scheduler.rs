//! The restore-drill scheduler: keeps evidence fresh by drilling the stalest databases
//! first, a bounded number at a time, and runs every queued drill (scheduled or asked
//! for by a person). A drill left running by a stopped engine is run again: a restore
//! into an isolated place changes nothing, so repeating it is safe.

use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{Drill, DrillProof, DrillState, Evidence, Freshness, Level, kinds};

use super::actions::{new_drill, record_drill, record_drill_started};
use super::engine::{Job, Shared};
use super::logs::{LogTo, with_log};
use super::record::Actor;
use crate::DomainError;
use crate::config::RecoveryObjectives;
use crate::executor::{DrillOutcome, ExecError};
use crate::store::{drills, fleet};

/// A database whose latest drill failed is retried after this long (scaled).
const FAILED_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Whether a database is due for a drill, and how urgently: lower sorts first.
fn due(ev: &Evidence, now: chrono::DateTime<Utc>, retry_after: chrono::Duration) -> Option<i64> {
    if ev
        .latest
        .as_ref()
        .is_some_and(|d| d.state == DrillState::Running)
    {
        return None;
    }
    let due = match ev.freshness {
        Freshness::Never | Freshness::Stale | Freshness::Aging => true,
        Freshness::Failed => ev
            .latest
            .as_ref()
            .and_then(|d| d.finished_at)
            .is_none_or(|at| now - at >= retry_after),
        _ => false,
    };
    // Stalest first: never-drilled databases, then the oldest good drill.
    due.then(|| ev.last_good_at.map_or(i64::MIN, |t| t.timestamp()))
}

/// Queues due drills when there is room; returns a job for every queued drill not yet
/// running. `scan` says whether to look for due databases this time.
pub(crate) async fn step(shared: &Shared, scan: bool) -> Result<Vec<Job>, DomainError> {
    let running = {
        let mut conn = shared.store.pool().acquire().await?;
        drills::running(&mut conn).await?
    };
    let mut jobs: Vec<Job> = running
        .iter()
        .map(|d| Job::Drill {
            drill_id: d.id.clone(),
        })
        .filter(|j| !shared.is_busy(&j.key()))
        .collect();
    let room = shared
        .settings
        .max_concurrent_drills
        .saturating_sub(running.len());
    if !scan || room == 0 {
        return Ok(jobs);
    }
    let now = Utc::now();
    let retry = super::runner::to_chrono(shared.settings.scaled(FAILED_RETRY_AFTER));
    let evidence = drills::list_evidence(shared.store.pool(), now).await?;
    let mut candidates: Vec<(i64, &Evidence)> = evidence
        .iter()
        .filter_map(|ev| due(ev, now, retry).map(|k| (k, ev)))
        .collect();
    candidates.sort_by(|a, b| (a.0, &a.1.database_id).cmp(&(b.0, &b.1.database_id)));
    let who = Actor::new("scheduler", None);
    for (_, ev) in candidates.into_iter().take(room) {
        let mut tx = shared.store.begin().await?;
        let Some(db) = fleet::get(&mut tx, &ev.database_id).await? else {
            continue;
        };
        let drill = new_drill(&db.id, &who.name);
        record_drill_started(&mut tx, &db, &drill, &who).await?;
        shared.store.commit(tx).await?;
        jobs.push(Job::Drill { drill_id: drill.id });
    }
    Ok(jobs)
}

/// Runs one queued drill and records what it proved.
pub(crate) async fn run_drill(shared: &Shared, drill_id: &str) -> Result<(), DomainError> {
    let (drill, db) = {
        let mut conn = shared.store.pool().acquire().await?;
        let Some(drill) = drills::get(&mut conn, drill_id).await? else {
            return Ok(());
        };
        let db = fleet::get(&mut conn, &drill.database_id).await?;
        (drill, db)
    };
    if drill.state != DrillState::Running {
        return Ok(());
    }
    let who = Actor::new("scheduler", Some(drill.id.clone()));
    let Some(db) = db else {
        let done = Drill {
            state: DrillState::Failed,
            finished_at: Some(Utc::now()),
            output: "the database is no longer in the inventory".into(),
            ..drill
        };
        let mut conn = shared.store.pool().acquire().await?;
        return drills::insert(&mut conn, &done).await;
    };
    let to = LogTo {
        subject: fleetdeck_api::EventSubject {
            database_id: Some(db.id.clone()),
            drill_id: Some(drill.id.clone()),
            ..Default::default()
        },
        correlation: who.correlation.clone(),
    };
    let ex = &shared.executor;
    let outcome = with_log(shared, &to, |log| ex.restore_drill(&db, log)).await;
    let objectives = shared.settings.objectives(db.tier);
    let (done, level, msg) = finished(drill, &db.id, outcome, objectives, Utc::now());
    let mut tx = shared.store.begin().await?;
    record_drill(&mut tx, &db, &done, &who, kinds::DRILL_FINISHED, level, msg).await?;
    shared.store.commit(tx).await
}

/// The drill as an outcome finishes it, with the event's level and message. The tier's
/// objectives are recorded in its proof, so it is judged by those in force when it ran.
fn finished(
    drill: Drill,
    db_id: &str,
    outcome: Result<DrillOutcome, ExecError>,
    objectives: RecoveryObjectives,
    now: chrono::DateTime<Utc>,
) -> (Drill, Level, String) {
    let o = match outcome {
        Ok(o) => o,
        Err(e) => {
            let what = if e.timed_out { "timed out" } else { "failed" };
            let msg = format!("restore drill {} of {db_id} {what}: {e}", drill.id);
            let done = Drill {
                state: DrillState::Failed,
                finished_at: Some(now),
                output: fleetdeck_api::text::sanitize(&e.message).into_owned(),
                ..drill
            };
            return (done, Level::Error, msg);
        }
    };
    let ok = o.checksum_ok;
    let mut proof = o.proof;
    proof.rto_objective_s = objectives.rto.map(|d| d.as_secs_f64());
    proof.rpo_objective_s = objectives.rpo.map(|d| d.as_secs_f64());
    let done = Drill {
        state: if ok {
            DrillState::Succeeded
        } else {
            DrillState::Failed
        },
        finished_at: Some(now),
        backup_id: Some(o.backup_id),
        recovery_point: o.recovery_point,
        restore_seconds: Some(o.restore_seconds),
        checksum_ok: Some(ok),
        output: fleetdeck_api::text::sanitize(&o.output).into_owned(),
        proof: (proof != DrillProof::default()).then_some(proof),
        ..drill
    };
    let point = done.recovery_point.map_or("not reached".to_string(), |p| {
        p.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    });
    let failed: Vec<&str> = done
        .proof
        .iter()
        .flat_map(|p| &p.checks)
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    let verdict = match (ok, failed.is_empty()) {
        (true, _) => "succeeded".to_string(),
        (false, true) => "FAILED".to_string(),
        (false, false) => format!("FAILED ({} failed)", failed.join(", ")),
    };
    let mut msg = format!(
        "restore drill {} of {db_id}: {verdict} — backup {}, recovery point {point}, restored in {:.1}s, checksums {}",
        done.id,
        done.backup_id.as_deref().unwrap_or(""),
        o.restore_seconds,
        if ok { "match" } else { "do not match" }
    );
    let missed = done.missed_objectives();
    let level = if !ok {
        Level::Error
    } else if missed.is_empty() {
        Level::Info
    } else {
        msg.push_str(&format!("; {}", missed.join("; ")));
        Level::Warn
    };
    (done, level, msg)
}
