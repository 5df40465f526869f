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
mod tests {
    use std::pin::pin;

    use fleetdeck_api::Level;
    use futures_util::poll;

    use super::*;
    use crate::store::events::{self, NewEvent, append};
    use crate::store::testing::temp_store;
    use crate::store::{Store, idempotency};

    /// An action: one event and one idempotency record, like a mutating request.
    async fn act(tx: &mut Tx<'_>, n: u32) -> Result<Seq, DomainError> {
        let ev = NewEvent::new("t", "test.event", Level::Info, format!("action {n}"));
        let seq = append(tx, ev).await?.seq;
        let record = idempotency::Record {
            user: "t".into(),
            fingerprint: format!("f{n}"),
            status: 200,
            body: format!("{n}"),
        };
        idempotency::save(tx, &format!("key-{n}"), &record);
        Ok(seq)
    }

    /// Queues `others` while a first action holds the batch open, then lets it finish:
    /// all of them are in the queue before the task looks again, so one transaction holds
    /// them all (no timing involved).
    async fn one_batch(
        store: &Store,
        others: Vec<WriteFuture<'static, Result<Seq, DomainError>>>,
    ) -> (Result<Seq, DomainError>, Vec<Result<Seq, DomainError>>) {
        let (open, gate) = oneshot::channel::<()>();
        let (entered, inside) = oneshot::channel::<()>();
        let mut first = pin!(store.write(move |tx| {
            Box::pin(async move {
                let _ = entered.send(());
                let _ = gate.await;
                act(tx, 0).await
            })
        }));
        // Polling once queues it; the group task then runs it.
        assert!(poll!(first.as_mut()).is_pending());
        inside.await.expect("the first action runs");
        // It is inside the transaction now: everything queued meanwhile joins its batch.
        let mut others = others;
        for o in &mut others {
            assert!(poll!(o.as_mut()).is_pending());
        }
        open.send(()).unwrap();
        let first = first.await;
        (first, futures_util::future::join_all(others).await)
    }

