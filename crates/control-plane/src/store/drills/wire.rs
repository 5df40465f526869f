//! The fleet's evidence written straight as wire JSON, for `GET /v1/snapshot`.
//!
//! The struct path ([`super::for_each_evidence`]) reads two whole drills per database,
//! 25 columns a row; sqlx copies each value on its worker thread (an allocation each),
//! then each drill is parsed (every time with chrono) into a [`Drill`] only to be
//! serialised again. Here SQLite builds each drill's JSON object itself, so a row is a
//! few values, and Rust judges only the freshness from the few columns that needs.
//! What a client decodes is the same [`Evidence`] (tested against the struct path).

use chrono::{DateTime, Utc};
use fleetdeck_api::{Drill, Evidence, Freshness};
use futures_util::TryStreamExt;
use sqlx::{Row, SqliteConnection};

use super::{FINISHED, GOOD, newest, parse_state, stored_interval};
use crate::DomainError;
use crate::store::parse_time;

/// The wire JSON of table alias `t`'s drill, without its output (as fleet-wide
/// evidence sends it) and without `restore_seconds`, which Rust adds (see
/// [`DrillText`]).
///
/// Times are the stored RFC 3339 text (microseconds, `Z`): the same instants the struct
/// path writes.
fn drill_json(t: &str) -> String {
    #[allow(dead_code)]
    fn every_field_is_written(d: Drill) {
        let Drill {
            id: _,
            database_id: _,
            state: _,
            requested_by: _,
            started_at: _,
            finished_at: _,
            backup_id: _,
            recovery_point: _,
            restore_seconds: _,
            checksum_ok: _,
            output: _, // left out: see `Drill::output`
            proof: _,  // without its checks, as `Drill::output`
        } = d;
    }
    format!(
        "json_object('id', {t}.id, 'database_id', {t}.database_id, 'state', {t}.state, \
         'requested_by', {t}.requested_by, 'started_at', {t}.started_at, \
         'finished_at', {t}.finished_at, 'backup_id', {t}.backup_id, \
         'recovery_point', {t}.recovery_point, 'checksum_ok', \
         CASE WHEN {t}.checksum_ok IS NULL THEN NULL \
         WHEN {t}.checksum_ok THEN json('true') ELSE json('false') END, \
         'proof', json({t}.proof))"
    )
}

/// One row per database, in inventory order: id, newest finished state, the newest
/// drill (`l`) as JSON and its restore seconds, the newest good drill (`g`) the same
/// way, the stored time the good one counts from, whether `g` is `l`, and the
/// database's stored document (which also gives the drill interval, see [`Interval`]).
///
/// Most databases' newest drill is finished, and good: then it is also the newest
/// finished and the newest good drill, so neither is looked up again, and a good drill
/// that is the newest is not built twice (its JSON is NULL; Rust repeats the newest).
fn evidence_json_sql() -> String {
    format!(
        "SELECT d.id, \
         CASE WHEN l.state <> 'running' THEN l.state ELSE {finished} END, \
         CASE WHEN l.id IS NOT NULL THEN {latest} END, l.restore_seconds, \
         CASE WHEN g.id IS NOT NULL AND g.rowid <> l.rowid THEN {good} END, g.restore_seconds, \
         coalesce(g.finished_at, g.started_at), g.rowid = l.rowid, d.doc \
         FROM databases d LEFT JOIN drills l ON l.rowid = {newest} \
         LEFT JOIN drills g ON g.rowid = \
         CASE WHEN l.state = 'succeeded' THEN l.rowid ELSE {newest_good} END \
         ORDER BY d.ring, d.id",
        finished = newest("state", FINISHED),
        latest = drill_json("l"),
        good = drill_json("g"),
        newest = newest("rowid", ""),
        newest_good = newest("rowid", GOOD),
    )
}

/// A drill's JSON object from SQLite and the `restore_seconds` it lacks: serde_json
/// writes the number (the shortest text that reads back as the same `f64`, null for
/// infinity) where SQLite's JSON keeps 15 digits, which does not always read back.
#[derive(Debug, Clone, Copy)]
struct DrillText<'r> {
    json: &'r str,
    restore_seconds: Option<f64>,
}

