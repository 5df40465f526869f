//! Benchmark 9b (docs/performance.md): resident memory of the control plane holding
//! 100k databases (with their generated drill history) and 1M stored events.
//!
//! The state is built once in a temp dir through the store's own functions; then this
//! program starts itself again as a bare control plane on that state (`serve STATE`), asks
//! it for `/v1/snapshot` (the largest answer) and for the stream of recent events, and
//! reads the child's VmRSS and VmHWM from /proc. The child is this process's own child
//! and is stopped by its id.
//!
//! `cargo bench -p fleetdeck-control-plane --bench footprint` (`PERF_DATABASES`,
//! `PERF_EVENTS` change the sizes; with `PERF_STATE=FILE` the state is written there and
//! kept, for `scripts/perf/memory.sh` to run the console against)

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleetdeck_api::{EventSubject, Level};
use fleetdeck_control_plane::demo::fleet;
use fleetdeck_control_plane::store::Store;
use fleetdeck_control_plane::store::events::{NewEvent, append};

const EVENTS_PER_TX: usize = 10_000;

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        .clamp(1, 10_000_000)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [serve, state, ..] = args.as_slice()
        && serve == "serve"
    {
        support::runtime().block_on(serve_child(Path::new(state)));
        return;
    }
    let databases = env_size("PERF_DATABASES", 100_000);
    let events = env_size("PERF_EVENTS", 1_000_000);
    let dir = support::temp_dir();
    let state = std::env::var_os("PERF_STATE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| support::state_path(&dir));
    let built = Instant::now();
    support::runtime().block_on(populate(&state, databases, events));
    let on_disk = state.parent().map_or(0, dir_size);
    println!(
        "footprint: state with {databases} databases and {events} events built in {:.0} s ({:.0} MiB on disk)",
        built.elapsed().as_secs_f64(),
        on_disk as f64 / 1048576.0
    );
    measure_child(&state);
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

async fn populate(state: &Path, databases: usize, events: usize) {
    let store = Store::open(state).await.expect("open state");
    let demo = fleet::generate(databases, 7, chrono::Utc::now());
    let mut tx = store.begin().await.expect("begin");
    fleetdeck_control_plane::store::fleet::seed(&mut tx, &demo.databases, &demo.drills)
        .await
        .expect("seed");
    store.commit(tx).await.expect("commit");
    let mut written = 0;
    while written < events {
        let mut tx = store.begin().await.expect("begin");
        for _ in 0..EVENTS_PER_TX.min(events - written) {
            let db = &demo.databases[written % demo.databases.len()];
            let ev = NewEvent::new(
                "executor",
                "executor.output",
                Level::Info,
                format!("{}: pg_upgrade copying relation files ({written})", db.id),
            )
            .subject(EventSubject {
                database_id: Some(db.id.clone()),
                ..EventSubject::default()
            });
            append(&mut tx, ev).await.expect("append");
            written += 1;
        }
        store.commit(tx).await.expect("commit");
    }
    store.close().await;
}

/// The child: a bare control plane on `state`; prints its address, then runs until stdin closes.
async fn serve_child(state: &Path) {
    let server = support::start(state).await;
    println!("{}", server.local_addr());
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await;
    server.shutdown().await;
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn measure_child(state: &Path) {
    let exe = std::env::current_exe().expect("own path");
    let started = Instant::now();
    let mut child = Command::new(exe)
        .arg("serve")
        .arg(state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the child control plane");
    let pid = child.id();
    let mut addr = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut addr)
        .expect("the child prints its address");
    let ready = started.elapsed();
    let idle_kib = status_kib(pid, "VmRSS:");
    let base = format!("http://{}", addr.trim());
    let (snapshot_bytes, took) = support::runtime().block_on(async {
        let client = reqwest::Client::new();
        let t = Instant::now();
        let body = client
            .get(format!("{base}/v1/snapshot"))
            .bearer_auth(support::token(support::OPERATOR))
            .send()
            .await
            .expect("snapshot answers")
            .bytes()
            .await
            .expect("snapshot body");
        (body.len(), t.elapsed())
    });
    std::thread::sleep(Duration::from_secs(1));
    let rss = status_kib(pid, "VmRSS:");
    let hwm = status_kib(pid, "VmHWM:");
    drop(child.stdin.take());
    let _ = child.wait();
    let mib = |kib: u64| format!("{:.0} MiB", kib as f64 / 1024.0);
    println!(
        "  control plane ready in {:.2} s; RSS idle {}; /v1/snapshot ({:.1} MiB) took {:.2} s; RSS after {} peak {}",
        ready.as_secs_f64(),
        mib(idle_kib),
        snapshot_bytes as f64 / 1048576.0,
        took.as_secs_f64(),
        mib(rss),
        mib(hwm)
    );
}
