//! Group commit: the mutating actions waiting for the writer share one transaction and
//! one fsync.
//!
//! A durable commit costs one fsync of the WAL, whatever it holds; with actions
//! committing one at a time on the single writer connection, that fsync was the action
//! rate's limit (docs/performance.md, 8a). Here actions are queued to one task. It
//! takes the first, begins a write transaction, and then runs every action waiting in
//! the queue (and those arriving meanwhile, up to [`MAX_BATCH`]) one after another in
//! that transaction, then commits once and answers them all.
//!
//! Why this stays as safe as one transaction per action:
//! - Each action runs inside its own savepoint. An action that fails (a refused
//!   decision, a stale `If-Match`, a store error, its deferred writes failing when
//!   they are sent with the release, even a panic) is rolled back to its
//!   savepoint: its changes, its event and its idempotency record vanish and it gets its
//!   own error, while the others' work is kept. Rolling back to a savepoint also gives
//!   its event sequence numbers back, so the log stays contiguous.
//! - Nobody is answered before the shared commit has returned, so a 2xx still means
//!   "durable". If the commit itself fails (a disk error), nothing of the batch was
//!   stored and every action in it gets that error; a retry with the same key then does
//!   the work once. (Redoing the others singly would meet the same disk.)
//! - Actions run in queue order, each seeing the ones before it, exactly as if they had
//!   committed one by one; events get their sequence numbers in that order.
//! - If the savepoint machinery itself fails the connection is in an unknown state:
//!   the whole transaction is rolled back and every action of the batch gets the error.
//!
//! The workflow engine's own writes still use [`super::Store::begin`]; they queue for
//! the same connection, and the group task releases it between batches.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use fleetdeck_api::Seq;
use futures_util::FutureExt;
use sqlx::{Connection, SqlitePool};
use tokio::sync::{mpsc, oneshot, watch};

use super::Tx;
use super::checkpoint::Committed;
use super::idempotency::Record;
use crate::DomainError;

/// Most actions in one transaction, so a long queue still commits (and answers) in
/// steps and the engine's writers get the connection between batches.
pub const MAX_BATCH: usize = 64;

/// A boxed future borrowing the transaction, as [`super::Store::write`] takes it.
pub type WriteFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a job that ran will be answered once the batch's commit is known.
type Answer = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// An action waiting in the queue.
trait Job: Send {
    /// The idempotency key whose record the work is given, if it has one.
    fn key(&self) -> Option<&str>;
    /// Runs the work in `tx`; says whether to keep its changes and how to answer.
    fn run<'a>(
        self: Box<Self>,
        tx: &'a mut Tx<'_>,
        stored: Option<Record>,
    ) -> WriteFuture<'a, (bool, Answer)>;
    /// Answers without running: the batch could not start.
    fn fail(self: Box<Self>, why: &str);
}

struct Request<F, T, E> {
    key: Option<String>,
    work: F,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Request<F, T, E>
where
    F: for<'a> FnOnce(&'a mut Tx<'_>, Option<Record>) -> WriteFuture<'a, Result<T, E>>
        + Send
        + 'static,
    T: Send + 'static,
    E: From<DomainError> + Send + 'static,
{
    fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    fn run<'a>(
        self: Box<Self>,
        tx: &'a mut Tx<'_>,
        stored: Option<Record>,
    ) -> WriteFuture<'a, (bool, Answer)> {
        let Request { work, reply, .. } = *self;
        Box::pin(async move {
            let result = match AssertUnwindSafe(work(tx, stored)).catch_unwind().await {
                Ok(result) => result,
                Err(_) => Err(E::from(DomainError::Internal(
                    "the action failed unexpectedly (a bug); nothing of it was stored".into(),
                ))),
            };
            let keep = result.is_ok();
            let answer: Answer = Box::new(move |committed: Result<(), &str>| {
                let result = match committed {
                    Ok(()) => result,
                    // The action's own error says more than the batch's.
                    Err(why) => result.and_then(|_| Err(E::from(internal(why)))),
                };
                // The requester may have gone (client disconnected): nothing to tell.
                let _ = reply.send(result);
            });
            (keep, answer)
        })
    }

    fn fail(self: Box<Self>, why: &str) {
        let _ = self.reply.send(Err(E::from(internal(why))));
    }
}