impl DrillText<'_> {
    fn write_to(&self, out: &mut Vec<u8>) -> Result<(), DomainError> {
        // `json_object` output: one object, so it ends with its closing brace.
        let open = self.json.strip_suffix('}').ok_or_else(|| {
            DomainError::Internal(format!(
                "drill JSON from the store is not an object: {}",
                self.json
            ))
        })?;
        out.extend_from_slice(open.as_bytes());
        out.extend_from_slice(b",\"restore_seconds\":");
        serde_json::to_writer(&mut *out, &self.restore_seconds)?;
        out.push(b'}');
        Ok(())
    }
}

/// A database's drill interval, read from its document in Rust: the row carries the
/// document anyway, and skimming it here costs less than SQLite's `json_extract`, which
/// parses it whole into its binary form first.
#[derive(serde::Deserialize)]
struct Interval {
    drill_interval_days: Option<i64>,
}

impl Interval {
    fn of(database_id: &str, doc: &str) -> Result<u32, DomainError> {
        let days = serde_json::from_str::<Interval>(doc)
            .ok()
            .and_then(|i| i.drill_interval_days);
        stored_interval(database_id, days)
    }
}

/// One database's evidence, judged, with its drills as JSON text from SQLite.
#[derive(Debug)]
pub struct EvidenceJson<'r> {
    database_id: &'r str,
    freshness: Freshness,
    interval_days: u32,
    last_good_at: Option<DateTime<Utc>>,
    latest: Option<DrillText<'r>>,
    last_good: Option<DrillText<'r>>,
    /// `judged_at`, already JSON: the same for every database.
    judged_at: &'r str,
}

impl EvidenceJson<'_> {
    /// Appends this evidence as one JSON object: exactly the fields of [`Evidence`].
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), DomainError> {
        #[allow(dead_code)]
        fn every_field_is_written(e: Evidence) {
            let Evidence {
                database_id: _,
                freshness: _,
                interval_days: _,
                last_good_at: _,
                latest: _,
                last_good: _,
                judged_at: _,
            } = e;
        }
        out.extend_from_slice(b"{\"database_id\":");
        serde_json::to_writer(&mut *out, self.database_id)?;
        out.extend_from_slice(b",\"freshness\":");
        serde_json::to_writer(&mut *out, &self.freshness)?;
        out.extend_from_slice(b",\"interval_days\":");
        serde_json::to_writer(&mut *out, &self.interval_days)?;
        out.extend_from_slice(b",\"last_good_at\":");
        serde_json::to_writer(&mut *out, &self.last_good_at)?;
        for (name, drill) in [("latest", self.latest), ("last_good", self.last_good)] {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            match drill {
                Some(drill) => drill.write_to(out)?,
                None => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(b",\"judged_at\":");
        out.extend_from_slice(self.judged_at.as_bytes());
        out.push(b'}');
        Ok(())
    }
}

/// Hands every database, in inventory order, to `each` as the rows arrive: its stored
/// document, which is the wire [`fleetdeck_api::Database`] (see
/// [`crate::store::fleet`]'s `write`), and its evidence as wire JSON, without drill
/// output (see the module's comment). One pass for both: a row handed from SQLite's
/// thread costs more than its columns.
pub async fn for_each_database_json(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    mut each: impl FnMut(&str, &EvidenceJson<'_>) -> Result<(), DomainError>,
) -> Result<(), DomainError> {
    let judged_at = serde_json::to_string(&now)?;
    let sql = evidence_json_sql();
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let database_id: &str = row.try_get(0)?;
        let doc: &str = row.try_get(8)?;
        let interval_days = Interval::of(database_id, doc)?;
        let finished: Option<&str> = row.try_get(1)?;
        let last_good_at = row
            .try_get::<Option<&str>, _>(6)?
            .map(parse_time)
            .transpose()?;
        let drill_at = |json: usize| -> Result<Option<DrillText<'_>>, DomainError> {
            let Some(text) = row.try_get::<Option<&str>, _>(json)? else {
                return Ok(None);
            };
            Ok(Some(DrillText {
                json: text,
                restore_seconds: row.try_get(json + 1)?,
            }))
        };
        let latest = drill_at(2)?;
        let last_good = match row.try_get::<Option<bool>, _>(7)? {
            Some(true) => latest,
            _ => drill_at(4)?,
        };
        let evidence = EvidenceJson {
            database_id,
            freshness: Freshness::judge_state(
                finished.map(parse_state),
                last_good_at,
                interval_days,
                now,
            ),
            interval_days,
            last_good_at,
            latest,
            last_good,
            judged_at: &judged_at,
        };
        each(doc, &evidence)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
