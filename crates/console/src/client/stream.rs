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

use std::time::Duration;

use chrono::Utc;
use eventsource_stream::{EventStreamError, Eventsource};
use fleetdeck_api::text::sanitize_line;
use fleetdeck_api::{Event, Seq, headers, limits};
use futures_util::{Stream, StreamExt};
use reqwest::header;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Backoff, Client, describe_transport, refusal};
use crate::message::{ConnState, Msg};

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

/// Why the byte stream stopped.
#[derive(Debug)]
enum StreamFailure {
    Lost(String),
    ReceiverGone,
}

impl std::fmt::Display for StreamFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamFailure::Lost(reason) => f.write_str(reason),
            StreamFailure::ReceiverGone => f.write_str("the console has stopped listening"),
        }
    }
}

/// The response body with two watchers: silence past the idle timeout ends it, and
/// any bytes at all prove the server alive. A leading byte-order mark is removed here
/// (the SSE format allows one): the parser's own BOM handling slices a string inside
/// the character and panics.
fn watched_bytes<S, B>(
    inner: S,
    tx: mpsc::Sender<Msg>,
    opts: StreamOptions,
) -> impl Stream<Item = Result<Vec<u8>, StreamFailure>>
where
    S: Stream<Item = reqwest::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    struct State<S> {
        inner: S,
        tx: mpsc::Sender<Msg>,
        opts: StreamOptions,
        last_alive: Option<Instant>,
        event_size: EventSize,
        bom: Bom,
        done: bool,
    }
    let state = State {
        inner,
        tx,
        opts,
        last_alive: None,
        event_size: EventSize::default(),
        bom: Bom::Unchecked(Vec::new()),
        done: false,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        let item = match tokio::time::timeout(s.opts.idle_timeout, s.inner.next()).await {
            Err(_) => Err(StreamFailure::Lost(format!(
                "event stream: the server has been silent for {} s",
                s.opts.idle_timeout.as_secs_f32()
            ))),
            Ok(None) => return None,
            Ok(Some(Err(e))) => Err(StreamFailure::Lost(format!(
                "event stream: connection lost: {}",
                innermost(&e)
            ))),
            Ok(Some(Ok(bytes))) => {
                if s.event_size.add(bytes.as_ref()) > s.opts.max_event_bytes {
                    s.done = true;
                    let reason = format!(
                        "event stream: an event larger than {} bytes; the server is not speaking the contract",
                        s.opts.max_event_bytes
                    );
                    return Some((Err(StreamFailure::Lost(reason)), s));
                }
                let now = Instant::now();
                let due = s
                    .last_alive
                    .is_none_or(|t| now.duration_since(t) >= s.opts.alive_every);
                if due {
                    s.last_alive = Some(now);
                    if s.tx.send(Msg::Alive(Utc::now())).await.is_err() {
                        s.done = true;
                        return Some((Err(StreamFailure::ReceiverGone), s));
                    }
                }
                Ok(s.bom.strip(bytes.as_ref()))
            }
        };
        s.done = item.is_err();
        Some((item, s))
    })
}

const BOM: &[u8] = "\u{feff}".as_bytes();

/// Whether the stream's first bytes were checked for a byte-order mark yet.
#[derive(Debug)]
enum Bom {
    /// Holds the first bytes while they could still be the start of one.
    Unchecked(Vec<u8>),
    Checked,
}

impl Bom {
    /// The bytes to pass on: `chunk`, less any leading byte-order marks however the
    /// chunks split them.
    fn strip(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Bom::Unchecked(head) = self else {
            return chunk.to_vec();
        };
        head.extend_from_slice(chunk);
        // Every leading one: the parser panics on a second as on the first.
        while head.starts_with(BOM) {
            head.drain(..BOM.len());
        }
        if BOM.starts_with(head) {
            return Vec::new();
        }
        let head = std::mem::take(head);
        *self = Bom::Checked;
        head
    }
}

/// Bytes since the last event boundary (a blank line), counted as chunks arrive.
#[derive(Debug, Default)]
struct EventSize {
    since_boundary: usize,
    after_newline: bool,
}

impl EventSize {
    /// Counts `chunk` and returns the size of the event still open at its end.
    fn add(&mut self, chunk: &[u8]) -> usize {
        for &b in chunk {
            match b {
                b'\n' if self.after_newline => self.since_boundary = 0,
                b'\n' => {
                    self.after_newline = true;
                    self.since_boundary += 1;
                }
                // CR LF CR LF is a boundary too: a CR does not end the newline run.
                b'\r' => self.since_boundary += 1,
                _ => {
                    self.after_newline = false;
                    self.since_boundary += 1;
                }
            }
        }
        self.since_boundary
    }
}

fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    cause
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn event_size_resets_at_blank_lines_across_chunks() {
        let mut size = EventSize::default();
        assert_eq!(size.add(b"data: 12345\n"), 12);
        assert_eq!(size.add(b"\n"), 0, "a boundary split across chunks");
        assert_eq!(size.add(b": keep-alive\n\nid: 1\n"), 6);
        assert_eq!(size.add(b"data: x\r\n\r\n"), 0, "CR LF boundaries");
        assert_eq!(size.add(&[b'x'; 100]), 100);
        assert_eq!(size.add(&[b'x'; 100]), 200, "no boundary: it keeps growing");
    }

    /// The stream's own path from bytes to events: the watcher, the SSE parser and
    /// the event decoder, fed `chunks` as the network would. Returns the decoded
    /// sequence numbers, or the reason the stream was cut.
    fn parse(chunks: Vec<Vec<u8>>, max_event_bytes: usize) -> (Vec<Seq>, Option<String>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (tx, _rx) = mpsc::channel(1024);
            let inner = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, reqwest::Error>));
            let opts = StreamOptions {
                max_event_bytes,
                ..StreamOptions::default()
            };
            let mut events = Box::pin(watched_bytes(inner, tx, opts).eventsource());
            let mut seqs = Vec::new();
            while let Some(item) = events.next().await {
                match item {
                    Ok(sse) => {
                        if let Ok(e) = serde_json::from_str::<Event>(&sse.data) {
                            seqs.push(e.seq);
                        }
                    }
                    Err(e) => return (seqs, Some(e.to_string())),
                }
            }
            (seqs, None)
        })
    }

    fn sse_of(seq: Seq, message: &str) -> String {
        let event = Event {
            seq,
            at: Utc::now(),
            actor: "runner".into(),
            kind: "target.state".into(),
            level: fleetdeck_api::Level::Info,
            subject: fleetdeck_api::EventSubject::default(),
            message: message.into(),
            correlation_id: None,
            change: None,
        };
        format!(
            "id: {seq}\nevent: target.state\ndata: {}\n\n",
            serde_json::to_string(&event).unwrap()
        )
    }

    /// Splits `bytes` at the given fractions.
    fn split(bytes: &[u8], cuts: &[f64]) -> Vec<Vec<u8>> {
        let mut at: Vec<usize> = cuts
            .iter()
            .map(|f| ((bytes.len() as f64) * f) as usize)
            .collect();
        at.push(0);
        at.push(bytes.len());
        at.sort_unstable();
        at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
    }

    #[test]
    fn a_leading_byte_order_mark_is_dropped_however_it_is_split() {
        let event = sse_of(1, "x");
        let whole = [BOM, event.as_bytes()].concat();
        for at in 0..=4 {
            let chunks = vec![whole[..at].to_vec(), whole[at..].to_vec()];
            assert_eq!(parse(chunks, 4096), (vec![1], None), "split at {at}");
        }
        let twice = [BOM, BOM, event.as_bytes()].concat();
        assert_eq!(parse(vec![twice], 4096), (vec![1], None));
        // Not at the start: the line is a field the parser ignores.
        let later = [event.as_bytes(), BOM, event.as_bytes()].concat();
        assert_eq!(parse(vec![later], 4096).1, None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Any bytes in any chunks: no panic, the stream ends, and an event past the
        /// size cap cuts the stream instead of growing memory.
        #[test]
        fn any_bytes_never_panic(chunks in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..300), 0..12)
        ) {
            let total: usize = chunks.iter().map(Vec::len).sum();
            let (_, cut) = parse(chunks, 512);
            if total <= 512 {
                prop_assert!(cut.is_none() || !cut.unwrap().contains("larger than"));
            }
        }

        /// SSE-shaped noise: field names, colons, CR/LF mixes, JSON fragments.
        #[test]
        fn sse_shaped_noise_never_panics(parts in proptest::collection::vec(
            prop_oneof![
                Just("data: ".to_string()), Just("id: ".to_string()), Just("event: x".to_string()),
                Just(": keep-alive".to_string()), Just("\n".to_string()), Just("\r\n".to_string()),
                Just("\r".to_string()), Just("retry: 99999999999999999999".to_string()),
                Just("{\"seq\": 1".to_string()), Just("}".to_string()), Just("\u{1b}]52;c;QQ==\u{7}".to_string()),
                "[\\PC\\pC]{0,20}",
            ], 0..60)
        ) {
            let bytes = parts.concat().into_bytes();
            parse(vec![bytes], 4096);
        }

        /// A valid stream split anywhere (inside a UTF-8 character, inside CR LF) yields
        /// every event once, in order.
        #[test]
        fn chunk_boundaries_do_not_matter(
            messages in proptest::collection::vec("[\\PC\\pC]{0,40}", 1..8),
            cuts in proptest::collection::vec(0.0f64..1.0, 0..10),
            crlf in any::<bool>(),
        ) {
            let mut text = String::new();
            for (i, m) in messages.iter().enumerate() {
                text.push_str(&sse_of(i as Seq + 1, m));
            }
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            let (seqs, cut) = parse(split(text.as_bytes(), &cuts), 1024 * 1024);
            prop_assert_eq!(cut, None);
            let want: Vec<Seq> = (1..=messages.len() as Seq).collect();
            prop_assert_eq!(seqs, want);
        }
    }
}