fn internal(why: &str) -> DomainError {
    DomainError::Internal(why.to_string())
}

/// The queue's sending side, held by the store.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::UnboundedSender<Box<dyn Job>>,
    counts: Arc<Counts>,
}

/// What the group task has done, for benchmarks and tests.
#[derive(Debug, Default)]
struct Counts {
    commits: AtomicU64,
    actions: AtomicU64,
}

impl GroupCommit {
    /// Starts the task that runs the queue on `writer` (a pool of one connection).
    /// `others` counts the transactions waiting for the writer outside the queue (the
    /// engine's): the task gives the connection back between batches while any wait.
    pub(super) fn start(
        writer: SqlitePool,
        last_seq: Arc<watch::Sender<Seq>>,
        committed: Committed,
        others: Arc<AtomicUsize>,
    ) -> GroupCommit {
        let (queue, jobs) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let task = run(
            writer,
            last_seq,
            committed,
            jobs,
            Arc::clone(&counts),
            others,
        );
        tokio::spawn(task);
        GroupCommit { queue, counts }
    }

    /// Transactions committed so far, and the actions they held.
    pub fn committed(&self) -> (u64, u64) {
        (
            self.counts.commits.load(Ordering::Relaxed),
            self.counts.actions.load(Ordering::Relaxed),
        )
    }

    /// Queues `work` and waits for its answer, given after the commit that holds it.
    /// `work` is given the record stored for `key`, looked up inside the transaction.
    pub async fn write<T, E, F>(&self, key: Option<String>, work: F) -> Result<T, E>
    where
        F: for<'a> FnOnce(&'a mut Tx<'_>, Option<Record>) -> WriteFuture<'a, Result<T, E>>
            + Send
            + 'static,
        T: Send + 'static,
        E: From<DomainError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Box::new(Request { key, work, reply }))
            .map_err(|_| E::from(internal("the store is closed")))?;
        answer.await.unwrap_or_else(|_| {
            Err(E::from(internal(
                "the store closed before the action was committed",
            )))
        })
    }
}

async fn run(
    writer: SqlitePool,
    last_seq: Arc<watch::Sender<Seq>>,
    committed: Committed,
    mut jobs: mpsc::UnboundedReceiver<Box<dyn Job>>,
    counts: Arc<Counts>,
    others: Arc<AtomicUsize>,
) {
    while let Some(first) = jobs.recv().await {
        let mut conn = match writer.acquire().await {
            Ok(conn) => conn,
            Err(e) => {
                fail_all(
                    first,
                    &mut jobs,
                    &format!("store: no writer connection: {e}"),
                );
                continue;
            }
        };
        // Batches follow one another on the connection while actions keep coming and
        // no engine transaction waits for it: handing it back to the pool costs a task
        // and a ping of the connection's thread (sqlx), taking it again a wake-up,
        // about 0.3 ms a batch in all.
        let mut next = Some(first);
        while let Some(first) = next.take() {
            let tx = match conn.begin_with("BEGIN IMMEDIATE").await {
                Ok(tx) => Tx::new(tx),
                Err(e) => {
                    let why = format!("store: cannot begin a write transaction: {e}");
                    fail_all(first, &mut jobs, &why);
                    break;
                }
            };
            if let Some((actions, seq)) = run_batch(tx, first, &mut jobs).await {
                committed.note();
                counts.commits.fetch_add(1, Ordering::Relaxed);
                counts.actions.fetch_add(actions, Ordering::Relaxed);
                if let Some(seq) = seq {
                    super::notify(&last_seq, seq);
                }
            }
            if others.load(Ordering::Acquire) == 0 {
                next = jobs.try_recv().ok();
            }
        }
    }
}