    fn queued(
        store: &Store,
        n: u32,
        fail: Option<&'static str>,
    ) -> WriteFuture<'static, Result<Seq, DomainError>> {
        let store = store.clone();
        Box::pin(async move {
            store
                .write(move |tx| {
                    Box::pin(async move {
                        let seq = act(tx, n).await?;
                        match fail {
                            None => Ok(seq),
                            Some("panic") => panic!("action {n} panics after writing"),
                            // Its record again: the deferred insert fails at the release.
                            Some("bad write") => {
                                let record = idempotency::Record {
                                    user: "t".into(),
                                    fingerprint: "again".into(),
                                    status: 200,
                                    body: String::new(),
                                };
                                idempotency::save(tx, &format!("key-{n}"), &record);
                                Ok(seq)
                            }
                            // A read past its deferred record: the transaction refuses.
                            Some("read past") => {
                                events::last_seq(&mut **tx).await?;
                                Ok(seq)
                            }
                            Some(why) => Err(DomainError::Conflict(why.into())),
                        }
                    })
                })
                .await
        })
    }

    #[tokio::test]
    async fn a_batch_shares_one_commit_and_each_action_keeps_its_own_event_and_record() {
        let (_dir, store) = temp_store().await;
        let mut seen = store.subscribe();
        let before = store.group_commits();
        let others = (1..=9).map(|n| queued(&store, n, None)).collect();
        let (first, rest) = one_batch(&store, others).await;

        let mut seqs = vec![first.unwrap()];
        seqs.extend(rest.into_iter().map(Result::unwrap));
        assert_eq!(
            seqs,
            (1..=10).collect::<Vec<_>>(),
            "queue order, contiguous"
        );
        let after = store.group_commits();
        assert_eq!((after.0 - before.0, after.1 - before.1), (1, 10));
        assert_eq!(*seen.borrow_and_update(), 10, "subscribers told the newest");
        for n in 0..10 {
            let r = idempotency::lookup(store.pool(), &format!("key-{n}"))
                .await
                .unwrap()
                .expect("each action's record is committed");
            assert_eq!(r.body, n.to_string());
        }
    }

    #[tokio::test]
    async fn a_failing_or_panicking_action_is_undone_alone_and_the_log_stays_contiguous() {
        let (_dir, store) = temp_store().await;
        let others = vec![
            queued(&store, 1, None),
            queued(&store, 2, Some("refused")),
            queued(&store, 3, None),
            queued(&store, 4, Some("panic")),
            queued(&store, 5, None),
            queued(&store, 6, Some("bad write")),
            queued(&store, 7, Some("read past")),
            queued(&store, 8, None),
        ];
        let (first, rest) = one_batch(&store, others).await;
        assert_eq!(first.unwrap(), 1);
        let outcome: Vec<Result<Seq, String>> = rest
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(outcome[0], Ok(2));
        assert_eq!(outcome[1], Err("refused".into()));
        assert_eq!(outcome[2], Ok(3), "the failed action's number is reused");
        assert!(outcome[3].as_ref().unwrap_err().contains("unexpectedly"));
        assert_eq!(outcome[4], Ok(4));
        assert!(
            outcome[5].as_ref().unwrap_err().contains("writes failed"),
            "{:?}",
            outcome[5]
        );
        assert!(outcome[6].as_ref().unwrap_err().contains("unexpectedly"));
        assert_eq!(outcome[7], Ok(5));

        let log = events::after(store.pool(), 0, 100).await.unwrap();
        let messages: Vec<&str> = log.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            ["action 0", "action 1", "action 3", "action 5", "action 8"],
            "the failed actions' events are gone"
        );
        assert_eq!(
            log.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        let kept = [(1, true), (2, false), (3, true), (4, false), (5, true)];
        let kept = kept.into_iter().chain([(6, false), (7, false), (8, true)]);
        for (n, kept) in kept {
            let r = idempotency::lookup(store.pool(), &format!("key-{n}"))
                .await
                .unwrap();
            assert_eq!(r.is_some(), kept, "record of action {n}");
        }

        // The store goes on: the next action follows the contiguous log.
        let next = store
            .write(|tx| Box::pin(async move { act(tx, 9).await }))
            .await
            .unwrap();
        assert_eq!(next, 6);
    }

    #[tokio::test]
    async fn an_engine_transaction_gets_the_writer_between_batches_of_a_long_queue() {
        let (_dir, store) = temp_store().await;
        let (open, gate) = oneshot::channel::<()>();
        let (entered, inside) = oneshot::channel::<()>();
        let mut first = pin!(store.write(move |tx| {
            Box::pin(async move {
                let _ = entered.send(());
                let _ = gate.await;
                act(tx, 0).await
            })
        }));
        assert!(poll!(first.as_mut()).is_pending());
        inside.await.expect("the first batch runs");
        // 500 more queue behind it, then the engine asks for the writer. Without a turn
        // for others the group task would keep the connection through all of them.
        let mut actions: Vec<_> = (1..=500).map(|n| queued(&store, n, None)).collect();
        for a in &mut actions {
            assert!(poll!(a.as_mut()).is_pending());
        }
        let mut engine = pin!(async {
            let mut tx = store.begin().await.unwrap();
            let ev = NewEvent::new("engine", "test.event", Level::Info, "engine");
            let seq = append(&mut tx, ev).await.unwrap().seq;
            store.commit(tx).await.unwrap();
            seq
        });
        assert!(poll!(engine.as_mut()).is_pending());
        open.send(()).unwrap();
        let (seq, first, done) =
            tokio::join!(engine, first, futures_util::future::join_all(actions));
        assert!(first.is_ok() && done.iter().all(Result::is_ok));
        assert_eq!(
            seq,
            MAX_BATCH as u64 + 1,
            "the engine's turn came right after the batch that was running"
        );
        assert_eq!(events::last_seq(store.pool()).await.unwrap(), 502);
    }

    #[tokio::test]
    async fn engine_transactions_and_group_commits_share_the_writer_and_the_sequence() {
        let (_dir, store) = temp_store().await;
        let mut tx = store.begin().await.unwrap();
        append(
            &mut tx,
            NewEvent::new("engine", "test.event", Level::Info, "engine"),
        )
        .await
        .unwrap();
        // The group task waits for the writer connection while the engine holds it.
        let mut queued_action = pin!(store.write(|tx| Box::pin(async move { act(tx, 1).await })));
        assert!(poll!(queued_action.as_mut()).is_pending());
        store.commit(tx).await.unwrap();
        assert_eq!(queued_action.await.unwrap(), 2);
        assert_eq!(events::last_seq(store.pool()).await.unwrap(), 2);
    }
}
