//! The restore-drill scheduler: keeps evidence fresh by drilling the stalest databases
//! first, a bounded number at a time, and runs every queued drill (scheduled or asked
//! for by a person). A shutdown stops a running drill at once and records it as
//! interrupted; a drill left running by a stopped control plane (interrupted, killed or
//! crashed) is run again from the beginning, said at the next start: a restore into an
//! isolated place changes nothing, so repeating it is safe, and it cannot continue
//! halfway.

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
use crate::store::{Store, drills, fleet};

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
    let max = shared.settings.max_concurrent_drills;
    for (_, ev) in candidates.into_iter().take(room) {
        let mut tx = shared.store.begin().await?;
        // The evidence and the running drills were read before this transaction: a
        // drill an operator started since (or a finished one's successor) is seen here,
        // so a database never has two drills running and the limit holds.
        let now_running = drills::running(&mut tx).await?;
        if now_running.len() >= max {
            break;
        }
        if now_running.iter().any(|d| d.database_id == ev.database_id) {
            continue;
        }
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
    // One read transaction: the drill and its database at one moment.
    let (drill, db) = {
        let mut tx = shared.store.pool().begin().await?;
        let Some(drill) = drills::get(&mut tx, drill_id).await? else {
            return Ok(());
        };
        let db = fleet::get(&mut tx, &drill.database_id).await?;
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
    let restore = with_log(shared, &to, |log| ex.restore_drill(&db, log));
    // A restore can take an hour: a shutdown does not wait for it (the executor's work
    // is dropped; a command's process group is killed).
    let outcome = tokio::select! {
        outcome = restore => outcome,
        () = shared.shutting_down() => return interrupted(shared, &db, drill, &who).await,
    };
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

/// Why a shutdown stops a drill.
const SHUTDOWN: &str = "the control plane was shutting down";

/// Records a drill stopped by a shutdown. It stays `running` (it is owed, and the next
/// start runs it again); its output says when and why it stopped.
async fn interrupted(
    shared: &Shared,
    db: &fleetdeck_api::Database,
    drill: Drill,
    who: &Actor,
) -> Result<(), DomainError> {
    let now = Utc::now();
    let note = format!(
        "interrupted at {} after {} s: {SHUTDOWN}",
        now.format("%Y-%m-%d %H:%M:%S UTC"),
        (now - drill.started_at).num_seconds().max(0)
    );
    let msg = format!(
        "restore drill {} of {} {note}; the next start runs it again from the beginning",
        drill.id, db.id
    );
    let stopped = Drill {
        output: note,
        ..drill
    };
    let mut tx = shared.store.begin().await?;
    record_drill(
        &mut tx,
        db,
        &stopped,
        who,
        kinds::DRILL_INTERRUPTED,
        Level::Warn,
        msg,
    )
    .await?;
    shared.store.commit(tx).await
}

/// At start, before the engine runs: says of every drill the previous control plane left
/// running that it runs again from the beginning, and why it had stopped (the
/// interruption its output records, or nothing: killed or crashed). Returns how many.
pub(crate) async fn note_unfinished(store: &Store) -> Result<usize, DomainError> {
    let mut tx = store.begin().await?;
    let running = drills::running(&mut tx).await?;
    let mut noted = 0;
    for drill in running {
        let Some(db) = fleet::get(&mut tx, &drill.database_id).await? else {
            continue;
        };
        let (level, why) = if drill.output.is_empty() {
            (
                Level::Warn,
                format!(
                    "the control plane running it since {} stopped without recording why (killed or crashed)",
                    drill.started_at.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            )
        } else {
            (Level::Info, format!("it was {}", drill.output))
        };
        let msg = format!(
            "restore drill {} of {} runs again from the beginning (a restore cannot continue halfway): {why}",
            drill.id, db.id
        );
        // Cleared, so that a later stop of this run is told apart.
        let again = Drill {
            output: String::new(),
            ..drill
        };
        let who = Actor::new("scheduler", Some(again.id.clone()));
        record_drill(&mut tx, &db, &again, &who, kinds::DRILL_RESUMED, level, msg).await?;
        noted += 1;
    }
    if noted == 0 {
        tx.rollback().await?;
        return Ok(0);
    }
    store.commit(tx).await?;
    Ok(noted)
}
