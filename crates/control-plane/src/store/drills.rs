//! Restore drills and the evidence judged from them.

use chrono::{DateTime, Utc};
use fleetdeck_api::{Database, DatabaseDetail, Drill, DrillState, Evidence, Freshness};
use futures_util::TryStreamExt;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::{fmt_time, parse_opt_time, parse_time};
use crate::DomainError;

mod proof;
mod wire;
pub use wire::{EvidenceJson, for_each_database_json};

const COLUMNS: &str = "id, database_id, state, requested_by, started_at, finished_at, backup_id, \
                       recovery_point, restore_seconds, checksum_ok, proof, checks, output";

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
    from_cols(row, 0)
}

/// A drill from [`COLUMNS`] starting at column `base` (queries that read several drills
/// per row place them side by side).
fn from_cols(row: &SqliteRow, base: usize) -> Result<Drill, DomainError> {
    Ok(Drill {
        id: row.try_get(base)?,
        database_id: row.try_get(base + 1)?,
        state: parse_state(&row.try_get::<String, _>(base + 2)?),
        requested_by: row.try_get(base + 3)?,
        started_at: parse_time(&row.try_get::<String, _>(base + 4)?)?,
        finished_at: parse_opt_time(row.try_get(base + 5)?)?,
        backup_id: row.try_get(base + 6)?,
        recovery_point: parse_opt_time(row.try_get(base + 7)?)?,
        restore_seconds: row.try_get(base + 8)?,
        checksum_ok: row.try_get::<Option<bool>, _>(base + 9)?,
        proof: proof::read(row.try_get(base + 10)?, row.try_get(base + 11)?)?,
        output: row.try_get(base + 12)?,
    })
}

