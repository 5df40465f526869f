//! Benchmark 6 (docs/performance.md): an action's round trip on loopback. A real control
//! plane (`server::start`, SQLite file in a temp dir) and the console's real client,
//! event stream, effect runner and event loop, drawing the real `App` into a 200×60
//! `TestBackend`. Each sample approves the selected approval: `a` opens the dialog, Tab
//! moves to Confirm, then the clock starts as Enter is sent: the request goes out, the
//! server commits the decision with its audit event, the event comes back on the SSE
//! stream, and the clock stops when the frame after that event has been drawn (the
//! approval has left the queue). The answer to the request itself (dialog closed, "✓
//! approved") is timed too, and so is how long the event's frame came after the
//! answer's (zero when it came first): that part is the console's own, where the first
//! two include the server's commit and the machine's load.
//!
//! `cargo bench --bench roundtrip` (`PERF_SAMPLES`, default 200). It lives in the root
//! package because only the command line's package may depend on both halves.

#[path = "../crates/console/benches/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck_api::{ApprovalKind, ApprovalState, BlastRadius, Change, Role};
use fleetdeck_console::client::{Client, StreamOptions, spawn_event_stream};
use fleetdeck_console::runtime::{EffectRunner, Screen, event_loop};
use fleetdeck_console::{App, Effect, Msg};
use fleetdeck_control_plane::auth::{TokenEntry, hash_token};
use fleetdeck_control_plane::server::{self, ServeOptions, TokenSource};
use fleetdeck_control_plane::store::approvals::{self, NewApproval};
use tokio::sync::mpsc;

const TOKEN: &str = "perf-roundtrip-token";

/// What the driver waits for after each Enter.
#[derive(Default)]
struct Marks {
    /// When the answer to the request was drawn.
    answered: Option<Instant>,
    /// When the frame after the decision's event was drawn.
    shown: Option<Instant>,
}

struct Probe {
    app: App,
    stop: Arc<AtomicBool>,
    marks: Arc<Mutex<Marks>>,
    answer_pending: bool,
    event_pending: bool,
}

impl Screen for Probe {
    fn update(&mut self, msg: Msg) -> Vec<Effect> {
        if self.stop.load(Ordering::Relaxed) {
            return vec![Effect::Quit];
        }
        match &msg {
            Msg::ActionDone { .. } => self.answer_pending = true,
            Msg::Server(ev) => {
                if let Some(Change::Approval { approval }) = &ev.change
                    && approval.state != ApprovalState::Pending
                {
                    self.event_pending = true;
                }
            }
            _ => {}
        }
        self.app.update(msg)
    }
    fn draw(&self, frame: &mut ratatui::Frame) {
        self.app.draw(frame);
    }
    fn is_dirty(&self) -> bool {
        self.app.is_dirty()
    }
    fn mark_drawn(&mut self) {
        self.app.mark_drawn();
        let now = Instant::now();
        let mut marks = self.marks.lock().expect("not poisoned");
        if std::mem::take(&mut self.answer_pending) {
            marks.answered.get_or_insert(now);
        }
        if std::mem::take(&mut self.event_pending) {
            marks.shown.get_or_insert(now);
        }
    }
}

