//! `GET /v1/events/stream`: the event log as server-sent events.
//!
//! Each client has its own producer task that takes events in sequence order from the
//! in-memory [`Feed`], already encoded (or, when it is further behind than the feed
//! reaches, from the store, encoding them itself) and puts them in a bounded buffer to
//! the connection. Reading an ordered log
//! (rather than fanning out from the writers) is what makes the stream gap-free and
//! duplicate-free even when writes race: commits happen in sequence order, so
//! everything at or below a seen sequence number is already visible. Writers never wait
//! for a client; a client whose buffer stays full is disconnected and resumes by id.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use fleetdeck_api::Seq;
use fleetdeck_api::headers::LAST_EVENT_ID;
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::SendTimeoutError;
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::caller::Caller;
use super::feed::{Encoded, Feed};
use super::problem::ApiError;
use crate::store::{Store, events};

/// Events queued per client between the store and its connection.
const CLIENT_BUFFER: usize = 1024;
/// A client whose buffer stays full this long is too slow and is disconnected.
const SLOW_CLIENT: Duration = Duration::from_secs(5);
/// Events read from the store per query.
const BATCH: usize = 256;
const KEEP_ALIVE: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    after: Option<Seq>,
}

/// Streams every event after `Last-Event-ID` (a reconnecting client), else after
/// `?after=`, else from now on.
pub async fn stream(
    State(state): State<AppState>,
    _: Caller,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let last_event_id = match headers.get(LAST_EVENT_ID) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<Seq>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{LAST_EVENT_ID} must be an event sequence number"
                    ))
                })?,
        ),
    };
    let start = match last_event_id.or(q.after) {
        Some(seq) => seq,
        None => events::last_seq(state.store().pool()).await?,
    };
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    let producer = Producer {
        store: state.store().clone(),
        feed: state.feed(),
        tx,
        shutdown: state.shutdown().clone(),
        slow_after: SLOW_CLIENT,
    };
    tokio::spawn(producer.run(start));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let ev = rx.recv().await?;
        Some((Ok(to_sse(&ev)), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

fn to_sse(ev: &Encoded) -> SseEvent {
    SseEvent::default().id(ev.seq.to_string()).data(&*ev.json)
}

/// Why a producer stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stopped {
    ClientGone,
    TooSlow,
    Shutdown,
    StoreFailed,
}

/// Feeds one client's buffer from the feed, or the store when the feed does not reach
/// back far enough.
pub(crate) struct Producer {
    pub store: Store,
    pub feed: Arc<Feed>,
    pub tx: mpsc::Sender<Encoded>,
    pub shutdown: CancellationToken,
    pub slow_after: Duration,
}

impl Producer {
    pub(crate) async fn run(self, mut last: Seq) -> Stopped {
        let mut wake = self.feed.subscribe();
        loop {
            // Mark the feed's newest event seen *before* reading, so events arriving while
            // we read wake us again instead of being missed.
            wake.borrow_and_update();
            loop {
                let batch = match self.feed.after(last, BATCH) {
                    Some(b) => Ok(b),
                    None => events::after(self.store.pool(), last, BATCH)
                        .await
                        .map(|b| b.iter().map(Encoded::new).collect()),
                };
                let batch = match batch {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(error = %e, "event stream: reading events failed; closing it");
                        return Stopped::StoreFailed;
                    }
                };
                if batch.is_empty() {
                    break;
                }
                for ev in batch {
                    let seq = ev.seq;
                    tokio::select! {
                        sent = self.tx.send_timeout(ev, self.slow_after) => match sent {
                            Ok(()) => last = seq,
                            Err(SendTimeoutError::Timeout(_)) => {
                                tracing::info!(last_sent = last, "event stream: client too slow; disconnecting it");
                                return Stopped::TooSlow;
                            }
                            Err(SendTimeoutError::Closed(_)) => return Stopped::ClientGone,
                        },
                        () = self.shutdown.cancelled() => return Stopped::Shutdown,
                    }
                }
            }
            tokio::select! {
                changed = wake.changed() => if changed.is_err() { return Stopped::Shutdown },
                () = self.tx.closed() => return Stopped::ClientGone,
                () = self.shutdown.cancelled() => return Stopped::Shutdown,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::events::{NewEvent, append};
    use crate::store::testing::{append_events, temp_store};
    use fleetdeck_api::Level;

    async fn feed(store: &Store) -> Arc<Feed> {
        Feed::start(store.clone(), CancellationToken::new())
            .await
            .unwrap()
    }

    async fn store_with_events(n: u64) -> (tempfile::TempDir, Store) {
        let (dir, store) = temp_store().await;
        append_events(&store, n).await;
        (dir, store)
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_disconnected_without_stalling_writers() {
        let (_dir, store) = store_with_events(10).await;
        let (tx, mut rx) = mpsc::channel(2);
        let producer = Producer {
            store: store.clone(),
            feed: feed(&store).await,
            tx,
            shutdown: CancellationToken::new(),
            slow_after: Duration::from_millis(100),
        };
        let task = tokio::spawn(producer.run(0));
        // Writers carry on while the client is stuck.
        let mut wtx = store.begin().await.unwrap();
        append(
            &mut wtx,
            NewEvent::new("t", "test.event", Level::Info, "more"),
        )
        .await
        .unwrap();
        store.commit(wtx).await.unwrap();
        assert_eq!(task.await.unwrap(), Stopped::TooSlow);
        // What was buffered is delivered in order, then the stream ends.
        let mut seqs = Vec::new();
        while let Some(ev) = rx.recv().await {
            seqs.push(ev.seq);
        }
        assert_eq!(seqs, vec![1, 2]);
    }

    #[tokio::test]
    async fn producer_stops_at_shutdown_and_when_the_client_leaves() {
        let (_dir, store) = store_with_events(1).await;
        let shutdown = CancellationToken::new();
        let (tx, mut rx) = mpsc::channel(8);
        let p = Producer {
            store: store.clone(),
            feed: feed(&store).await,
            tx,
            shutdown: shutdown.clone(),
            slow_after: SLOW_CLIENT,
        };
        let task = tokio::spawn(p.run(0));
        assert_eq!(rx.recv().await.unwrap().seq, 1);
        shutdown.cancel();
        assert_eq!(task.await.unwrap(), Stopped::Shutdown);

        let (tx, rx) = mpsc::channel(8);
        let p = Producer {
            feed: feed(&store).await,
            store,
            tx,
            shutdown: CancellationToken::new(),
            slow_after: SLOW_CLIENT,
        };
        let task = tokio::spawn(p.run(1));
        drop(rx);
        assert_eq!(task.await.unwrap(), Stopped::ClientGone);
    }
}