/// Answers `first` and everything queued with `why`: no batch could start.
fn fail_all(first: Box<dyn Job>, jobs: &mut mpsc::UnboundedReceiver<Box<dyn Job>>, why: &str) {
    first.fail(why);
    while let Ok(job) = jobs.try_recv() {
        job.fail(why);
    }
}

/// Runs `first` and whatever else is queued in `tx`, commits and answers each; on
/// commit returns how many actions it held and the newest event sequence number.
///
/// One call to SQLite ends an action and begins the next: the action's deferred writes,
/// the next one's idempotency look, the release and the next savepoint (see
/// [`Tx::release`]); a statement sent alone costs two thread hand-offs.
async fn run_batch(
    mut tx: Tx<'_>,
    first: Box<dyn Job>,
    jobs: &mut mpsc::UnboundedReceiver<Box<dyn Job>>,
) -> Option<(u64, Option<Seq>)> {
    let mut answers: Vec<Answer> = Vec::new();
    let mut opened = match tx.open_action(first.key()).await {
        Ok(opened) => opened,
        Err(e) => {
            let why = format!("store: cannot start the action: {e}");
            first.fail(&why);
            return abandon(tx, answers, &why).await;
        }
    };
    let mut job = first;
    loop {
        let savepoint = opened.savepoint;
        let (keep, answer) = job.run(&mut tx, opened.stored).await;
        let next = match answers.len() + 1 < MAX_BATCH {
            true => jobs.try_recv().ok(),
            false => None,
        };
        // The action's deferred writes go with its release: if they fail, the action
        // fails alone, like one whose work failed, and the next opens on its own.
        let mut failed = None;
        let ended = match keep {
            true => match tx.release(savepoint, next.as_ref().map(|j| j.key())).await {
                Ok(next_opened) => Ok(next_opened),
                Err(e) => {
                    failed = Some(format!(
                        "store: the action's writes failed, nothing of it was stored: {e}"
                    ));
                    tx.rollback_to(savepoint).await.map(|()| None)
                }
            },
            false => tx.rollback_to(savepoint).await.map(|()| None),
        };
        answers.push(Box::new(move |committed: Result<(), &str>| {
            answer(committed.and_then(|()| failed.as_deref().map_or(Ok(()), Err)))
        }));
        let next_opened = match ended {
            Ok(next_opened) => next_opened,
            Err(e) => {
                let why = format!("store: cannot end the action: {e}");
                if let Some(next) = next {
                    next.fail(&why);
                }
                return abandon(tx, answers, &why).await;
            }
        };
        let Some(next) = next else {
            break;
        };
        opened = match next_opened {
            Some(opened) => opened,
            None => match tx.open_action(next.key()).await {
                Ok(opened) => opened,
                Err(e) => {
                    let why = format!("store: cannot start the action: {e}");
                    next.fail(&why);
                    return abandon(tx, answers, &why).await;
                }
            },
        };
        job = next;
    }
    let actions = answers.len() as u64;
    match tx.commit().await {
        Ok(seq) => {
            for answer in answers {
                answer(Ok(()));
            }
            Some((actions, seq))
        }
        Err(e) => {
            let why = format!("store: commit failed, nothing was stored: {e}");
            for answer in answers {
                answer(Err(&why));
            }
            None
        }
    }
}

/// Rolls the whole batch back and tells every action that ran why.
async fn abandon(tx: Tx<'_>, answers: Vec<Answer>, why: &str) -> Option<(u64, Option<Seq>)> {
    if let Err(e) = tx.rollback().await {
        tracing::warn!(error = %e, "group commit: rollback after a failed batch failed");
    }
    tracing::warn!(reason = why, "group commit: batch abandoned");
    for answer in answers {
        answer(Err(why));
    }
    None
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
