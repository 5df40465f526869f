//! The live event stream: across a server restart on the same state file and port the
//! console sees Disconnected promptly, then Connected, and every event exactly once; a
//! gap the server leaves is filled, a duplicate is dropped, keep-alives prove life at
//! most once a second, and a server that goes silent is declared lost.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{Fixture, eventually};
use fleetdeck_api::{Event, EventSubject, EventsPage, Level, Seq};
use fleetdeck_console::client::{StreamOptions, spawn_event_stream};
use fleetdeck_console::message::{Action, ActionRequest, ConnState, Msg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the stream told the app, with when it arrived.
#[derive(Debug, Clone)]
enum Seen {
    Event(Seq),
    Alive,
    Connecting,
    Connected,
    Disconnected(String),
    /// A fresh snapshot, at this sequence number.
    Loaded(Seq),
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(Instant, Seen)>>>);

impl Recorder {
    fn listen(&self, mut rx: mpsc::Receiver<Msg>) -> tokio::task::JoinHandle<()> {
        let log = self.0.clone();
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                let seen = match msg {
                    Msg::Server(e) => Seen::Event(e.seq),
                    Msg::Alive(_) => Seen::Alive,
                    Msg::Connection(ConnState::Connecting) => Seen::Connecting,
                    Msg::Connection(ConnState::Connected { .. }) => Seen::Connected,
                    Msg::Connection(ConnState::Disconnected { reason, .. }) => {
                        Seen::Disconnected(reason)
                    }
                    Msg::Loaded { snapshot, .. } => Seen::Loaded(snapshot.last_seq),
                    other => panic!("the stream sent {other:?}"),
                };
                log.lock().unwrap().push((Instant::now(), seen));
            }
        })
    }

    fn all(&self) -> Vec<(Instant, Seen)> {
        self.0.lock().unwrap().clone()
    }

    fn seqs(&self) -> Vec<Seq> {
        self.all()
            .into_iter()
            .filter_map(|(_, s)| match s {
                Seen::Event(q) => Some(q),
                _ => None,
            })
            .collect()
    }

    fn count(&self, pred: impl Fn(&Seen) -> bool) -> usize {
        self.all().iter().filter(|(_, s)| pred(s)).count()
    }

    /// When the first message matching `pred` after `after` arrived.
    fn first_after(&self, after: Instant, pred: impl Fn(&Seen) -> bool) -> Option<Instant> {
        self.all()
            .into_iter()
            .find(|(t, s)| *t >= after && pred(s))
            .map(|(t, _)| t)
    }
}

fn is_connected(s: &Seen) -> bool {
    matches!(s, Seen::Connected)
}

fn is_disconnected(s: &Seen) -> bool {
    matches!(s, Seen::Disconnected(_))
}