fn press(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn main() {
    let samples: usize = std::env::var("PERF_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
        .clamp(1, 2_000);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run(samples));
}

async fn run(samples: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server::start(ServeOptions {
        listen: "127.0.0.1:0".parse().expect("loopback"),
        state: dir.path().join("state.db"),
        tokens: TokenSource::Entries(vec![TokenEntry {
            sha256_hex: hash_token(TOKEN),
            user: "perf".into(),
            roles: vec![Role::Operator, Role::Approver],
        }]),
        config: None,
        demo: None,
    })
    .await
    .expect("the control plane starts");
    // Expiries ascending: the pane's first row is always the next one to approve.
    let store = server.store();
    let mut tx = store.begin().await.expect("begin");
    for i in 0..samples {
        approvals::insert(
            &mut tx,
            NewApproval {
                kind: ApprovalKind::PolicyException,
                subject: format!("pg-perf-{i:04} · stale evidence"),
                campaign_id: None,
                database_id: None,
                ring: None,
                requested_by: "runner".into(),
                reason: "benchmark".into(),
                blast_radius: BlastRadius {
                    databases: 1,
                    prod: 0,
                    tier1: 0,
                },
                findings: Vec::new(),
                approvals_required: 1,
                expires_at: chrono::Utc::now()
                    + chrono::Duration::hours(2)
                    + chrono::Duration::seconds(i as i64),
            },
            None,
        )
        .await
        .expect("raise approval");
    }
    store.commit(tx).await.expect("commit");

    let base = format!("http://{}", server.local_addr());
    let client = Client::new(&base, TOKEN).expect("client");
    let whoami = client.whoami().await.expect("whoami");
    let snapshot = client.snapshot().await.expect("snapshot");
    let after = snapshot.last_seq;
    let mut app = App::new(support::config());
    app.update(Msg::Resize(200, 60));
    app.update(Msg::Loaded {
        whoami,
        snapshot: Box::new(snapshot),
    });
    app.update(Msg::Tick(chrono::Utc::now()));
    let stop = Arc::new(AtomicBool::new(false));
    let marks = Arc::new(Mutex::new(Marks::default()));
    let mut probe = Probe {
        app,
        stop: stop.clone(),
        marks: marks.clone(),
        answer_pending: false,
        event_pending: false,
    };
    let (tx, mut rx) = mpsc::channel(4096);
    let stream = spawn_event_stream(client.clone(), after, tx.clone(), StreamOptions::default());
    let runner = EffectRunner::new(client, tx.clone());
    let looping = tokio::spawn(async move {
        let mut terminal = support::terminal(200, 60);
        event_loop(
            &mut probe,
            &mut terminal,
            &mut rx,
            |e| runner.run(e),
            Duration::from_millis(16),
        )
        .await
        .expect("the loop never fails on a test backend");
    });

    let send = |msg: Msg| {
        let tx = tx.clone();
        async move { tx.send(msg).await.expect("the loop is running") }
    };
    let pause = || tokio::time::sleep(Duration::from_millis(20));
    send(support::key('4')).await;
    pause().await;
    let (mut to_answer, mut to_event, mut event_after_answer) =
        (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..samples {
        *marks.lock().expect("not poisoned") = Marks::default();
        send(support::key('a')).await;
        pause().await;
        send(press(KeyCode::Tab)).await;
        pause().await;
        let t = Instant::now();
        send(press(KeyCode::Enter)).await;
        let limit = t + Duration::from_secs(5);
        loop {
            let (answered, shown) = {
                let m = marks.lock().expect("not poisoned");
                (m.answered, m.shown)
            };
            if let (Some(a), Some(s)) = (answered, shown) {
                to_answer.push(a - t);
                to_event.push(s - t);
                event_after_answer.push(s.saturating_duration_since(a));
                break;
            }
            assert!(Instant::now() < limit, "no answer and event within 5 s");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        pause().await;
    }
    stop.store(true, Ordering::Relaxed);
    send(Msg::Tick(chrono::Utc::now())).await;
    looping.await.expect("loop");
    stream.abort();
    server.shutdown().await;
    to_answer.sort();
    to_event.sort();
    event_after_answer.sort();
    let pct = |v: &[Duration], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    println!(
        "roundtrip: {samples} approvals on loopback (key -> request -> commit -> event -> frame)"
    );
    println!(
        "  Enter -> frame with the event's new state: p50 {} p99 {} max {}   target p99 < 20 ms",
        ms(pct(&to_event, 0.5)),
        ms(pct(&to_event, 0.99)),
        ms(pct(&to_event, 1.0))
    );
    println!(
        "  Enter -> frame with the request's answer: p50 {} p99 {}",
        ms(pct(&to_answer, 0.5)),
        ms(pct(&to_answer, 0.99))
    );
    println!(
        "  answer's frame -> event's frame:           p50 {} p99 {} max {}",
        ms(pct(&event_after_answer, 0.5)),
        ms(pct(&event_after_answer, 0.99)),
        ms(pct(&event_after_answer, 1.0))
    );
}
