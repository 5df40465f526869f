//! The console through outages. `e2e_tmux.rs` already proves the header goes
//! DISCONNECTED within 2 s and back within 5 s against an in-process server that shuts
//! down cleanly; this suite goes further:
//! - the real `fleetdeck serve` process is SIGKILLed (no goodbye on the socket) and
//!   started again on the same port and state; while it is away an action is refused on
//!   screen with the reason; after it the log holds every event exactly once;
//! - a server that answers an action only after 10 s: keys keep working, the action
//!   shows pending, then fails with a timeout in words;
//! - malformed JSON, truncated bodies, a 10 MB answer, an answer past the client's cap,
//!   a truncated event stream, a 1 MB SSE line, unknown event kinds and change types:
//!   an error in words or a skipped event, never a panic, memory bounded.

mod common;
mod rel_console_support;
mod tmux;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use fleetdeck_api::{Event, EventSubject, EventsPage, Level, Seq};
use fleetdeck_console::client::{Client, StreamOptions, spawn_event_stream};
use fleetdeck_console::message::{ActionError, ConnState, Msg};
use rel_console_support::{BIN, Reply, Scripted, ServeProcess, new_token};
use tokio::sync::mpsc;

/// Creates a campaign over the whole fleet, long bake, so it stays running.
async fn create_campaign(base: &str, token: &str) -> String {
    let body = serde_json::json!({
        "title": "postgres 16.4",
        "target_version": "16.4",
        "gate": fleetdeck_api::GateSettings { bake_seconds: 3600, ..Default::default() },
    });
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/campaigns"))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .expect("create campaign");
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "create campaign: {status} {text}");
    serde_json::from_str::<fleetdeck_api::Campaign>(&text)
        .unwrap()
        .id
}

/// POSTs `verb` on the campaign with `reason`; the answer's status.
async fn campaign_action(base: &str, token: &str, id: &str, verb: &str, reason: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/campaigns/{id}/{verb}"))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&serde_json::json!({ "reason": reason }))
        .send()
        .await
        .expect("campaign action")
        .status()
        .as_u16()
}

/// Every event the server holds.
async fn server_events(base: &str, token: &str) -> Vec<Event> {
    let client = Client::new(base, token).unwrap();
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |e: &Event| e.seq);
        let page = client.events_after(after, 5000).await.expect("events");
        if page.events.is_empty() {
            return all;
        }
        all.extend(page.events);
    }
}