fn fast_retries() -> StreamOptions {
    StreamOptions {
        backoff_first: Duration::from_millis(50),
        backoff_max: Duration::from_millis(300),
        ..StreamOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_is_resumed_with_every_event_exactly_once() {
    let mut fx = Fixture::start().await;
    let client = fx.client("olga");
    let start = client.snapshot().await.unwrap().last_seq;
    let rec = Recorder::default();
    let (tx, rx) = mpsc::channel(1024);
    let listener = rec.listen(rx);
    let stream = spawn_event_stream(client.clone(), start, tx, fast_retries());
    eventually(Duration::from_secs(5), "connected", || async {
        rec.count(is_connected) == 1
    })
    .await;

    let campaign = fx.create_campaign("olga").await;
    eventually(
        Duration::from_secs(5),
        "events before the restart",
        || async { !rec.seqs().is_empty() },
    )
    .await;

    let stopping = Instant::now();
    fx.stop().await;
    eventually(Duration::from_secs(2), "disconnected", || async {
        rec.count(is_disconnected) >= 1
    })
    .await;
    let lost_at = rec.first_after(stopping, is_disconnected).unwrap();
    assert!(
        lost_at.duration_since(stopping) < Duration::from_secs(2),
        "the loss took {:?} to show",
        lost_at.duration_since(stopping)
    );

    fx.restart().await;
    eventually(Duration::from_secs(5), "connected again", || async {
        rec.count(is_connected) == 2
    })
    .await;
    let pause = ActionRequest {
        id: 2,
        action: Action::Pause {
            campaign_id: campaign.id.clone(),
            reason: "after the restart".into(),
        },
        idempotency_key: uuid::Uuid::new_v4(),
        if_match: None,
    };
    client.send(&pause).await.unwrap();

    // Whatever the server logged after the snapshot, the console got: once, in order.
    let mut server_seqs = Vec::new();
    for _ in 0..100 {
        server_seqs = fx.events_after(start).await.iter().map(|e| e.seq).collect();
        if rec.seqs().last() >= server_seqs.last() && server_seqs.len() > 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The campaign goes on logging: both lists are compared up to the older of their
    // ends (the loop above waited until the console's reached the server's).
    let got = rec.seqs();
    let upto = (*got.last().unwrap()).min(*server_seqs.last().unwrap());
    let got: Vec<_> = got.into_iter().filter(|s| *s <= upto).collect();
    let expected: Vec<_> = server_seqs.into_iter().filter(|s| *s <= upto).collect();
    assert_eq!(got, expected, "events lost, repeated or out of order");
    assert!(
        got.iter().any(|s| *s > start + 1),
        "no event after the restart arrived"
    );

    let states: Vec<_> = rec
        .all()
        .into_iter()
        .filter_map(|(_, s)| match s {
            Seen::Connected => Some("connected"),
            Seen::Disconnected(_) => Some("disconnected"),
            Seen::Connecting => Some("connecting"),
            _ => None,
        })
        .collect();
    assert_eq!(states.first(), Some(&"connecting"));
    assert_eq!(states.last(), Some(&"connected"));
    stream.abort();
    listener.abort();
}

// ---- a scripted server, to make gaps, duplicates and silence on purpose ----

fn event(seq: Seq) -> Event {
    Event {
        seq,
        at: Utc::now(),
        actor: "runner".into(),
        kind: "target.state".into(),
        level: Level::Info,
        subject: EventSubject::default(),
        message: format!("event {seq}"),
        correlation_id: None,
        change: None,
    }
}

fn sse(seq: Seq) -> String {
    format!(
        "id: {seq}\nevent: target.state\ndata: {}\n\n",
        serde_json::to_string(&event(seq)).unwrap()
    )
}

/// Reads one request head; returns (path, Last-Event-ID).
async fn read_head(sock: &mut TcpStream) -> (String, Option<String>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
    let last_id = text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("last-event-id")
            .then(|| value.trim().to_string())
    });
    (path, last_id)
}

const SSE_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";

/// First stream: 1, 2, 2 again, then 4 (3 is missing), keep-alives for 1.5 s, then
/// silence with the socket open. Second stream: 4 again, 5, then keep-alives.
/// Each request the scripted server saw: its path and its Last-Event-ID.
type Requests = Arc<Mutex<Vec<(String, Option<String>)>>>;

async fn scripted_server(listener: TcpListener, requests: Requests) {
    let mut streams = 0;
    let mut held = Vec::new();
    loop {
        let (mut sock, _) = listener.accept().await.unwrap();
        let (path, last_id) = read_head(&mut sock).await;
        requests.lock().unwrap().push((path.clone(), last_id));
        if path.starts_with("/v1/events?after=2") {
            let page = EventsPage {
                events: vec![event(3), event(4)],
                last_seq: 4,
            };
            let body = serde_json::to_string(&page).unwrap();
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(answer.as_bytes()).await.unwrap();
            continue;
        }
        if path.starts_with("/v1/events?after=") {
            // The history check after a reconnect: the server knows up to 5.
            let body = serde_json::to_string(&EventsPage {
                events: Vec::new(),
                last_seq: 5,
            })
            .unwrap();
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(answer.as_bytes()).await.unwrap();
            continue;
        }
        assert!(path.starts_with("/v1/events/stream"), "unexpected {path}");
        streams += 1;
        let script = if streams == 1 {
            vec![sse(1), sse(2), sse(2), sse(4)]
        } else {
            vec![sse(4), sse(5)]
        };
        let first = streams == 1;
        held.push(tokio::spawn(async move {
            sock.write_all(SSE_HEAD.as_bytes()).await.unwrap();
            for chunk in script {
                sock.write_all(chunk.as_bytes()).await.unwrap();
            }
            let keepalives = if first { 8 } else { 1000 };
            for _ in 0..keepalives {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if sock.write_all(b": keep-alive\n\n").await.is_err() {
                    return;
                }
            }
            // Silent, socket open: a hung server.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }));
    }
}

#[tokio::test]
async fn gaps_are_filled_duplicates_dropped_and_silence_detected() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let server = tokio::spawn(scripted_server(listener, requests.clone()));

    let client = fleetdeck_console::client::Client::new(&format!("http://{addr}"), "t").unwrap();
    let rec = Recorder::default();
    let (tx, rx) = mpsc::channel(1024);
    let listener = rec.listen(rx);
    let opts = StreamOptions {
        idle_timeout: Duration::from_millis(800),
        ..fast_retries()
    };
    let stream = spawn_event_stream(client, 0, tx, opts);

    eventually(
        Duration::from_secs(10),
        "event 5 after the reconnect",
        || async { rec.seqs().contains(&5) },
    )
    .await;
    assert_eq!(rec.seqs(), vec![1, 2, 3, 4, 5]);

    let reasons: Vec<_> = rec
        .all()
        .into_iter()
        .filter_map(|(_, s)| match s {
            Seen::Disconnected(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("silent"), "{}", reasons[0]);

    // About 1.6 s of bytes on the first stream: at most one proof of life a second.
    let alive_before_loss = {
        let all = rec.all();
        let lost = all.iter().position(|(_, s)| is_disconnected(s)).unwrap();
        all[..lost]
            .iter()
            .filter(|(_, s)| matches!(s, Seen::Alive))
            .count()
    };
    assert!(
        (1..=2).contains(&alive_before_loss),
        "{alive_before_loss} Alive messages for 1.6 s of keep-alives"
    );

    let reqs = requests.lock().unwrap().clone();
    let streams: Vec<_> = reqs
        .iter()
        .filter(|(p, _)| p.starts_with("/v1/events/stream"))
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(
        streams,
        vec![Some("0".to_string()), Some("4".to_string())],
        "the reconnect must resume from the last event seen"
    );
    stream.abort();
    listener.abort();
    server.abort();
}

#[tokio::test]
async fn a_runaway_event_is_cut_off_not_buffered() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            read_head(&mut sock).await;
            sock.write_all(SSE_HEAD.as_bytes()).await.unwrap();
            sock.write_all(sse(1).as_bytes()).await.unwrap();
            // Two megabytes of one line, never ended.
            let _ = sock.write_all(b"data: ").await;
            let _ = sock.write_all(&vec![b'x'; 2 * 1024 * 1024]).await;
            held.push(sock);
        }
    });
    let client = fleetdeck_console::client::Client::new(&format!("http://{addr}"), "t").unwrap();
    let rec = Recorder::default();
    let (tx, rx) = mpsc::channel(1024);
    let listener = rec.listen(rx);
    let opts = StreamOptions {
        max_event_bytes: 1024 * 1024,
        ..fast_retries()
    };
    let stream = spawn_event_stream(client, 0, tx, opts);
    eventually(
        Duration::from_secs(10),
        "the runaway event to be refused",
        || async { rec.count(is_disconnected) >= 1 },
    )
    .await;
    let reason = rec
        .all()
        .into_iter()
        .find_map(|(_, s)| match s {
            Seen::Disconnected(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("larger than 1048576 bytes"), "{reason}");
    assert_eq!(rec.seqs().first(), Some(&1));
    stream.abort();
    listener.abort();
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_shorter_history_is_reloaded_not_resumed() {
    let mut fx = Fixture::start().await;
    let client = fx.client("olga");
    let start = client.snapshot().await.unwrap().last_seq;
    let rec = Recorder::default();
    let (tx, rx) = mpsc::channel(4096);
    let listener = rec.listen(rx);
    let stream = spawn_event_stream(client.clone(), start, tx, fast_retries());
    // A long history on the first server, longer than the fresh one can grow while the
    // console reconnects.
    for _ in 0..300 {
        fx.raise_approval("olga", 1).await;
    }
    eventually(Duration::from_secs(30), "a long history", || async {
        rec.seqs().last().is_some_and(|s| *s > 300)
    })
    .await;
    let seen = *rec.seqs().last().unwrap();

    fx.restart_fresh().await;
    eventually(
        Duration::from_secs(10),
        "a reload from the new server",
        || async { rec.count(|s| matches!(s, Seen::Loaded(_))) == 1 },
    )
    .await;
    let loaded_at = rec
        .all()
        .into_iter()
        .find_map(|(_, s)| match s {
            Seen::Loaded(q) => Some(q),
            _ => None,
        })
        .unwrap();
    assert!(
        loaded_at < seen,
        "the new server's snapshot is at {loaded_at}, not before {seen}"
    );

    // From the reload on, the new server's events arrive, in order, once.
    fx.create_campaign("olga").await;
    let after_reload = || {
        let all = rec.all();
        let at = all
            .iter()
            .position(|(_, s)| matches!(s, Seen::Loaded(_)))
            .unwrap();
        all[at..]
            .iter()
            .filter_map(|(_, s)| match s {
                Seen::Event(q) => Some(*q),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    eventually(
        Duration::from_secs(10),
        "events from the new server",
        || async { !after_reload().is_empty() },
    )
    .await;
    let got = after_reload();
    let upto = *got.last().unwrap();
    let expected: Vec<_> = fx
        .events_after(loaded_at)
        .await
        .into_iter()
        .map(|e| e.seq)
        .filter(|s| *s <= upto)
        .collect();
    assert_eq!(got, expected);
    stream.abort();
    listener.abort();
}
