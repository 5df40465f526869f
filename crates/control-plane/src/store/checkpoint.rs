//! Checkpoints of the write-ahead log, off the commit path.
//!
//! By default SQLite copies the WAL back into the database file inside whichever
//! commit takes the log past 1,000 pages: that commit then also waits for the copy and
//! an fsync of the database file, 2–15 ms instead of 0.3 ms, and every action of its
//! group commit waits with it (docs/performance.md, 8a: a quarter of the durable
//! bench's time). So the writer's automatic checkpoints are off, and this task runs a
//! PASSIVE checkpoint on a reader connection shortly after writes: it copies what it
//! can without blocking the writer or any reader. Durability does not depend on it (a
//! commit is durable once the WAL is synced); only the log's size does.

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::watch;

/// How long after a commit the checkpoint runs: writes arriving meanwhile are copied
/// by the same checkpoint.
const AFTER: Duration = Duration::from_millis(200);

/// Tells the checkpointer that something was committed.
#[derive(Clone)]
pub(super) struct Committed(std::sync::Arc<watch::Sender<()>>);

impl Committed {
    pub(super) fn note(&self) {
        self.0.send_replace(());
    }
}

/// Starts the checkpointer on `pool`; it ends when every [`Committed`] is dropped.
pub(super) fn start(pool: SqlitePool) -> Committed {
    let (tx, rx) = watch::channel(());
    tokio::spawn(run(pool, rx));
    Committed(std::sync::Arc::new(tx))
}

async fn run(pool: SqlitePool, mut committed: watch::Receiver<()>) {
    while committed.changed().await.is_ok() {
        tokio::time::sleep(AFTER).await;
        committed.mark_unchanged();
        if pool.is_closed() {
            break;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                break;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed; the next commit tries again");
        }
    }
}
