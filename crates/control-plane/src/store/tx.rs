//! The write transaction: sqlx's transaction on the writer connection, plus the newest
//! event sequence number it holds, so neither the next append nor the commit's wake-up
//! of subscribers needs a `MAX(seq)` query, plus the writes deferred to go to SQLite
//! together.
//!
//! Why defer: sqlx runs SQLite on a thread of its own, so every statement sent alone
//! costs two thread hand-offs, more CPU than most statements themselves. An action's
//! last writes (its decision, its events, its idempotency record) depend on nothing
//! read after them, so they are queued with [`Tx::defer`] and sent in one call with the
//! savepoint's release (docs/performance.md, 8a).

use std::ops::{Deref, DerefMut};

use fleetdeck_api::Seq;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Encode, Row, Sqlite, SqliteConnection, Type};

use super::idempotency::{self, Record};
use crate::DomainError;

/// A write transaction, begun with [`super::Store::begin`] (or run in a group commit by
/// [`super::Store::write`]). It dereferences to the connection, so store functions take
/// `&mut **tx` as they would with sqlx's own transaction.
pub struct Tx<'c> {
    inner: sqlx::Transaction<'c, Sqlite>,
    /// The newest event in the file as this transaction sees it, once known: learned by
    /// the first [`super::events::append`], then advanced by each append.
    newest_seq: Option<Seq>,
    deferred: Deferred,
}

/// Writes queued by [`Tx::defer`], not yet sent.
#[derive(Default)]
struct Deferred {
    sql: String,
    args: SqliteArguments,
    /// A value that could not be encoded: reported by the next send, which then sends
    /// nothing.
    error: Option<BoxDynError>,
}

/// A deferred statement taking its values, in the order of its `?`s.
pub struct Deferring<'t> {
    deferred: &'t mut Deferred,
}

impl Deferring<'_> {
    pub fn bind<'q, T>(self, value: T) -> Self
    where
        T: Encode<'q, Sqlite> + Type<Sqlite> + 'q,
    {
        if self.deferred.error.is_none()
            && let Err(e) = self.deferred.args.add(value)
        {
            self.deferred.error = Some(e);
        }
        self
    }
}

/// Where a savepoint was taken: what to restore when rolling back to it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Savepoint {
    newest_seq: Option<Seq>,
}

/// An action's savepoint, just taken, and the record stored for its idempotency key.
pub(super) struct Opened {
    pub savepoint: Savepoint,
    pub stored: Option<Record>,
}

impl<'c> Tx<'c> {
    pub(super) fn new(inner: sqlx::Transaction<'c, Sqlite>) -> Tx<'c> {
        Tx {
            inner,
            newest_seq: None,
            deferred: Deferred::default(),
        }
    }

    /// The newest event sequence number this transaction knows of, if it appended one.
    pub(super) fn newest_seq(&self) -> Option<Seq> {
        self.newest_seq
    }

    /// Records that `seq` was appended in this transaction.
    pub(super) fn appended(&mut self, seq: Seq) {
        self.newest_seq = Some(seq);
    }

    /// Queues a write (one statement, no rows) to be sent with the next
    /// [`Tx::flush`], release or commit. Until then nothing may read or write through
    /// the connection (the deref panics): it would not see this write.
    pub(super) fn defer(&mut self, sql: &str) -> Deferring<'_> {
        if !self.deferred.sql.is_empty() {
            self.deferred.sql.push_str(";\n");
        }
        self.deferred.sql.push_str(sql);
        Deferring {
            deferred: &mut self.deferred,
        }
    }

    /// Sends the deferred writes, with `then` after them, in one call; the rows any of
    /// them returned.
    async fn send(&mut self, then: Option<&str>) -> Result<Vec<SqliteRow>, sqlx::Error> {
        let Deferred {
            mut sql,
            args,
            error,
        } = std::mem::take(&mut self.deferred);
        if let Some(e) = error {
            return Err(sqlx::Error::Encode(e));
        }
        if let Some(then) = then {
            if !sql.is_empty() {
                sql.push_str(";\n");
            }
            sql.push_str(then);
        }
        if sql.is_empty() {
            return Ok(Vec::new());
        }
        // `fetch_all`, not `fetch_optional`: sqlx stops a call at its first row when
        // asked for one, and the statements after it would never run.
        sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
            .fetch_all(&mut *self.inner)
            .await
    }

