//! The response body of the event stream, watched as it arrives: silence past the idle
//! timeout ends it, any bytes prove the server alive ([`Msg::Alive`]), an event larger
//! than the cap cuts it, and a leading byte-order mark is removed before the SSE parser
//! sees it.

use chrono::Utc;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::StreamOptions;
use crate::message::Msg;

/// Why the byte stream stopped.
#[derive(Debug)]
pub(super) enum StreamFailure {
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
pub(super) fn watched_bytes<S, B>(
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
    use eventsource_stream::Eventsource;
    use fleetdeck_api::{Event, Seq};
    use proptest::prelude::*;

    use super::*;

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
