//! The write transaction: sqlx's transaction on the writer connection, plus the newest
//! event sequence number it holds, so neither the next append nor the commit's wake-up
//! of subscribers needs a `MAX(seq)` query.

use std::ops::{Deref, DerefMut};

use fleetdeck_api::Seq;
use sqlx::{Sqlite, SqliteConnection};

/// A write transaction, begun with [`super::Store::begin`] (or run in a group commit by
/// [`super::Store::write`]). It dereferences to the connection, so store functions take
/// `&mut **tx` as they would with sqlx's own transaction.
pub struct Tx {
    inner: sqlx::Transaction<'static, Sqlite>,
    /// The newest event in the file as this transaction sees it, once known: learned by
    /// the first [`super::events::append`], then advanced by each append.
    newest_seq: Option<Seq>,
}

/// Where a savepoint was taken: what to restore when rolling back to it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Savepoint {
    newest_seq: Option<Seq>,
}

impl Tx {
    pub(super) fn new(inner: sqlx::Transaction<'static, Sqlite>) -> Tx {
        Tx {
            inner,
            newest_seq: None,
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

    /// Abandons every change; what a dropped transaction does too, but reported.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }

    /// Commits; returns the newest event sequence number now durable, if this
    /// transaction appended any.
    pub(super) async fn commit(self) -> Result<Option<Seq>, sqlx::Error> {
        self.inner.commit().await?;
        Ok(self.newest_seq)
    }

    pub(super) async fn savepoint(&mut self) -> Result<Savepoint, sqlx::Error> {
        self.exec("SAVEPOINT action").await?;
        Ok(Savepoint {
            newest_seq: self.newest_seq,
        })
    }

    /// Keeps the changes since `savepoint` (they commit with the transaction).
    pub(super) async fn release(&mut self, _savepoint: Savepoint) -> Result<(), sqlx::Error> {
        self.exec("RELEASE action").await
    }

    /// Undoes the changes since `savepoint`, events included, so the next append reuses
    /// their sequence numbers and the log stays contiguous.
    pub(super) async fn rollback_to(&mut self, savepoint: Savepoint) -> Result<(), sqlx::Error> {
        self.exec("ROLLBACK TO action").await?;
        self.exec("RELEASE action").await?;
        self.newest_seq = savepoint.newest_seq;
        Ok(())
    }

    /// The group commit takes its savepoints one at a time, never nested, so one name
    /// (`action`) serves.
    async fn exec(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        sqlx::query(sql).execute(&mut **self).await?;
        Ok(())
    }
}

impl Deref for Tx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.inner
    }
}
