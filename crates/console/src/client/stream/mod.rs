//! The live event stream: `GET /v1/events/stream` consumed in its own task, turned into
//! [`Msg`]s in sequence order with no gap and no duplicate, reconnected with backoff.
//!
//! Guarantees the app can build on:
//! - every event after the starting sequence number arrives as one [`Msg::Server`],
//!   in order, exactly once, across any number of reconnects (a gap the server leaves
//!   is filled from `GET /v1/events?after=`);
//! - any bytes from the server (keep-alive comments too) produce [`Msg::Alive`], at
//!   most once per [`StreamOptions::alive_every`];
//! - after an outage, a server whose history ends before the last event seen (reset,
//!   or restored from an older copy) is reloaded with a fresh [`Msg::Loaded`] rather
//!   than resumed into silence;
//! - a lost connection is reported at once ([`ConnState::Disconnected`]) when the
//!   socket closes, and after [`StreamOptions::idle_timeout`] of silence when the server
//!   hangs; each retry reports its attempt and delay; [`ConnState::Connected`] says it
//!   is back.

mod body;

use std::time::Duration;

use chrono::Utc;
use eventsource_stream::{EventStreamError, Eventsource};
use fleetdeck_api::text::sanitize_line;
use fleetdeck_api::{Event, Seq, headers, limits};
use futures_util::StreamExt;
use reqwest::header;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Backoff, Client, describe_transport, refusal};
use crate::message::{ConnState, Msg};
use body::{StreamFailure, watched_bytes};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamOptions {
    /// Silence longer than this means the server is gone: a little above the server's
    /// keep-alive interval (5 s in fleetdeck's control plane), so a hung server shows as
    /// disconnected within about two seconds of the keep-alive it failed to send.
    pub idle_timeout: Duration,
    /// At most one [`Msg::Alive`] per this interval.
    pub alive_every: Duration,
    /// Largest single event accepted; a server sending more without an event boundary
    /// is treated as broken, so a runaway line cannot grow the console's memory.
    pub max_event_bytes: usize,
    /// Base delay of the first reconnect; doubles per failed attempt.
    pub backoff_first: Duration,
    pub backoff_max: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            idle_timeout: Duration::from_secs(7),
            alive_every: Duration::from_secs(1),
            max_event_bytes: 4 * 1024 * 1024,
            backoff_first: Duration::from_millis(250),
            // Capped low so a server that comes back is found within about 4 s, however
            // long it was away; jitter still spreads a crowd of consoles over 2-4 s.
            backoff_max: Duration::from_secs(4),
        }
    }
}

/// Starts the stream task. It delivers events after `after` and ends when `tx` closes
/// (or when the returned handle is aborted).
pub fn spawn_event_stream(
    client: Client,
    after: Seq,
    tx: mpsc::Sender<Msg>,
    opts: StreamOptions,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = EventStreamTask {
            client,
            tx,
            opts,
            last_seq: after,
        };
        stream.run().await;
    })
}

/// How one connection ended.
enum End {
    /// The connection was lost or refused; the words say why.
    Lost(String),
    /// Nobody listens any more: stop.
    ReceiverGone,
}

struct EventStreamTask {
    client: Client,
    tx: mpsc::Sender<Msg>,
    opts: StreamOptions,
    /// The newest sequence number delivered to the app.
    last_seq: Seq,
}

impl EventStreamTask {
    async fn run(&mut self) {
        let mut backoff = Backoff::new(self.opts.backoff_first, self.opts.backoff_max);
        let mut down_since = None;
        if !self.emit(Msg::Connection(ConnState::Connecting)).await {
            return;
        }
        let mut first = true;
        loop {
            let connected = if first {
                self.connect().await
            } else {
                match self.resync_if_replaced().await {
                    Ok(()) => self.connect().await,
                    Err(end) => Err(end),
                }
            };
            first = false;
            let end = match connected {
                Ok(response) => {
                    backoff.reset();
                    down_since = None;
                    tracing::info!(after = self.last_seq, "event stream connected");
                    let connected = ConnState::Connected { since: Utc::now() };
                    if !self.emit(Msg::Connection(connected)).await {
                        return;
                    }
                    self.consume(response).await
                }
                Err(end) => end,
            };
            let reason = match end {
                End::ReceiverGone => return,
                End::Lost(reason) => reason,
            };
            let since = *down_since.get_or_insert_with(Utc::now);
            let retry_in = backoff.next_delay();
            tracing::warn!(
                reason = %sanitize_line(&reason),
                attempt = backoff.attempt(),
                retry_in_ms = retry_in.as_millis() as u64,
                "event stream lost"
            );
            let state = ConnState::Disconnected {
                since,
                reason,
                attempt: backoff.attempt(),
                retry_in,
            };
            if !self.emit(Msg::Connection(state)).await {
                return;
            }
            tokio::time::sleep(retry_in).await;
        }
    }

