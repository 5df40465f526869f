//! `GET /v1/events/stream`: the event log as server-sent events.
//!
//! Each client's response body pulls events in sequence order from the in-memory
//! [`Feed`], where every event is already encoded as its SSE frame (or, when the client
//! is further behind than the feed reaches, from the store, encoding them itself).
//! Reading an ordered log (rather than fanning out from the writers) is what makes the
//! stream gap-free and duplicate-free even when writes race: commits happen in sequence
//! order, so everything at or below a seen sequence number is already visible.
//!
//! Cost per client per commit, which is what a fan-out to hundreds of consoles is made
//! of (docs/performance.md, 8b): one wake-up of the connection's own task, one copy of
//! the new frames into one chunk, one write. There is no producer task or queue per
//! client. Writers never wait for a client: a client that stops reading is simply not
//! polled (its socket buffer is all it holds), and when it reads again it continues
//! from its position, from the feed or the store.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use fleetdeck_api::Seq;
use fleetdeck_api::headers::LAST_EVENT_ID;
use serde::Deserialize;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::caller::Caller;
use super::feed::{Encoded, Feed};
use super::problem::ApiError;
use crate::store::{Store, events};

/// Most events in one chunk, so a client catching up is written in bounded steps and
/// shares the runtime fairly with the others.
const BATCH: usize = 256;
/// A comment line after this long without an event keeps proxies from closing the
/// connection and lets the client notice a dead one.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
const KEEP_ALIVE_FRAME: &[u8] = b":\n\n";

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
) -> Result<Response, ApiError> {
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
    let frames = Frames::new(
        state.store().clone(),
        state.feed(),
        start,
        state.shutdown().clone(),
    );
    let body = futures_util::stream::unfold(frames, |mut frames| async move {
        let chunk = frames.next().await?;
        Some((Ok::<_, Infallible>(chunk), frames))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// One client's position in the log and what it needs to wait for more.
pub(crate) struct Frames {
    store: Store,
    feed: Arc<Feed>,
    wake: watch::Receiver<Seq>,
    last: Seq,
    shutdown: CancellationToken,
    /// Quiet time before a keep-alive ([`KEEP_ALIVE`]; shorter in tests).
    quiet: Duration,
    /// When something (an event or a keep-alive) was last sent.
    sent_at: Instant,
    /// Fires at `sent_at + quiet` at the earliest; reset only when it fires, so a
    /// busy stream does not re-arm a timer per chunk.
    keep_alive: Pin<Box<Sleep>>,
}

impl Frames {
    pub(crate) fn new(
        store: Store,
        feed: Arc<Feed>,
        last: Seq,
        shutdown: CancellationToken,
    ) -> Frames {
        let now = Instant::now();
        Frames {
            wake: feed.subscribe(),
            store,
            feed,
            last,
            shutdown,
            quiet: KEEP_ALIVE,
            sent_at: now,
            keep_alive: Box::pin(tokio::time::sleep_until(now + KEEP_ALIVE)),
        }
    }

    #[cfg(test)]
    fn with_quiet(mut self, quiet: Duration) -> Frames {
        self.quiet = quiet;
        self.keep_alive.as_mut().reset(self.sent_at + quiet);
        self
    }

    /// The next chunk to send: the frames of every event after the client's position
    /// (up to [`BATCH`]), else a keep-alive after [`KEEP_ALIVE`] of quiet; `None` ends
    /// the stream (shutdown, or the store failed).
    pub(crate) async fn next(&mut self) -> Option<Bytes> {
        loop {
            // Mark the feed's newest event seen *before* reading, so events arriving
            // while we read wake us again instead of being missed.
            self.wake.borrow_and_update();
            let mut out = Vec::new();
            let last = match self.feed.write_after(self.last, BATCH, &mut out) {
                Some(last) => last,
                None => match events::after(self.store.pool(), self.last, BATCH).await {
                    Ok(batch) => {
                        for ev in &batch {
                            out.extend_from_slice(&Encoded::new(ev).frame);
                        }
                        batch.last().map_or(self.last, |e| e.seq)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "event stream: reading events failed; closing it");
                        return None;
                    }
                },
            };
            if last > self.last {
                self.last = last;
                self.sent_at = Instant::now();
                return Some(Bytes::from(out));
            }
            tokio::select! {
                changed = self.wake.changed() => if changed.is_err() { return None },
                () = &mut self.keep_alive => {
                    let due = self.sent_at + self.quiet;
                    if Instant::now() >= due {
                        self.sent_at = Instant::now();
                        self.keep_alive.as_mut().reset(self.sent_at + self.quiet);
                        return Some(Bytes::from_static(KEEP_ALIVE_FRAME));
                    }
                    self.keep_alive.as_mut().reset(due);
                }
                () = self.shutdown.cancelled() => return None,
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

    /// The `id:` of each event frame in `chunk`.
    fn ids(chunk: &[u8]) -> Vec<Seq> {
        std::str::from_utf8(chunk)
            .unwrap()
            .split("\n\n")
            .filter_map(|f| f.strip_prefix("id: ")?.split_once('\n'))
            .map(|(id, _)| id.parse().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_client_behind_the_feed_reads_the_store_then_follows_in_order() {
        let (_dir, store) = temp_store().await;
        append_events(&store, 300).await;
        let feed = feed(&store).await;
        // The feed starts at the log's end: everything before is the store's.
        let mut frames = Frames::new(store.clone(), feed, 0, CancellationToken::new());
        let mut seen = Vec::new();
        while seen.len() < 300 {
            let chunk = frames.next().await.unwrap();
            let got = ids(&chunk);
            assert!(got.len() <= BATCH, "bounded chunks");
            seen.extend(got);
        }
        assert_eq!(seen, (1..=300).collect::<Vec<_>>());

        // New events come from the feed, many per chunk when they arrive together.
        append_events(&store, 3).await;
        let mut more = Vec::new();
        while more.len() < 3 {
            more.extend(ids(&frames.next().await.unwrap()));
        }
        assert_eq!(more, vec![301, 302, 303]);
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_stalls_no_writer_and_resumes_without_a_gap() {
        let (_dir, store) = temp_store().await;
        let feed = feed(&store).await;
        let mut frames = Frames::new(
            store.clone(),
            Arc::clone(&feed),
            0,
            CancellationToken::new(),
        );
        // The client reads nothing while writers go on, past what the feed holds.
        for _ in 0..3 {
            let mut tx = store.begin().await.unwrap();
            for i in 0..600 {
                let ev = NewEvent::new("t", "test.event", Level::Info, format!("e{i}"));
                append(&mut tx, ev).await.unwrap();
            }
            store.commit(tx).await.unwrap();
        }
        let mut head = feed.subscribe();
        head.wait_for(|h| *h == 1800).await.unwrap();
        let mut seen = Vec::new();
        while seen.len() < 1800 {
            seen.extend(ids(&frames.next().await.unwrap()));
        }
        assert_eq!(seen, (1..=1800).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_quiet_stream_sends_keep_alives_and_ends_at_shutdown() {
        let (_dir, store) = temp_store().await;
        let shutdown = CancellationToken::new();
        let mut frames = Frames::new(store.clone(), feed(&store).await, 0, shutdown.clone())
            .with_quiet(Duration::from_millis(20));
        for _ in 0..2 {
            let chunk = frames.next().await.unwrap();
            assert_eq!(&chunk[..], KEEP_ALIVE_FRAME);
        }
        shutdown.cancel();
        assert!(frames.next().await.is_none());
    }
}