/// The count in the Log pane's title (`5 Log … 37 lines`).
fn log_lines(screen: &str) -> Option<usize> {
    let line = screen.lines().find(|l| l.contains("5 Log ·"))?;
    let at = line.find(" lines")?;
    let digits: String = line[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_process_refuses_actions_then_resumes_without_loss_or_repeat() {
    if tmux::skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.src");
    let token = new_token(&tokens, "ann", "operator,approver");
    let mut server = ServeProcess::start(dir.path(), &common::fleet_config(), &tokens);
    let base = server.base.clone();
    let token_file = dir.path().join("console.token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let campaign = create_campaign(&base, &token).await;
    assert_eq!(
        campaign_action(&base, &token, &campaign, "pause", "tag-before-outage").await,
        200
    );

    let home = tempfile::tempdir().unwrap();
    let tf = token_file.display().to_string();
    let t = tmux::Tmux::start(
        "rel-outage",
        (160, 120),
        home.path(),
        &[],
        BIN,
        &["--server", &base, "--token-file", &tf],
    );
    let connected = |s: &str| s.contains("● connected") && s.contains(&campaign);
    t.wait_for(
        "connected, with the campaign",
        Duration::from_secs(30),
        connected,
    );

    server.kill();
    let killed = Instant::now();
    t.wait_for("DISCONNECTED in the header", Duration::from_secs(2), |s| {
        s.contains("DISCONNECTED")
    });
    assert!(killed.elapsed() < Duration::from_millis(2500));

    // An action while disconnected: refused by the console, with the reason.
    t.keys(&["2", "r"]);
    let refused = t.wait_for("the refusal", Duration::from_secs(3), |s| {
        s.contains("disconnected from the server")
    });
    assert!(
        !refused.contains("Resume cmp-"),
        "a dialog opened while disconnected:\n{refused}"
    );

    server.restart();
    let restarted = Instant::now();
    t.wait_for("connected again", Duration::from_secs(5), |s| {
        s.contains("● connected")
    });
    assert!(restarted.elapsed() < Duration::from_secs(5));
    assert_eq!(
        campaign_action(&base, &token, &campaign, "resume", "tag-after-outage").await,
        200
    );

    // Every event once: after the resume, the log's line count reaches the server's
    // event count (the snapshot held the whole history, so a lost event would leave it
    // short and a repeated one push it past), and no tagged line shows twice.
    t.keys(&["5", "z"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut saw_tag = false;
    loop {
        // The screen first: the server can only have more by the time it is asked.
        let screen = t.screen();
        let want = server_events(&base, &token).await.len();
        assert!(want < 500, "the snapshot holds the whole history: {want}");
        saw_tag |= screen.contains("tag-after-outage");
        for tag in ["tag-before-outage", "tag-after-outage"] {
            assert!(screen.matches(tag).count() <= 1, "{tag} twice:\n{screen}");
        }
        let shown = log_lines(&screen);
        assert!(
            shown.is_some_and(|n| n <= want),
            "more lines than the server has events ({want}):\n{screen}"
        );
        if shown == Some(want) && saw_tag {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the log never matched the server's {want} events:\n{screen}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    t.keys(&["q"]);
    t.wait_for("the program to exit", Duration::from_secs(10), |s| {
        s.contains("FLEETDECK_EXIT=0")
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_answered_after_ten_seconds_stays_pending_then_times_out() {
    if tmux::skipped() {
        return;
    }
    let fx = common::Fixture::start().await;
    let campaign = fx.create_campaign("ann").await;
    // Actions are held for 11 s; everything else reaches the real server.
    let proxy = Scripted::start(Some(fx.addr), |req| {
        if req.method == "POST" {
            Reply::After(Duration::from_secs(11), Box::new(Reply::ok_json("{}")))
        } else {
            Reply::Forward
        }
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let token = common::token("ann");
    let t = tmux::Tmux::connected(
        "rel-slow",
        (160, 48),
        home.path(),
        &token,
        BIN,
        &proxy.base,
        &[],
    );
    t.wait_for("the campaign", Duration::from_secs(10), |s| {
        s.contains(&campaign.id)
    });
    t.keys(&["2", "p"]);
    t.wait_for("the pause dialog", Duration::from_secs(5), |s| {
        s.contains(&format!("Pause {}", campaign.id))
    });
    // Tab goes to the reason it needs; Enter there moves on to Pause; Enter sends.
    t.keys(&["Tab", "slow server", "Enter", "Enter"]);
    let sent = Instant::now();
    t.wait_for("the pending request", Duration::from_secs(3), |s| {
        proxy.requests("POST", "/v1/campaigns/") == 1 && s.to_lowercase().contains("waiting")
    });
    // The screen answers keys while the request is out: the help overlay opens.
    t.keys(&["Escape", "?"]);
    t.wait_for(
        "the help overlay while pending",
        Duration::from_secs(2),
        |s| s.contains("Everywhere"),
    );
    assert!(sent.elapsed() < Duration::from_secs(9), "keys were slow");
    t.keys(&["Escape"]);
    let failed = t.wait_for("the timeout", Duration::from_secs(15), |s| {
        s.contains("timed out")
    });
    assert!(sent.elapsed() >= Duration::from_secs(9), "{failed}");
    assert_eq!(
        proxy.requests("POST", "/v1/campaigns/"),
        1,
        "a retry was sent"
    );
    t.keys(&["q"]);
    t.wait_for("the program to exit", Duration::from_secs(10), |s| {
        s.contains("FLEETDECK_EXIT=0")
    });
}

// ---- broken answers, at the client ----

fn client(base: &str) -> Client {
    Client::new(base, "t").unwrap()
}

fn transport(e: ActionError) -> String {
    match e {
        ActionError::Transport(s) => s,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn broken_json_answers_are_errors_in_words() {
    let huge = format!("{{\"user\":\"{}", "x".repeat(10 * 1024 * 1024));
    let server = Scripted::start(None, move |req| match req.path.as_str() {
        "/v1/whoami" => Reply::ok_json("{\"user\": \"ann\", \"roles\": [\"oper"),
        "/v1/snapshot" => Reply::Raw(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{\"databases\": ["
                .to_vec(),
        ),
        "/v1/events?after=0&limit=10" => Reply::ok_json(&huge),
        "/v1/events?after=1&limit=10" => Reply::ok_json("[1, 2, 3]"),
        "/v1/databases/x" => Reply::json(502, "text/html", "<html>\u{1b}]0;t\u{7}bad gateway</html>"),
        _ => Reply::json(404, "application/problem+json", "{not json"),
    })
    .await;
    let c = client(&server.base);

    let e = transport(c.whoami().await.unwrap_err());
    assert!(e.contains("not what this console understands"), "{e}");
    let e = transport(c.snapshot().await.unwrap_err());
    assert!(e.contains("GET /v1/snapshot"), "{e}");
    let e = transport(c.events_after(0, 10).await.unwrap_err());
    assert!(e.contains("not what this console understands"), "{e}");
    let e = transport(c.events_after(1, 10).await.unwrap_err());
    assert!(e.contains("not what this console understands"), "{e}");
    let e = transport(c.database("x").await.unwrap_err());
    assert!(
        e.contains("502 Bad Gateway") && !e.contains('\u{1b}'),
        "{e}"
    );
    let e = transport(c.database("y").await.unwrap_err());
    assert!(e.contains("404"), "{e}");
}

#[tokio::test]
async fn answers_past_the_cap_are_refused_before_they_are_read() {
    let body = "x".repeat(10 * 1024 * 1024);
    let chunked_len = 10 * 1024 * 1024;
    let server = Scripted::start(None, move |req| match req.path.as_str() {
        "/v1/whoami" => Reply::ok_json(&body),
        _ => {
            // No length declared: the cap has to stop the read as the bytes come.
            let mut raw =
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                    .to_vec();
            raw.extend(std::iter::repeat_n(b'[', chunked_len));
            Reply::Raw(raw)
        }
    })
    .await;
    let c = client(&server.base).with_max_response_bytes(1024 * 1024);
    let e = transport(c.whoami().await.unwrap_err());
    assert!(e.contains("larger than 1048576 bytes"), "{e}");
    let e = transport(c.snapshot().await.unwrap_err());
    assert!(e.contains("larger than 1048576 bytes"), "{e}");
}

/// What the stream told the app.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Msg>>>);

impl Seen {
    fn listen(&self, mut rx: mpsc::Receiver<Msg>) -> tokio::task::JoinHandle<()> {
        let all = self.0.clone();
        tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                all.lock().unwrap().push(m);
            }
        })
    }

    fn events(&self) -> Vec<(Seq, String, String)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|m| match m {
                Msg::Server(e) => Some((
                    e.seq,
                    e.kind.clone(),
                    format!("{:?}", e.change).chars().take(40).collect(),
                )),
                _ => None,
            })
            .collect()
    }

    fn disconnects(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|m| match m {
                Msg::Connection(ConnState::Disconnected { reason, .. }) => Some(reason.clone()),
                _ => None,
            })
            .collect()
    }
}

fn event(seq: Seq, message: &str) -> Event {
    Event {
        seq,
        at: Utc::now(),
        actor: "runner".into(),
        kind: "target.state".into(),
        level: Level::Info,
        subject: EventSubject::default(),
        message: message.into(),
        correlation_id: None,
        change: None,
    }
}

fn sse_json(seq: Seq, json: &str) -> String {
    format!("id: {seq}\nevent: x\ndata: {json}\n\n")
}

fn sse(seq: Seq, message: &str) -> String {
    sse_json(seq, &serde_json::to_string(&event(seq, message)).unwrap())
}

fn page(events: Vec<Event>, last: Seq) -> Reply {
    Reply::ok_json(
        &serde_json::to_string(&EventsPage {
            events,
            last_seq: last,
        })
        .unwrap(),
    )
}

#[tokio::test]
async fn a_hostile_event_stream_is_survived_event_by_event() {
    let big = "y".repeat(1024 * 1024);
    let streams = Arc::new(Mutex::new(0));
    let n = streams.clone();
    let server = Scripted::start(None, move |req| {
        if req.path.starts_with("/v1/events?after=2&") {
            // The gap before the undecodable event 4 is filled from here.
            return page(vec![event(3, "from the page")], 9);
        }
        if req.path.starts_with("/v1/events?after=") {
            return page(Vec::new(), 9);
        }
        let mut n = n.lock().unwrap();
        *n += 1;
        if *n == 1 {
            let unknown_change = serde_json::to_string(&event(2, "new change"))
                .unwrap()
                .replace("\"correlation_id\":null", "\"correlation_id\":null,\"change\":{\"type\":\"quantum_flux\",\"x\":[1,2]},\"extra\":1");
            let unknown_kind = serde_json::to_string(&event(5, "new kind"))
                .unwrap()
                .replace("target.state", "galaxy.collapsed")
                .replace("\"info\"", "\"fatal\"");
            // A truncated stream: event 6 is cut mid-line and the socket closes.
            let cut = sse(6, "cut");
            let cut = &cut[..cut.len() / 2];
            return Reply::Raw(
                [
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
                    &sse(1, "one"),
                    &sse_json(2, &unknown_change),
                    &sse_json(4, "{\"seq\": \"not a number\""),
                    &sse_json(5, &unknown_kind),
                    cut,
                ]
                .concat()
                .into_bytes(),
            );
        }
        // The second stream: a 1 MB event line, a 1 MB line of junk, then 7.
        Reply::Sse(vec![
            sse(6, &big),
            sse_json(7, &format!("{{\"junk\": \"{big}")),
            sse(8, "after the junk"),
        ])
    })
    .await;
    let seen = Seen::default();
    let (tx, rx) = mpsc::channel(64);
    let listener = seen.listen(rx);
    let opts = StreamOptions {
        backoff_first: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        max_event_bytes: 2 * 1024 * 1024,
        ..StreamOptions::default()
    };
    let stream = spawn_event_stream(client(&server.base), 0, tx, opts);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.events().iter().any(|(s, _, _)| *s == 8) {
        assert!(
            Instant::now() < deadline,
            "event 8 never came: {:?} {:?}",
            seen.events(),
            seen.disconnects()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let events = seen.events();
    let seqs: Vec<_> = events.iter().map(|(s, _, _)| *s).collect();
    // 4 and 7 are undecodable: skipped (with a warning in the log), the rest in order.
    assert_eq!(seqs, vec![1, 2, 3, 5, 6, 8], "{events:?}");
    assert!(events[1].2.contains("Unknown"), "{events:?}");
    assert_eq!(events[3].1, "galaxy.collapsed");
    let lost = seen.disconnects();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(lost[0].contains("closed the connection"), "{lost:?}");
    stream.abort();
    listener.abort();
}
