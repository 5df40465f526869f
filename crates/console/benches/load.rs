//! Benchmarks 3 and 4 (docs/performance.md), on the console's real event loop
//! (`runtime::event_loop`, the same bounded channel, batch size and 16 ms frame
//! interval as the binary) drawing the real `App` into a 200×60 `TestBackend`:
//!
//! - `responsiveness`: 100k databases while 10k events/s arrive (health changes, target
//!   updates, log lines; each decoded from JSON as the stream client does); a key press
//!   every 50 ms; the time from sending the key to the end of the frame that follows it.
//! - `ingest`: 50k log lines/s for `PERF_SECONDS` (default 60); the time from a line being
//!   sent to the end of the first frame that shows it, and the resident memory.
//!
//! `cargo bench -p fleetdeck-console --bench load [-- responsiveness|ingest]`
//! Both loads are bounded in count and time; nothing leaves the process.

mod support;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleetdeck_api::{Change, Event, TargetState};
use fleetdeck_console::runtime::{Screen, event_loop};
use fleetdeck_console::{App, Effect, Msg};
use support::Scale;
use tokio::sync::mpsc;

const W: u16 = 200;
const H: u16 = 60;
const FRAME: Duration = Duration::from_millis(16);
/// The runtime's channel capacity (`RunOptions::default`).
const CHANNEL: usize = 4096;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wants = |name: &str| {
        let named: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        named.is_empty() || named.iter().any(|a| name.contains(a.as_str()))
    };
    let seconds = std::env::var("PERF_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(60)
        .clamp(1, 600);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if wants("responsiveness") {
        rt.block_on(responsiveness(Duration::from_secs(seconds.min(30))));
    }
    if wants("ingest") {
        rt.block_on(ingest(Duration::from_secs(seconds)));
    }
}

/// The real app, watched: when keys are handled and what each frame shows.
struct Probe {
    app: App,
    /// Send times of keys not yet handled, oldest first (shared with the key task).
    keys_sent: Arc<Mutex<VecDeque<Instant>>>,
    /// Keys handled since the last frame, by send time.
    keys_waiting: Vec<Instant>,
    key_latencies: Vec<Duration>,
    /// With `Some`: the newest `L#seq` on screen after each frame is written here.
    shown: Option<Arc<AtomicU64>>,
    frames: u64,
    updates: u64,
}

impl Screen for Probe {
    fn update(&mut self, msg: Msg) -> Vec<Effect> {
        self.updates += 1;
        if matches!(msg, Msg::Key(_))
            && let Some(sent) = self.keys_sent.lock().expect("not poisoned").pop_front()
        {
            self.keys_waiting.push(sent);
        }
        self.app.update(msg)
    }
    fn draw(&self, frame: &mut ratatui::Frame) {
        self.app.draw(frame);
        if let Some(shown) = &self.shown {
            shown.fetch_max(newest_line(frame.buffer_mut()), Ordering::Relaxed);
        }
    }
    fn is_dirty(&self) -> bool {
        self.app.is_dirty()
    }
    fn mark_drawn(&mut self) {
        self.app.mark_drawn();
        self.frames += 1;
        let now = Instant::now();
        for sent in self.keys_waiting.drain(..) {
            self.key_latencies.push(now - sent);
        }
    }
}

/// The highest `L#n` on screen.
fn newest_line(buf: &ratatui::buffer::Buffer) -> u64 {
    let mut best = 0;
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        for part in row.split("L#").skip(1) {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse::<u64>() {
                best = best.max(n);
            }
        }
    }
    best
}

fn probe(app: App, shown: Option<Arc<AtomicU64>>) -> Probe {
    Probe {
        app,
        keys_sent: Arc::default(),
        keys_waiting: Vec::new(),
        key_latencies: Vec::new(),
        shown,
        frames: 0,
        updates: 0,
    }
}

/// Runs the loop on `probe` until `stop` is set and the channel is closed.
async fn run_loop(mut probe: Probe, mut rx: mpsc::Receiver<Msg>) -> Probe {
    let mut terminal = support::terminal(W, H);
    event_loop(&mut probe, &mut terminal, &mut rx, |_| {}, FRAME)
        .await
        .expect("the loop never fails on a test backend");
    probe
}

/// Sends `per_second` events in 1 ms slices from `make`, decoding each from JSON first
/// (the stream client's work), until `until`. Returns how many were sent.
async fn produce(
    tx: mpsc::Sender<Msg>,
    per_second: u64,
    until: Instant,
    first_seq: u64,
    sent_at: Option<SentAt>,
    make: impl Fn(u64) -> String,
) -> u64 {
    let start = Instant::now();
    let mut seq = first_seq;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while Instant::now() < until {
        tick.tick().await;
        let due = first_seq + (start.elapsed().as_secs_f64() * per_second as f64) as u64;
        while seq < due {
            seq += 1;
            let event: Event = serde_json::from_str(&make(seq)).expect("our own JSON decodes");
            if tx.send(Msg::Server(Box::new(event))).await.is_err() {
                return seq - first_seq;
            }
            if seq.is_multiple_of(500)
                && let Some(at) = &sent_at
            {
                at.lock().expect("not poisoned").push((seq, Instant::now()));
            }
        }
    }
    seq - first_seq
}

/// When checkpoint lines (every 500th) were sent: (seq, time).
type SentAt = Arc<Mutex<Vec<(u64, Instant)>>>;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("?".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0))
}