    /// After an outage: a server whose history ends before the last event this console
    /// saw is not the one it was watching (its state was reset or restored from an older
    /// copy). Resuming by sequence number would then skip everything new, so the app
    /// is given a fresh snapshot ([`Msg::Loaded`]) and the stream starts over from it.
    async fn resync_if_replaced(&mut self) -> Result<(), End> {
        let checking = |e: crate::message::ActionError| {
            End::Lost(format!("checking the server's history: {e}"))
        };
        let page = self
            .client
            .events_after(self.last_seq, 1)
            .await
            .map_err(checking)?;
        if page.last_seq >= self.last_seq {
            return Ok(());
        }
        tracing::warn!(
            seen = self.last_seq,
            server = page.last_seq,
            "the server's history ends before what this console saw; reloading"
        );
        let whoami = self.client.whoami().await.map_err(checking)?;
        let snapshot = self.client.snapshot().await.map_err(checking)?;
        self.last_seq = snapshot.last_seq;
        let loaded = Msg::Loaded {
            whoami,
            snapshot: Box::new(snapshot),
        };
        if self.emit(loaded).await {
            Ok(())
        } else {
            Err(End::ReceiverGone)
        }
    }

    /// Sends one message; false when the app has gone.
    async fn emit(&self, msg: Msg) -> bool {
        self.tx.send(msg).await.is_ok()
    }

    async fn connect(&self) -> Result<reqwest::Response, End> {
        let what = "event stream";
        let request = self
            .client
            .stream_http
            .get(self.client.url("/v1/events/stream"))
            .bearer_auth(&self.client.token.0)
            .header(header::ACCEPT, "text/event-stream")
            .header(headers::LAST_EVENT_ID, self.last_seq.to_string())
            .send();
        // A server that accepts the connection but never answers is as gone as one
        // that refuses it.
        let response = match tokio::time::timeout(self.opts.idle_timeout, request).await {
            Err(_) => {
                return Err(End::Lost(format!(
                    "{what}: no answer from {} within {} s",
                    self.client.base_url(),
                    self.opts.idle_timeout.as_secs_f32()
                )));
            }
            Ok(Err(e)) => {
                return Err(End::Lost(describe_transport(
                    what,
                    self.client.base_url(),
                    &e,
                    self.opts.idle_timeout,
                )));
            }
            Ok(Ok(r)) => r,
        };
        if !response.status().is_success() {
            return Err(End::Lost(refusal(what, response).await.to_string()));
        }
        Ok(response)
    }

    /// Reads one connection until it ends.
    async fn consume(&mut self, response: reqwest::Response) -> End {
        let bytes = watched_bytes(
            Box::pin(response.bytes_stream()),
            self.tx.clone(),
            self.opts,
        );
        let mut events = Box::pin(bytes.eventsource());
        while let Some(item) = events.next().await {
            let sse = match item {
                Ok(sse) => sse,
                Err(EventStreamError::Transport(StreamFailure::ReceiverGone)) => {
                    return End::ReceiverGone;
                }
                Err(EventStreamError::Transport(StreamFailure::Lost(reason))) => {
                    return End::Lost(reason);
                }
                Err(e) => return End::Lost(format!("event stream: unreadable data: {e}")),
            };
            if sse.data.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Event>(&sse.data) {
                Ok(event) => {
                    if let Err(end) = self.deliver_in_order(event).await {
                        return end;
                    }
                }
                Err(e) => {
                    // The contract has Unknown fallbacks, so this is a server bug; skip
                    // the one event rather than reconnect into the same wall forever.
                    tracing::warn!(id = %sanitize_line(&sse.id), error = %e, "undecodable event skipped");
                    if let Ok(seq) = sse.id.trim().parse::<Seq>()
                        && seq > self.last_seq
                    {
                        // What came before the skipped event still arrives.
                        if seq > self.last_seq + 1
                            && let Err(end) = self.fill_gap(seq - 1).await
                        {
                            return end;
                        }
                        self.last_seq = seq;
                    }
                }
            }
        }
        End::Lost("event stream: the server closed the connection".into())
    }

    /// Delivers `event` after filling any gap before it; drops what was already seen.
    async fn deliver_in_order(&mut self, event: Event) -> Result<(), End> {
        if event.seq <= self.last_seq {
            return Ok(());
        }
        if event.seq > self.last_seq + 1 {
            self.fill_gap(event.seq - 1).await?;
        }
        self.deliver(event).await
    }

    async fn deliver(&mut self, event: Event) -> Result<(), End> {
        if event.seq <= self.last_seq {
            return Ok(());
        }
        self.last_seq = event.seq;
        if self.emit(Msg::Server(Box::new(event))).await {
            Ok(())
        } else {
            Err(End::ReceiverGone)
        }
    }

    /// Fetches and delivers the events after `last_seq` up to and including `upto`.
    async fn fill_gap(&mut self, upto: Seq) -> Result<(), End> {
        tracing::info!(
            from = self.last_seq + 1,
            upto,
            "filling a gap in the event stream"
        );
        while self.last_seq < upto {
            let page = self
                .client
                .events_after(self.last_seq, limits::MAX_EVENTS_PAGE)
                .await
                .map_err(|e| End::Lost(format!("filling a gap in the events: {e}")))?;
            let before = self.last_seq;
            for event in page.events.into_iter().filter(|e| e.seq <= upto) {
                self.deliver(event).await?;
            }
            if self.last_seq == before {
                // The server has nothing for the hole: it cannot be filled. Say so in
                // the log and go on rather than stall the live view.
                tracing::warn!(
                    from = before + 1,
                    upto,
                    "the server has no events for a gap"
                );
                self.last_seq = upto;
            }
        }
        Ok(())
    }
}
