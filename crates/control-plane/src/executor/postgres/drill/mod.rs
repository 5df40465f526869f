//! The built-in restore drill of the postgres executor.
//!
//! A drill proves a backup restores: it writes a named restore point on the primary,
//! gets a backup into a scratch directory (`pg_basebackup` from the database, checked
//! with `pg_verifybackup`; or `pgbackrest restore` of a set, replayed from the WAL
//! archive to that restore point, with archiving off in the copy), starts the copy on a
//! free loopback port, waits until it is promoted, checks that recovery reached the
//! restore point, runs `pg_amcheck`, the team's SQL checks and, after a clean stop,
//! `pg_checksums`. Every step is a check by name in the evidence. The copy is always
//! stopped and its directory removed: see [`scratch`].
//!
//! A drill that restored but failed a check is a failed drill with its evidence; one
//! that could not run (no scratch directory, the primary unreachable) is an error that
//! says why.

use std::time::Instant;

use fleetdeck_api::{Database, DrillProof};

use crate::config::postgres::ResolvedConnection;
use crate::executor::{DrillOutcome, ExecError, LogSink};

mod checks;
pub mod config;
mod copy;
mod owner;
mod report;
mod restore;
pub mod scratch;
mod source;

pub use config::{BackupSource, DrillConfig, RawDrill};
pub use source::Endpoint;

use copy::Recovery;
use report::Report;
use restore::Backup;
use source::RestorePoint;

/// The servers a drill of one database talks to.
#[derive(Debug, Clone)]
pub struct DrillEndpoints {
    /// The database drilled: a base backup is taken from it, SQL checks compare to it.
    pub database: Endpoint,
    /// Its primary (itself when it is one): the restore point is written there.
    pub primary: Endpoint,
}

/// Removes what drills interrupted by a crash left in the scratch directory; call it
/// once as the executor starts. Returns what it removed.
pub fn clean_leftovers(cfg: &DrillConfig) -> Vec<String> {
    let removed = scratch::clean_leftovers(&cfg.scratch_root);
    for r in &removed {
        tracing::warn!(
            scratch = %cfg.scratch_root.display(),
            "restore drill interrupted by a crash: its copy was stopped and removed: {r}"
        );
    }
    removed
}

/// Runs one drill of `db`, reached with `conn` (its primary's connection comes from the
/// config), within the configured timeout; see [`run`].
pub async fn run_for(
    cfg: &DrillConfig,
    db: &Database,
    conn: &ResolvedConnection,
    log: LogSink,
) -> Result<DrillOutcome, ExecError> {
    let database = Endpoint::resolve(conn)?;
    let primary = match (&db.primary_id, cfg.primaries.get(&db.id)) {
        (None, _) => database.clone(),
        (Some(_), Some(p)) => Endpoint::resolve(p)?,
        (Some(p), None) => {
            return Err(ExecError::new(format!(
                "restore drill of {}: its primary {p} is not declared, and the drill's \
                 restore point is written there",
                db.id
            )));
        }
    };
    run(cfg, db, &DrillEndpoints { database, primary }, log).await
}

/// Runs one drill of `db`, within the configured timeout; whatever happens, its copy is
/// stopped and its directory removed before this returns (or when it is dropped).
pub async fn run(
    cfg: &DrillConfig,
    db: &Database,
    ends: &DrillEndpoints,
    log: LogSink,
) -> Result<DrillOutcome, ExecError> {
    match tokio::time::timeout(cfg.timeout, drill(cfg, db, ends, log)).await {
        Ok(r) => r,
        Err(_) => Err(ExecError::timeout(format!(
            "the restore drill ran past its {} s; its copy was stopped and its directory removed",
            cfg.timeout.as_secs()
        ))),
    }
}

async fn drill(
    cfg: &DrillConfig,
    db: &Database,
    ends: &DrillEndpoints,
    log: LogSink,
) -> Result<DrillOutcome, ExecError> {
    let began = Instant::now();
    let scratch = scratch::Scratch::create(&cfg.scratch_root, &db.id)?;
    let mut report = Report::new(log);
    report.info(format!(
        "drill of {} from {}: restoring into {} (copy on 127.0.0.1:{})",
        db.id,
        cfg.source.name(),
        scratch.dir().display(),
        scratch.port
    ));
    let name = format!("fleetdeck-drill-{:016x}", fastrand::u64(..));
    let point = source::write_restore_point(&ends.primary, &name).await?;
    report.info(format!(
        "wrote {} on {}",
        point.describe(),
        ends.primary.label()
    ));
    let mut proof = DrillProof {
        recovery_target: Some(point.describe()),
        ..DrillProof::default()
    };
    let backup = restore_backup(&mut report, cfg, &scratch, ends, &point, db).await;
    let mut recovery_point = None;
    if let Some(b) = &backup {
        proof.backup_label = Some(b.label.clone());
        recovery_point = verify_copy(&mut report, cfg, &scratch, ends, &point, &mut proof).await;
    }
    let restore_seconds = began.elapsed().as_secs_f64();
    drop(scratch);
    let passed = report.all_passed() && backup.is_some();
    report.info(format!(
        "drill {} in {restore_seconds:.1} s; copy stopped and removed",
        if passed { "passed" } else { "FAILED" }
    ));
    proof.checks = std::mem::take(&mut report.checks);
    Ok(DrillOutcome {
        backup_id: backup.map_or_else(|| "none".to_string(), |b| b.id),
        recovery_point,
        restore_seconds,
        checksum_ok: passed,
        output: report.output(),
        proof,
    })
}