    /// Sends the deferred writes now.
    pub(super) async fn flush(&mut self) -> Result<(), sqlx::Error> {
        self.send(None).await.map(drop)
    }

    /// Abandons every change; what a dropped transaction does too, but reported.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }

    /// Commits, deferred writes included; returns the newest event sequence number now
    /// durable, if this transaction appended any.
    pub(super) async fn commit(mut self) -> Result<Option<Seq>, sqlx::Error> {
        self.flush().await?;
        self.inner.commit().await?;
        Ok(self.newest_seq)
    }

    /// Takes the savepoint an action runs in and looks up its idempotency key (if it
    /// has one) in the same call; the first of a transaction also learns the newest
    /// event sequence number there, so no append inside needs a query of its own.
    pub(super) async fn open_action(&mut self, key: Option<&str>) -> Result<Opened, DomainError> {
        let newest = match self.newest_seq {
            Some(_) => "NULL",
            None => super::events::LAST_SEQ_EXPR,
        };
        self.defer("SAVEPOINT action");
        self.defer(&idempotency::probe_sql(newest)).bind(key);
        let rows = self.send(None).await?;
        self.opened(&rows)
    }

    /// Keeps the changes since `savepoint` (they commit with the transaction): the
    /// deferred writes are sent with the release. With `next` (`Some(its key)`), the
    /// next action's savepoint is taken and its key looked up in the same call.
    ///
    /// On an error the savepoint is still open, unless it was the next savepoint that
    /// failed, in which case rolling back to it fails too (and the batch is abandoned).
    pub(super) async fn release(
        &mut self,
        _savepoint: Savepoint,
        next: Option<Option<&str>>,
    ) -> Result<Option<Opened>, DomainError> {
        let Some(key) = next else {
            self.send(Some("RELEASE action")).await?;
            return Ok(None);
        };
        // The look before the release, so that whatever fails before the release leaves
        // this action's savepoint open.
        self.defer(&idempotency::probe_sql("NULL")).bind(key);
        let rows = self.send(Some("RELEASE action; SAVEPOINT action")).await?;
        self.opened(&rows).map(Some)
    }

    /// The savepoint just taken, from the one row its probe returned.
    fn opened(&mut self, rows: &[SqliteRow]) -> Result<Opened, DomainError> {
        let [row] = rows else {
            return Err(DomainError::Internal(format!(
                "store: an action's savepoint answered {} rows, not one",
                rows.len()
            )));
        };
        if let Some(newest) = row.try_get::<Option<i64>, _>("newest")? {
            self.newest_seq = Some(super::to_u64(newest, "event seq")?);
        }
        Ok(Opened {
            savepoint: Savepoint {
                newest_seq: self.newest_seq,
            },
            stored: idempotency::from_row(row)?,
        })
    }

    /// Undoes the changes since `savepoint`, events included, so the next append reuses
    /// their sequence numbers and the log stays contiguous. Deferred writes not yet sent
    /// are dropped.
    pub(super) async fn rollback_to(&mut self, savepoint: Savepoint) -> Result<(), sqlx::Error> {
        self.deferred = Deferred::default();
        self.exec("ROLLBACK TO action; RELEASE action").await?;
        self.newest_seq = savepoint.newest_seq;
        Ok(())
    }

    /// The group commit takes its savepoints one at a time, never nested, so one name
    /// (`action`) serves.
    async fn exec(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        sqlx::query(sql).execute(&mut *self.inner).await?;
        Ok(())
    }
}

impl Deref for Tx<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.inner
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        // Reading past a deferred write would miss it; a panic here is an action
        // failing as a bug (caught, its savepoint rolled back), never a wrong answer.
        assert!(
            self.deferred.sql.is_empty(),
            "the transaction was used with writes still deferred; flush them first"
        );
        &mut self.inner
    }
}
