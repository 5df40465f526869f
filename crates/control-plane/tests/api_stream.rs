//! `GET /v1/events/stream`: resume with no gap and no duplicate while writers race,
//! live tail, and streams closed at shutdown.

mod common;

use std::time::Duration;

use eventsource_stream::Eventsource;
use fleetdeck_api::{Event, Level, Seq};
use fleetdeck_control_plane::store::Store;
use fleetdeck_control_plane::store::events::{self, NewEvent};
use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;

const WAIT: Duration = Duration::from_secs(10);

/// Opens the stream as a viewer; `last_event_id` is sent as the reconnect header.
async fn open(
    ts: &common::TestServer,
    query: &str,
    last_event_id: Option<Seq>,
) -> impl Stream<Item = Event> + Unpin + use<> {
    let mut req = ts
        .client
        .get(ts.url(&format!("/v1/events/stream{query}")))
        .bearer_auth(common::token("vic"));
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let resp = req.send().await.expect("stream opens");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    Box::pin(resp.bytes_stream().eventsource().map(|item| {
        let sse = item.expect("well-formed SSE");
        let ev: Event = serde_json::from_str(&sse.data).expect("event JSON");
        assert_eq!(sse.id, ev.seq.to_string(), "id: is the sequence number");
        ev
    }))
}

async fn next(stream: &mut (impl Stream<Item = Event> + Unpin)) -> Event {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("an event within the wait")
        .expect("the stream is still open")
}

/// Appends `n` events, each in its own transaction, as a writer racing others.
async fn write(store: Store, writer: usize, n: usize) {
    for i in 0..n {
        let mut tx = store.begin().await.unwrap();
        let ev = NewEvent::new(
            format!("writer-{writer}"),
            "test.tick",
            Level::Info,
            format!("{i}"),
        );
        events::append(&mut tx, ev).await.unwrap();
        store.commit(tx).await.unwrap();
    }
}

#[tokio::test]
async fn resume_after_disconnect_has_no_gap_and_no_duplicate_while_writers_race() {
    let ts = common::start().await;
    let writers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(write(ts.store().clone(), w, 40)))
        .collect();

    // First connection: read a while, then drop it mid-stream.
    let mut seen = Vec::new();
    let mut first = open(&ts, "?after=0", None).await;
    while seen.len() < 50 {
        seen.push(next(&mut first).await.seq);
    }
    drop(first);
    for w in writers {
        w.await.unwrap();
    }
    let last = events::last_seq(ts.store().pool()).await.unwrap();

    // Reconnect the way EventSource does: same URL, plus Last-Event-ID (which wins).
    let resume_from = *seen.last().unwrap();
    let mut second = open(&ts, "?after=0", Some(resume_from)).await;
    while *seen.last().unwrap() < last {
        seen.push(next(&mut second).await.seq);
    }
    let expected: Vec<Seq> = (1..=last).collect();
    assert_eq!(seen, expected, "every event exactly once, in order");
    assert!(last > 160, "all writers' events arrived");
}

#[tokio::test]
async fn without_a_position_the_stream_tails_new_events() {
    let ts = common::start().await;
    let before = events::last_seq(ts.store().pool()).await.unwrap();
    let mut live = open(&ts, "", None).await;
    write(ts.store().clone(), 0, 2).await;
    assert_eq!(next(&mut live).await.seq, before + 1);
    assert_eq!(next(&mut live).await.seq, before + 2);

    let mut from_query = open(&ts, &format!("?after={}", before + 1), None).await;
    assert_eq!(next(&mut from_query).await.seq, before + 2);

    let bad = ts
        .get("/v1/events/stream")
        .by("vic")
        .header("Last-Event-ID", "latest")
        .send()
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.problem();
    let anonymous = ts.get("/v1/events/stream").send().await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let mut ts = common::start().await;
    let mut live = open(&ts, "?after=0", None).await;
    assert_eq!(next(&mut live).await.seq, 1);
    let stopped = tokio::time::timeout(WAIT, ts.stop()).await;
    assert!(stopped.is_ok(), "shutdown does not wait on open streams");
    let end = tokio::time::timeout(WAIT, live.next())
        .await
        .expect("stream ends");
    assert!(end.is_none());
}

#[tokio::test]
async fn a_snapshot_then_its_stream_miss_nothing_while_writers_race() {
    let ts = common::start().await;
    let writers: Vec<_> = (0..3)
        .map(|w| tokio::spawn(write(ts.store().clone(), w, 30)))
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let snap: fleetdeck_api::Snapshot = ts.get("/v1/snapshot").by("vic").send().await.json();
    assert_eq!(snap.events.last().map(|e| e.seq), Some(snap.last_seq));
    let mut stream = open(&ts, &format!("?after={}", snap.last_seq), None).await;
    for w in writers {
        w.await.unwrap();
    }
    let last = events::last_seq(ts.store().pool()).await.unwrap();
    let mut seqs: Vec<Seq> = snap.events.iter().map(|e| e.seq).collect();
    while *seqs.last().unwrap() < last {
        seqs.push(next(&mut stream).await.seq);
    }
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
}
