//! The durable store: one SQLite file in WAL mode.
//!
//! Every change is written in one write transaction together with the event that
//! describes it ([`events::append`]), so the state tables, the execution log and the audit
//! trail can never disagree. Writers are serialised (`BEGIN IMMEDIATE`); readers use the
//! pool and see a consistent snapshot per transaction. After each commit the store wakes
//! its subscribers (the SSE streams, the workflow engine) with the newest event sequence.
//! Mutating API actions are written through [`Store::write`], which commits the actions
//! waiting for the writer together (see [`group`]).

pub mod approvals;
pub mod campaigns;
mod checkpoint;
pub mod drills;
pub mod events;
pub mod fleet;
pub mod group;
pub mod history;
pub mod idempotency;
pub mod lock;
mod migrate;
mod tx;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use fleetdeck_api::Seq;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::watch;

use crate::DomainError;
pub use group::WriteFuture;
pub use tx::Tx;

/// How long a writer waits for another writer's lock before the store reports busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Readers' connections.
const MAX_CONNECTIONS: u32 = 16;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// The one connection that writes. SQLite takes one writer at a time anyway; with
    /// writers on many connections the losers of `BEGIN IMMEDIATE` poll the lock in
    /// SQLite's busy handler, sleeping whole milliseconds: half the durable write rate
    /// and a tenfold p99 under 8 concurrent requests (docs/performance.md, 8a). Here they
    /// queue for this connection instead and each starts as the previous one commits.
    writer: SqlitePool,
    group: group::GroupCommit,
    last_seq: Arc<watch::Sender<Seq>>,
    committed: checkpoint::Committed,
    /// Engine transactions waiting for the writer (see [`Store::begin`]).
    waiting: Arc<AtomicUsize>,
}