/// Gets the backup into the scratch directory; `None` when that failed (a failed
/// check says why).
async fn restore_backup(
    report: &mut Report,
    cfg: &DrillConfig,
    scratch: &scratch::Scratch,
    ends: &DrillEndpoints,
    point: &RestorePoint,
    db: &Database,
) -> Option<Backup> {
    match &cfg.source {
        BackupSource::BaseBackup => {
            if ends.database.label() != ends.primary.label()
                && let Err(e) =
                    source::wait_replayed(&ends.database, point, cfg.archive_timeout).await
            {
                report.fail("restore point replicated", e.message);
                return None;
            }
            restore::base_backup(report, cfg, scratch, &ends.database, &point.name).await
        }
        BackupSource::PgBackRest { .. } => {
            match source::wait_archived(&ends.primary, point, cfg.archive_timeout).await {
                Ok(detail) => report.pass("WAL archived", detail),
                Err(why) => {
                    report.fail("WAL archived", why);
                    return None;
                }
            }
            restore::pgbackrest(report, cfg, scratch, point, db).await
        }
    }
}

/// Starts the copy and runs every check on it; returns the recovery point reached
/// (when it was), and fills the proof with where recovery ended.
async fn verify_copy(
    report: &mut Report,
    cfg: &DrillConfig,
    scratch: &scratch::Scratch,
    ends: &DrillEndpoints,
    point: &RestorePoint,
    proof: &mut DrillProof,
) -> Option<chrono::DateTime<chrono::Utc>> {
    const STARTED: &str = "started and promoted";
    let recovery = match cfg.source {
        BackupSource::BaseBackup => Recovery::BaseBackup,
        BackupSource::PgBackRest { .. } => Recovery::Written,
    };
    if let Err(why) = copy::configure(scratch, &recovery) {
        report.fail(STARTED, why);
        return None;
    }
    if let Err(why) = copy::start(report, cfg, scratch).await {
        report.fail(STARTED, why);
        return None;
    }
    let user = &ends.database.user;
    let first_db = &ends.database.database;
    let copy = match copy::Copy::open(scratch, user, first_db, cfg.timeout).await {
        Ok(c) => c,
        Err(why) => {
            report.fail(STARTED, why);
            return None;
        }
    };
    let mut conn = match copy.connect(first_db).await {
        Ok(c) => c,
        Err(why) => {
            report.fail(STARTED, why);
            return None;
        }
    };
    let reached = match copy::reached(&mut conn, cfg.timeout).await {
        Ok(r) => r,
        Err(why) => {
            report.fail(STARTED, why);
            return None;
        }
    };
    report.pass(
        STARTED,
        format!(
            "promoted to timeline {} on 127.0.0.1:{}",
            reached.timeline, scratch.port
        ),
    );
    proof.timeline = Some(reached.timeline);
    proof.recovery_lsn = reached.lsn.clone();
    proof.last_replay_at = reached.last_replay_at;
    let point_reached = recovery_point_check(report, &mut conn, scratch, point, &reached).await;
    drop(conn);
    checks::amcheck(report, cfg, &copy, first_db).await;
    checks::sql(report, &cfg.checks, &copy, &ends.database).await;
    match copy::stop(report, cfg, scratch).await {
        Ok(()) => checks::checksums(report, cfg, scratch, reached.data_checksums).await,
        Err(why) => report.fail(
            "pg_checksums",
            format!("the copy did not stop cleanly: {why}"),
        ),
    }
    // A copy that holds the restore point holds everything committed before it was
    // written; a later replayed commit moves the point on.
    point_reached.then(|| match reached.last_replay_at {
        Some(t) if t > point.written_at => t,
        _ => point.written_at,
    })
}

/// The check that the copy reached the restore point: recovery ended at or past its
/// LSN, and (replaying an archive to it by name) the server says it stopped there.
async fn recovery_point_check(
    report: &mut Report,
    conn: &mut sqlx::PgConnection,
    scratch: &scratch::Scratch,
    point: &RestorePoint,
    reached: &copy::Reached,
) -> bool {
    const NAME: &str = "recovery point";
    let Some(lsn) = &reached.lsn else {
        report.fail(NAME, format!("the copy did not switch timelines, so where recovery ended is unknown (timeline {})", reached.timeline));
        return false;
    };
    match copy::at_or_past(conn, lsn, &point.lsn).await {
        Ok(true) => {}
        Ok(false) => {
            report.fail(
                NAME,
                format!("recovery ended at {lsn}, before the {}", point.describe()),
            );
            return false;
        }
        Err(why) => {
            report.fail(NAME, why);
            return false;
        }
    }
    let log = std::fs::read_to_string(scratch.log_file()).unwrap_or_default();
    let stopped_at_name = format!("recovery stopping at restore point \"{}\"", point.name);
    let detail = if log.contains(&stopped_at_name) {
        format!(
            "stopped at the {}; recovery ended at {lsn}",
            point.describe()
        )
    } else {
        format!("recovery ended at {lsn}, past the {}", point.describe())
    };
    report.pass(NAME, detail);
    true
}
