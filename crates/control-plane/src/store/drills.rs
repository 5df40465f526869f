//! Restore drills and the evidence judged from them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fleetdeck_api::{Database, DatabaseDetail, Drill, DrillState, Evidence, Freshness};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::{fmt_time, parse_opt_time, parse_time};
use crate::DomainError;

const COLUMNS: &str = "id, database_id, state, requested_by, started_at, finished_at, backup_id, \
                       recovery_point, restore_seconds, checksum_ok, output";

fn state_str(s: DrillState) -> &'static str {
    match s {
        DrillState::Running => "running",
        DrillState::Succeeded => "succeeded",
        DrillState::Failed => "failed",
        DrillState::Unknown => "unknown",
    }
}

fn parse_state(s: &str) -> DrillState {
    match s {
        "running" => DrillState::Running,
        "succeeded" => DrillState::Succeeded,
        "failed" => DrillState::Failed,
        _ => DrillState::Unknown,
    }
}

fn from_row(row: &SqliteRow) -> Result<Drill, DomainError> {
    Ok(Drill {
        id: row.try_get("id")?,
        database_id: row.try_get("database_id")?,
        state: parse_state(&row.try_get::<String, _>("state")?),
        requested_by: row.try_get("requested_by")?,
        started_at: parse_time(&row.try_get::<String, _>("started_at")?)?,
        finished_at: parse_opt_time(row.try_get("finished_at")?)?,
        backup_id: row.try_get("backup_id")?,
        recovery_point: parse_opt_time(row.try_get("recovery_point")?)?,
        restore_seconds: row.try_get("restore_seconds")?,
        checksum_ok: row.try_get::<Option<bool>, _>("checksum_ok")?,
        output: row.try_get("output")?,
    })
}

/// Writes a drill as given (insert or full update).
pub async fn insert(conn: &mut SqliteConnection, d: &Drill) -> Result<(), DomainError> {
    let sql = format!(
        "INSERT OR REPLACE INTO drills ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&d.id)
        .bind(&d.database_id)
        .bind(state_str(d.state))
        .bind(&d.requested_by)
        .bind(fmt_time(d.started_at))
        .bind(d.finished_at.map(fmt_time))
        .bind(&d.backup_id)
        .bind(d.recovery_point.map(fmt_time))
        .bind(d.restore_seconds)
        .bind(d.checksum_ok)
        .bind(&d.output)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut SqliteConnection, id: &str) -> Result<Option<Drill>, DomainError> {
    let sql = format!("SELECT {COLUMNS} FROM drills WHERE id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every drill still running, oldest first.
pub async fn running(conn: &mut SqliteConnection) -> Result<Vec<Drill>, DomainError> {
    let sql =
        format!("SELECT {COLUMNS} FROM drills WHERE state = 'running' ORDER BY started_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The newest drill per database among those matching `filter` (an SQL condition).
async fn newest_per_database(
    conn: &mut SqliteConnection,
    filter: &str,
    database_id: Option<&str>,
) -> Result<HashMap<String, Drill>, DomainError> {
    let by_db = if database_id.is_some() {
        "AND database_id = ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER \
         (PARTITION BY database_id ORDER BY started_at DESC, id DESC) AS rn \
         FROM drills WHERE {filter} {by_db}) WHERE rn = 1"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    if let Some(id) = database_id {
        q = q.bind(id);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| from_row(r).map(|d| (d.database_id.clone(), d)))
        .collect()
}

/// Judges the evidence of `dbs` (all of them, or the one in `only`).
async fn evidence_for(
    conn: &mut SqliteConnection,
    dbs: &[Database],
    only: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<Evidence>, DomainError> {
    let mut latest = newest_per_database(conn, "1 = 1", only).await?;
    let mut finished = newest_per_database(conn, "state <> 'running'", only).await?;
    let mut good = newest_per_database(conn, "state = 'succeeded'", only).await?;
    Ok(dbs
        .iter()
        .map(|db| {
            let last_good = good.remove(&db.id);
            let last_good_at = last_good
                .as_ref()
                .map(|d| d.finished_at.unwrap_or(d.started_at));
            let latest_finished = finished.remove(&db.id);
            Evidence {
                database_id: db.id.clone(),
                freshness: Freshness::judge(
                    latest_finished.as_ref(),
                    last_good_at,
                    db.drill_interval_days,
                    now,
                ),
                interval_days: db.drill_interval_days,
                last_good_at,
                latest: latest.remove(&db.id),
                last_good,
                judged_at: now,
            }
        })
        .collect())
}

/// Evidence for every database, in inventory order.
pub async fn list_evidence(
    pool: &SqlitePool,
    now: DateTime<Utc>,
) -> Result<Vec<Evidence>, DomainError> {
    let mut conn = pool.acquire().await?;
    all_evidence(&mut conn, now).await
}

pub async fn all_evidence(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> Result<Vec<Evidence>, DomainError> {
    let dbs = super::fleet::all(conn).await?;
    evidence_for(conn, &dbs, None, now).await
}

/// Evidence of one database.
pub async fn evidence(
    conn: &mut SqliteConnection,
    db: &Database,
    now: DateTime<Utc>,
) -> Result<Evidence, DomainError> {
    let mut ev = evidence_for(conn, std::slice::from_ref(db), Some(&db.id), now).await?;
    ev.pop()
        .ok_or_else(|| DomainError::Internal(format!("no evidence computed for {}", db.id)))
}

/// How many drills of a database's history a detail shows.
const DETAIL_DRILLS: i64 = 50;

/// One database with its evidence and recent drills, newest first.
pub async fn database_detail(
    pool: &SqlitePool,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<DatabaseDetail>, DomainError> {
    let mut conn = pool.acquire().await?;
    let Some(database) = super::fleet::get(&mut conn, id).await? else {
        return Ok(None);
    };
    let evidence = evidence(&mut conn, &database, now).await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM drills WHERE database_id = ? ORDER BY started_at DESC, id DESC LIMIT ?"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(DETAIL_DRILLS)
        .fetch_all(&mut *conn)
        .await?;
    let drills = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok(Some(DatabaseDetail {
        database,
        evidence,
        drills,
    }))
}
