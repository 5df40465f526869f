//! Idempotency records: each `Idempotency-Key` with the response it produced.
//!
//! A record is written in the same transaction as the effect and its audit event, so a
//! retry after a crash either finds the record (and gets the first answer) or finds no
//! effect at all (and does the work once).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};

use super::{Tx, fmt_time};
use crate::DomainError;

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub user: String,
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
}

/// What identifies "the same request": who sent it, the method, the path and the body.
/// A JSON body is compared by value, so a retry that re-serialises it still matches.
pub fn fingerprint(user: &str, method: &str, path: &str, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok());
    let mut h = Sha256::new();
    for part in [user.as_bytes(), method.as_bytes(), path.as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update(canonical.as_deref().unwrap_or(body));
    hex::encode(h.finalize())
}

/// The record for `key`, if any (on the pool: a look that may be overtaken; the write
/// transaction's own look is [`super::Store::write_keyed`]'s).
pub async fn lookup<'e>(
    db: impl SqliteExecutor<'e>,
    key: &str,
) -> Result<Option<Record>, DomainError> {
    let row =
        sqlx::query("SELECT user_name, fingerprint, status, body FROM idempotency WHERE key = ?")
            .bind(key)
            .fetch_optional(db)
            .await?;
    row.as_ref().map(from_row).transpose().map(Option::flatten)
}

/// The record of the key bound to its `?`, as a row that is there even when the record
/// is not (its columns NULL), so that the look can travel with other statements in one
/// call to SQLite and be told apart from them. `{newest}` is an expression for the
/// row's first column.
pub(super) fn probe_sql(newest: &str) -> String {
    format!(
        "SELECT {newest} AS newest, i.user_name, i.fingerprint, i.status, i.body \
         FROM (SELECT 1) LEFT JOIN idempotency i ON i.key = ?"
    )
}

/// A record from a row of [`lookup`] or [`probe_sql`]; `None` for a probe that found
/// nothing.
pub(super) fn from_row(r: &SqliteRow) -> Result<Option<Record>, DomainError> {
    let Some(user) = r.try_get::<Option<String>, _>("user_name")? else {
        return Ok(None);
    };
    let status: i64 = r.try_get("status")?;
    Ok(Some(Record {
        user,
        fingerprint: r.try_get("fingerprint")?,
        status: u16::try_from(status)
            .map_err(|_| DomainError::Internal(format!("stored status {status}")))?,
        body: r.try_get("body")?,
    }))
}

/// Stores the response for `key` inside the transaction that made the effect. The
/// write is deferred (see [`Tx::defer`]): it goes with the action's release.
pub fn save(tx: &mut Tx<'_>, key: &str, record: &Record) {
    tx.defer(
        "INSERT INTO idempotency (key, user_name, fingerprint, status, body, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(key)
    .bind(record.user.as_str())
    .bind(record.fingerprint.as_str())
    .bind(i64::from(record.status))
    .bind(record.body.as_str())
    .bind(fmt_time(Utc::now()));
}

/// Forgets records created before `before`; returns how many.
pub async fn prune(tx: &mut Tx<'_>, before: DateTime<Utc>) -> Result<u64, DomainError> {
    let done = sqlx::query("DELETE FROM idempotency WHERE created_at < ?")
        .bind(fmt_time(before))
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}