/// The JSON of event `seq` in the 10k/s mix: 60 % health changes, 30 % target updates,
/// 10 % plain log lines, spread over the whole fleet.
fn mixed_event(databases: usize) -> impl Fn(u64) -> String {
    let per_ring = databases.div_ceil(3);
    move |seq| {
        let i = (seq as usize).wrapping_mul(7919) % databases;
        let event = match seq % 10 {
            0 => support::log_line(seq),
            1..=3 => support::event(
                seq,
                Change::Target {
                    campaign_id: "cmp-00000".into(),
                    ring: (i / per_ring) as u8,
                    target: Box::new(support::target(i, TargetState::Done)),
                    campaign_version: seq,
                },
            ),
            _ => support::event(
                seq,
                Change::Database {
                    database: Box::new(support::database(i, seq as usize)),
                },
            ),
        };
        serde_json::to_string(&event).expect("events serialise")
    }
}

async fn responsiveness(duration: Duration) {
    const DATABASES: usize = 100_000;
    const RATE: u64 = 10_000;
    let app = support::loaded_app(support::snapshot(Scale::dashboard(DATABASES)), W, H);
    let probe = probe(app, None);
    let keys_sent = probe.keys_sent.clone();
    let (tx, rx) = mpsc::channel(CHANNEL);
    let until = Instant::now() + duration;
    let looping = tokio::spawn(run_loop(probe, rx));
    // The JSON is built ahead in the producer's own time slice, as a server would.
    let make = mixed_event(DATABASES);
    let producer = tokio::spawn(produce(
        tx.clone(),
        RATE,
        until,
        support::LOG_CAP as u64,
        None,
        make,
    ));
    let keys = tokio::spawn(async move {
        let mut n = 0u64;
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
            keys_sent
                .lock()
                .expect("not poisoned")
                .push_back(Instant::now());
            let c = if n.is_multiple_of(2) { 'j' } else { 'k' };
            if tx.send(support::key(c)).await.is_err() {
                break;
            }
            n += 1;
        }
        n
    });
    let sent = producer.await.expect("producer");
    let pressed = keys.await.expect("keys");
    let probe = looping.await.expect("loop");
    let mut lat = probe.key_latencies.clone();
    lat.sort();
    println!(
        "responsiveness: {DATABASES} databases, {:.0} events/s for {:.0} s ({} events, {} frames)",
        sent as f64 / duration.as_secs_f64(),
        duration.as_secs_f64(),
        sent,
        probe.frames
    );
    println!(
        "  key -> frame: n={} (of {pressed} pressed) p50 {} p99 {} max {}   target p99 < 16 ms",
        lat.len(),
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99)),
        ms(pct(&lat, 1.0))
    );
}

async fn ingest(duration: Duration) {
    const RATE: u64 = 50_000;
    let app = support::loaded_app(support::snapshot(Scale::dashboard(10_000)), W, H);
    let rss_before = support::rss_bytes();
    let shown = Arc::new(AtomicU64::new(0));
    let probe = probe(app, Some(shown.clone()));
    let (tx, rx) = mpsc::channel(CHANNEL);
    let until = Instant::now() + duration;
    let looping = tokio::spawn(run_loop(probe, rx));
    let sent_at: SentAt = Arc::default();
    // Watches the screen: when a checkpoint line first shows, its delay is known.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (shown, sent_at, done) = (shown.clone(), sent_at.clone(), done.clone());
        tokio::spawn(async move {
            let mut delays = Vec::new();
            let mut peak_rss = 0;
            let mut next = 0;
            loop {
                let on_screen = shown.load(Ordering::Relaxed);
                let now = Instant::now();
                let marks = sent_at.lock().expect("not poisoned").clone();
                while next < marks.len() && marks[next].0 <= on_screen {
                    delays.push(now.saturating_duration_since(marks[next].1));
                    next += 1;
                }
                peak_rss = peak_rss.max(support::rss_bytes().unwrap_or(0));
                if done.load(Ordering::Relaxed) && next >= marks.len() {
                    return (delays, peak_rss, marks.len() - next);
                }
                if done.load(Ordering::Relaxed) && now > until + Duration::from_secs(2) {
                    return (delays, peak_rss, marks.len() - next);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    // Held until the end so the loop keeps drawing what the producer sent last.
    let keep_open = tx.clone();
    let sent = produce(
        tx,
        RATE,
        until,
        support::LOG_CAP as u64,
        Some(sent_at),
        |seq| serde_json::to_string(&support::log_line(seq)).expect("events serialise"),
    )
    .await;
    let last = support::LOG_CAP as u64 + sent;
    done.store(true, Ordering::Relaxed);
    let (mut delays, peak_rss, unseen) = watcher.await.expect("watcher");
    let deadline = Instant::now() + Duration::from_secs(2);
    while shown.load(Ordering::Relaxed) < last && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(keep_open);
    let probe = looping.await.expect("loop");
    delays.sort();
    println!(
        "ingest: {:.0} lines/s for {:.0} s ({sent} lines, {} frames, log cap {})",
        sent as f64 / duration.as_secs_f64(),
        duration.as_secs_f64(),
        probe.frames,
        support::LOG_CAP
    );
    println!(
        "  line sent -> first frame showing it (every 500th line, 1 ms resolution): p50 {} p99 {} max {}; never shown: {unseen}",
        ms(pct(&delays, 0.5)),
        ms(pct(&delays, 0.99)),
        ms(pct(&delays, 1.0)),
    );
    println!(
        "  last line L#{last} on screen at the end: {}; RSS before {} peak {}",
        shown.load(Ordering::Relaxed) >= last,
        mib(rss_before),
        mib(Some(peak_rss))
    );
}
