//! Tests of the group commit (`group.rs`), on a real store in a temp dir.

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

/// Action 0, queued and running inside its batch, held there until the sender is
/// used (or dropped).
async fn first_held_open(
    store: &Store,
) -> (
    WriteFuture<'static, Result<Seq, DomainError>>,
    oneshot::Sender<()>,
) {
    let (open, gate) = oneshot::channel::<()>();
    let (entered, inside) = oneshot::channel::<()>();
    let store = store.clone();
    let mut first: WriteFuture<'static, _> = Box::pin(async move {
        store
            .write(move |tx| {
                Box::pin(async move {
                    let _ = entered.send(());
                    let _ = gate.await;
                    act(tx, 0).await
                })
            })
            .await
    });
    // Polling once queues it; the group task then runs it.
    assert!(poll!(first.as_mut()).is_pending());
    inside.await.expect("the first action runs");
    (first, open)
}

/// Queues `others` while a first action holds the batch open, then lets it finish:
/// all of them are in the queue before the task looks again, so one transaction holds
/// them all (no timing involved).
async fn one_batch(
    store: &Store,
    others: Vec<WriteFuture<'static, Result<Seq, DomainError>>>,
) -> (Result<Seq, DomainError>, Vec<Result<Seq, DomainError>>) {
    let (first, open) = first_held_open(store).await;
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
    let (first, open) = first_held_open(&store).await;
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
    let (seq, first, done) = tokio::join!(engine, first, futures_util::future::join_all(actions));
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