/// Writes a drill as given (insert or full update).
pub async fn insert(conn: &mut SqliteConnection, d: &Drill) -> Result<(), DomainError> {
    let sql = format!(
        "INSERT OR REPLACE INTO drills ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    );
    let (proof, checks) = proof::write(d.proof.as_ref())?;
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
        .bind(proof)
        .bind(checks)
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

/// Whether the drills of evidence carry their output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillOutput {
    /// As stored: the evidence of one database (its detail, its drill events).
    Included,
    /// Left empty: fleet-wide evidence, whose drill logs would dwarf the rest
    /// (`fleetdeck_api::Drill::output` says where to read them).
    Omitted,
}

/// The [`COLUMNS`] of table alias `t`, with the checks and the output as stored or
/// left out (NULL checks, empty output).
fn columns_of(t: &str, output: DrillOutput) -> String {
    COLUMNS
        .split(',')
        .map(|c| match (c.trim(), output) {
            ("checks", DrillOutput::Omitted) => "NULL".to_string(),
            ("output", DrillOutput::Omitted) => "''".to_string(),
            (c, _) => format!("{t}.{c}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `column` (the state, or the rowid to join on) of the database `d`'s newest drill
/// matching `filter`: newest started, ties broken by id. One short backward walk of
/// the `drills_newest` index, which holds all of these.
fn newest(column: &str, filter: &str) -> String {
    format!(
        "(SELECT {column} FROM drills WHERE database_id = d.id {filter} \
         ORDER BY started_at DESC, id DESC LIMIT 1)"
    )
}

/// Where the databases of an evidence query come from.
enum Source {
    /// Every database, in inventory order (ring, then id).
    Fleet,
    /// The one bound as the first parameter, stored or not.
    One,
}

/// One row per database: its id, its stored drill interval (NULL for [`Source::One`]),
/// the state of its newest finished drill, then its newest drill and its newest good
/// drill as [`COLUMNS`] each (all NULL when there is none).
fn evidence_sql(source: Source, output: DrillOutput) -> String {
    let (from, order) = match source {
        Source::Fleet => ("databases d", "ORDER BY d.ring, d.id"),
        Source::One => ("(SELECT ? AS id, NULL AS doc) d", ""),
    };
    format!(
        "SELECT d.id, {INTERVAL}, {finished}, {latest}, \
         {good} FROM {from} LEFT JOIN drills l ON l.rowid = {newest} \
         LEFT JOIN drills g ON g.rowid = {newest_good} {order}",
        finished = newest("state", FINISHED),
        latest = columns_of("l", output),
        good = columns_of("g", output),
        newest = newest("rowid", ""),
        newest_good = newest("rowid", GOOD),
    )
}

/// A database's drill interval, from its stored document.
const INTERVAL: &str = "json_extract(d.doc, '$.drill_interval_days')";
/// [`newest`] filters: a finished drill, a good drill.
const FINISHED: &str = "AND state <> 'running'";
const GOOD: &str = "AND state = 'succeeded'";

/// How many [`COLUMNS`] a drill has.
const DRILL_COLUMNS: usize = 13;
/// Column of the latest drill in an evidence row; the last good one follows it.
const LATEST_AT: usize = 3;
const GOOD_AT: usize = LATEST_AT + DRILL_COLUMNS;

/// The drill interval read from a database's stored document.
fn stored_interval(database_id: &str, days: Option<i64>) -> Result<u32, DomainError> {
    days.and_then(|d| u32::try_from(d).ok()).ok_or_else(|| {
        DomainError::Internal(format!(
            "database {database_id}: stored drill interval is missing or out of range"
        ))
    })
}

/// Judges one evidence row (see [`evidence_sql`]); `interval_days` overrides the stored
/// interval (the caller holds the database).
fn evidence_from_row(
    row: &SqliteRow,
    interval_days: Option<u32>,
    now: DateTime<Utc>,
) -> Result<Evidence, DomainError> {
    let database_id: String = row.try_get(0)?;
    let interval_days = match interval_days {
        Some(days) => days,
        None => stored_interval(&database_id, row.try_get(1)?)?,
    };
    let finished: Option<String> = row.try_get(2)?;
    let drill_at = |base: usize| -> Result<Option<Drill>, DomainError> {
        match row.try_get::<Option<String>, _>(base)? {
            Some(_) => from_cols(row, base).map(Some),
            None => Ok(None),
        }
    };
    let latest = drill_at(LATEST_AT)?;
    let last_good = drill_at(GOOD_AT)?;
    let last_good_at = last_good
        .as_ref()
        .map(|d| d.finished_at.unwrap_or(d.started_at));
    Ok(Evidence {
        freshness: Freshness::judge_state(
            finished.as_deref().map(parse_state),
            last_good_at,
            interval_days,
            now,
        ),
        database_id,
        interval_days,
        last_good_at,
        latest,
        last_good,
        judged_at: now,
    })
}

/// Hands the evidence of every database, in inventory order and without drill output,
/// to `each` as the rows arrive: the fleet's evidence is never held whole.
pub async fn for_each_evidence(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    mut each: impl FnMut(Evidence) -> Result<(), DomainError>,
) -> Result<(), DomainError> {
    let sql = evidence_sql(Source::Fleet, DrillOutput::Omitted);
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        each(evidence_from_row(&row, None, now)?)?;
    }
    Ok(())
}

/// Evidence for every database, in inventory order, drills without their output.
pub async fn list_evidence(
    pool: &SqlitePool,
    now: DateTime<Utc>,
) -> Result<Vec<Evidence>, DomainError> {
    let mut conn = pool.acquire().await?;
    all_evidence(&mut conn, now).await
}

/// [`list_evidence`] on a given connection (inside a transaction).
pub async fn all_evidence(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> Result<Vec<Evidence>, DomainError> {
    let mut out = Vec::new();
    for_each_evidence(conn, now, |e| {
        out.push(e);
        Ok(())
    })
    .await?;
    Ok(out)
}

/// Evidence of one database, its drills with their output.
pub async fn evidence(
    conn: &mut SqliteConnection,
    db: &Database,
    now: DateTime<Utc>,
) -> Result<Evidence, DomainError> {
    let sql = evidence_sql(Source::One, DrillOutput::Included);
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&db.id)
        .fetch_one(&mut *conn)
        .await?;
    evidence_from_row(&row, Some(db.drill_interval_days), now)
}

/// How many drills of a database's history a detail shows.
const DETAIL_DRILLS: i64 = 50;

/// One database with its evidence and recent drills, newest first.
pub async fn database_detail(
    pool: &SqlitePool,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<DatabaseDetail>, DomainError> {
    // One read transaction: the database, its evidence and its drills as of one moment.
    let mut conn = pool.begin().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_rows_place_two_whole_drills_after_three_columns() {
        assert_eq!(COLUMNS.split(',').count(), DRILL_COLUMNS);
        assert!(columns_of("l", DrillOutput::Included).ends_with("l.output"));
        assert!(columns_of("g", DrillOutput::Omitted).ends_with("g.proof, NULL, ''"));
    }
}