impl Store {
    /// Opens (creating if missing) the SQLite file at `path` and applies every migration.
    ///
    /// `synchronous=FULL` makes each commit durable before it returns, so an answered
    /// 2xx survives the process being killed right after.
    pub async fn open(path: &Path) -> Result<Store, DomainError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            DomainError::Internal(format!("state file {}: {what}: {e}", path.display()))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(fail(
                "cannot create it",
                &format!("directory {} does not exist", dir.display()),
            ));
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| fail("bad options", &e))?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // No ping before handing out a pooled connection (sqlx's default): a connection
        // to a local file does not go stale, and the ping is one more round trip to the
        // connection's thread on every read and every write transaction.
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|e| fail("cannot open it", &e))?;
        // A file that is not a database is only noticed on first read.
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .fetch_one(&pool)
            .await
            .map_err(|e| fail("cannot read it", &e))?;
        migrate::run(&pool)
            .await
            .map_err(|e| fail("migration failed", &e))?;
        // Its commits never copy the log back into the file: see [`checkpoint`].
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.pragma("wal_autocheckpoint", "0"))
            .await
            .map_err(|e| fail("cannot open it", &e))?;
        let last = events::last_seq(&pool).await?;
        let last_seq = Arc::new(watch::channel(last).0);
        let committed = checkpoint::start(pool.clone());
        let waiting = Arc::new(AtomicUsize::new(0));
        Ok(Store {
            group: group::GroupCommit::start(
                writer.clone(),
                Arc::clone(&last_seq),
                committed.clone(),
                Arc::clone(&waiting),
            ),
            pool,
            writer,
            last_seq,
            committed,
            waiting,
        })
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Begins a write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so
    /// two writers never both read the same "previous sequence number".
    pub async fn begin(&self) -> Result<Tx<'static>, DomainError> {
        // Counted while it waits, so the group commit lets go of the connection.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        Ok(Tx::new(self.writer.begin_with("BEGIN IMMEDIATE").await?))
    }

    /// Commits `tx`, then tells subscribers the newest event sequence number.
    pub async fn commit(&self, tx: Tx<'_>) -> Result<(), DomainError> {
        let newest = tx.commit().await?;
        self.committed.note();
        if let Some(seq) = newest {
            notify(&self.last_seq, seq);
        }
        Ok(())
    }

    /// Runs `work` in the next group commit (see [`group`]) and answers with its result
    /// once the transaction holding it has committed. If `work` fails its changes are
    /// rolled back alone and its error is the answer; other actions are unaffected.
    /// `work` must write only through the transaction it is given (never
    /// [`Store::begin`], which would wait for the very connection it runs on).
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'a> FnOnce(&'a mut Tx<'_>) -> WriteFuture<'a, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DomainError> + Send + 'static,
    {
        self.group.write(None, |tx, _| work(tx)).await
    }

    /// [`Store::write`] for a request with an idempotency key: `work` is given the
    /// record stored for `key`, looked up inside the transaction (so two requests with
    /// one key never both do the work), in the same call to SQLite that opens it.
    pub async fn write_keyed<T, E, F>(&self, key: String, work: F) -> Result<T, E>
    where
        F: for<'a> FnOnce(
                &'a mut Tx<'_>,
                Option<idempotency::Record>,
            ) -> WriteFuture<'a, Result<T, E>>
            + Send
            + 'static,
        T: Send + 'static,
        E: From<DomainError> + Send + 'static,
    {
        self.group.write(Some(key), work).await
    }

    /// Group commits so far and the actions they held (see [`group`]).
    pub fn group_commits(&self) -> (u64, u64) {
        self.group.committed()
    }

    /// Watches the newest committed event sequence number.
    pub fn subscribe(&self) -> watch::Receiver<Seq> {
        self.last_seq.subscribe()
    }

    /// `PRAGMA integrity_check`: `["ok"]` for a sound file, otherwise SQLite's findings
    /// (for crash harnesses and operators checking a file after an unclean stop).
    pub async fn integrity_check(&self) -> Result<Vec<String>, DomainError> {
        use sqlx::Row;
        let rows = sqlx::query("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(DomainError::from))
            .collect()
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// Tells subscribers that events up to `seq` are committed. Commits happen in sequence
/// order, but two committers may report out of order: the watch only moves forward.
fn notify(last_seq: &watch::Sender<Seq>, seq: Seq) {
    last_seq.send_if_modified(|seen| {
        if seq > *seen {
            *seen = seq;
            true
        } else {
            false
        }
    });
}

/// The current time at the precision the store keeps (microseconds), so what a write
/// returns equals what a later read gives back.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Formats a time for storage: fixed width, so text order is time order.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored time.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, DomainError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| DomainError::Internal(format!("stored time '{s}': {e}")))
}

/// Parses an optional stored time.
pub fn parse_opt_time(s: Option<String>) -> Result<Option<DateTime<Utc>>, DomainError> {
    s.as_deref().map(parse_time).transpose()
}

/// Converts a stored integer that must not be negative (versions, sequence numbers).
pub fn to_u64(v: i64, what: &str) -> Result<u64, DomainError> {
    u64::try_from(v).map_err(|_| DomainError::Internal(format!("stored {what} is negative: {v}")))
}

/// Converts a count or version for storage; SQLite integers are signed.
pub fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Helpers for unit tests that need a real store.
#[cfg(test)]
pub(crate) mod testing {
    use fleetdeck_api::Level;

    use super::Store;
    use super::events::{NewEvent, append};

    /// A store in a fresh temp dir (kept alive by the returned guard).
    pub async fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).await.unwrap();
        (dir, store)
    }

    /// Appends `n` test events in one transaction.
    pub async fn append_events(store: &Store, n: u64) {
        let mut tx = store.begin().await.unwrap();
        for i in 0..n {
            let ev = NewEvent::new("t", "test.event", Level::Info, format!("e{i}"));
            append(&mut tx, ev).await.unwrap();
        }
        store.commit(tx).await.unwrap();
    }
}
