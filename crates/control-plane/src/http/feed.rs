//! The recent events, in memory, for the event streams.
//!
//! One reader task follows the store: after each commit it reads the new events in
//! sequence order and appends them to a bounded ring. Streams serve from the ring, so a
//! commit costs one store read however many consoles are connected; a stream whose
//! position is older than the ring reads the store directly until it catches up. Each
//! event is encoded once, as it enters the ring, to its whole SSE frame; every stream
//! copies those bytes.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use fleetdeck_api::{Event, Seq};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::store::{Store, events};

/// Events kept in memory.
const CAPACITY: usize = 1024;
/// Events read from the store per query.
const BATCH: usize = 512;
/// Wait before retrying after the store failed.
const RETRY: Duration = Duration::from_secs(1);

pub struct Feed {
    ring: RwLock<Ring>,
    head: watch::Sender<Seq>,
}

/// Contiguous events: every event with `covered_from < seq <= head` is in `events`.
struct Ring {
    covered_from: Seq,
    events: VecDeque<Encoded>,
}

/// An event as the streams send it: its sequence number and its SSE frame
/// (`id: <seq>`, `data: <compact JSON>`), shared, so a fan-out to many clients costs one
/// encoding and no copies of the event itself.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub seq: Seq,
    pub frame: Arc<[u8]>,
}

impl Encoded {
    pub fn new(ev: &Event) -> Encoded {
        // Compact JSON has no raw newline, so it is one `data:` line.
        let json = serde_json::to_string(ev).unwrap_or_else(|_| "{}".into());
        let frame = format!("id: {}\ndata: {json}\n\n", ev.seq);
        Encoded {
            seq: ev.seq,
            frame: Arc::from(frame.into_bytes()),
        }
    }
}

impl Feed {
    /// Starts following `store` from its current last event.
    pub async fn start(
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<Arc<Feed>, crate::DomainError> {
        let last = events::last_seq(store.pool()).await?;
        let (head, _) = watch::channel(last);
        let feed = Arc::new(Feed {
            ring: RwLock::new(Ring {
                covered_from: last,
                events: VecDeque::with_capacity(CAPACITY),
            }),
            head,
        });
        tokio::spawn(Arc::clone(&feed).follow(store, last, shutdown));
        Ok(feed)
    }

    /// Watches the newest event in the ring.
    pub fn subscribe(&self) -> watch::Receiver<Seq> {
        self.head.subscribe()
    }

    /// Appends to `out` the frames of up to `limit` events after `after`, oldest first,
    /// and returns the sequence number of the last one written (`after` when there is
    /// none yet); `None` when the ring no longer reaches back that far (read the store
    /// instead). Copies straight from the ring: no per-event allocation.
    pub fn write_after(&self, after: Seq, limit: usize, out: &mut Vec<u8>) -> Option<Seq> {
        let ring = self.ring.read().unwrap_or_else(|e| e.into_inner());
        if after < ring.covered_from {
            return None;
        }
        let skip = usize::try_from(after - ring.covered_from).unwrap_or(usize::MAX);
        let mut last = after;
        for ev in ring.events.iter().skip(skip).take(limit) {
            out.extend_from_slice(&ev.frame);
            last = ev.seq;
        }
        Some(last)
    }

    async fn follow(self: Arc<Self>, store: Store, mut last: Seq, shutdown: CancellationToken) {
        let mut wake = store.subscribe();
        loop {
            wake.borrow_and_update();
            loop {
                match events::after(store.pool(), last, BATCH).await {
                    Ok(batch) if batch.is_empty() => break,
                    Ok(batch) => {
                        last = batch.last().map_or(last, |e| e.seq);
                        self.push(batch);
                        self.head.send_replace(last);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "event feed: reading events failed; retrying");
                        tokio::select! {
                            () = tokio::time::sleep(RETRY) => {}
                            () = shutdown.cancelled() => return,
                        }
                    }
                }
            }
            tokio::select! {
                changed = wake.changed() => if changed.is_err() { return },
                () = shutdown.cancelled() => return,
            }
        }
    }

    fn push(&self, batch: Vec<Event>) {
        // Encoded before taking the lock, so streams reading the ring never wait on it.
        let batch: Vec<Encoded> = batch.iter().map(Encoded::new).collect();
        let mut ring = self.ring.write().unwrap_or_else(|e| e.into_inner());
        ring.events.extend(batch);
        while ring.events.len() > CAPACITY {
            if let Some(old) = ring.events.pop_front() {
                ring.covered_from = old.seq;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{append_events, temp_store};

    #[tokio::test]
    async fn the_ring_is_contiguous_bounded_and_says_when_it_does_not_reach_back() {
        let (_dir, store) = temp_store().await;
        let feed = Feed::start(store.clone(), CancellationToken::new())
            .await
            .unwrap();
        let total = CAPACITY as Seq + 100;
        append_events(&store, total).await;
        let mut head = feed.subscribe();
        tokio::time::timeout(Duration::from_secs(10), head.wait_for(|h| *h == total))
            .await
            .expect("the feed catches up")
            .unwrap();

        let after = |seq: Seq, limit: usize| {
            let mut out = Vec::new();
            feed.write_after(seq, limit, &mut out)
                .map(|last| (last, ids_of(&out)))
        };
        assert!(after(0, 10).is_none(), "evicted: read the store");
        let oldest = total - CAPACITY as Seq;
        let (last, seqs) = after(oldest, usize::MAX).unwrap();
        assert_eq!(seqs, (oldest + 1..=total).collect::<Vec<_>>());
        assert_eq!(last, total);
        assert_eq!(
            after(total - 3, 2).unwrap(),
            (total - 1, vec![total - 2, total - 1])
        );
        assert_eq!(after(total + 5, 10).unwrap(), (total + 5, Vec::new()));
    }

    /// The `id:` of each SSE frame in `out`.
    fn ids_of(out: &[u8]) -> Vec<Seq> {
        std::str::from_utf8(out)
            .unwrap()
            .split("\n\n")
            .filter(|f| !f.is_empty())
            .map(|f| {
                let (id, data) = f.split_once('\n').unwrap();
                assert!(data.starts_with("data: {"), "{f}");
                id.strip_prefix("id: ").unwrap().parse().unwrap()
            })
            .collect()
    }
}
