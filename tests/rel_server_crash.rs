//! Crash safety: the real `fleetdeck serve` is killed with SIGKILL at random moments while
//! campaigns run and a client keeps acting on them (create, approve, pause, resume, roll
//! back, drill), each action with an `Idempotency-Key` and retried with that same key
//! until it gets an answer. The server is restarted on the same state file each time.
//! After every kill: `PRAGMA integrity_check` is ok and no database was patched or rolled
//! back twice (the simulated executor's durable call log). After every restart: every
//! action that got a 2xx is in the event log, the event sequence is contiguous, and every
//! campaign, ring and target is in a state the workflow can be in.
//!
//! `FLEETDECK_CRASH_KILLS` sets the number of kills (10 by default; the documented full
//! run is 50), `FLEETDECK_CRASH_SEED` the seed of the random moments and actions.

mod crash_harness;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crash_harness::checks::{check_offline, check_online};
use crash_harness::client::{Shared, client, drill_hammer};
use crash_harness::server::Server;
use crash_harness::{Rng, config, env_number, write_tokens};
use fleetdeck_api::Campaign;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_no_answered_action_and_patches_nothing_twice() {
    let kills = env_number("FLEETDECK_CRASH_KILLS", 10);
    let seed = env_number("FLEETDECK_CRASH_SEED", 0x5eed_c0de) | 1;
    let groups = (kills as usize).max(4) * 2;
    let dir = tempfile::tempdir().unwrap();
    let call_log = dir.path().join("calls.log");
    std::fs::write(dir.path().join("fleet.toml"), config(groups, &call_log)).unwrap();
    write_tokens(dir.path());
    let addr: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut server = Server {
        dir: dir.path().to_path_buf(),
        addr,
        child: None,
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    server.spawn();
    server.wait_ready(&http).await;

    let shared = Arc::new(Shared {
        base: format!("http://{addr}"),
        http: http.clone(),
        acked: Mutex::default(),
        stop: AtomicBool::new(false),
        surprises: Mutex::default(),
        sent: AtomicU64::new(0),
        retried: AtomicU64::new(0),
        acked_after_retry: AtomicU64::new(0),
    });
    let worker = tokio::spawn(client(Arc::clone(&shared), groups, seed));
    let hammer = tokio::spawn(drill_hammer(Arc::clone(&shared), groups, seed));

    let started = Instant::now();
    let mut rng = Rng(seed);
    let mut last = (0, 0, 0);
    let mut calls = HashMap::new();
    for _ in 0..kills {
        // A random moment of the campaign's life (not a synchronisation).
        tokio::time::sleep(Duration::from_millis(150 + rng.below(1200))).await;
        server.kill();
        calls = check_offline(&server.state(), &call_log).await;
        server.spawn();
        server.wait_ready(&http).await;
        last = check_online(&shared).await;
    }
    shared.stop.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .expect("client stops")
        .expect("client did not panic");
    tokio::time::timeout(Duration::from_secs(30), hammer)
        .await
        .expect("drill client stops")
        .expect("drill client did not panic");
    let (acked, found, last_seq) = check_online(&shared).await;
    assert!(acked >= last.0);

    let surprises = shared.surprises.lock().unwrap().clone();
    assert!(surprises.is_empty(), "unexpected answers: {surprises:#?}");
    let patches: u32 = calls
        .iter()
        .filter(|((op, _), _)| op == "patch")
        .map(|(_, n)| n)
        .sum();
    let campaigns: Vec<Campaign> = shared.get("/v1/campaigns").await.unwrap();
    let finished = campaigns.iter().filter(|c| c.state.is_finished()).count();
    let summary = format!(
        "crash harness: kills {kills}, actions sent {}, retries {}, actions acknowledged {acked} ({} after a retry), \
         actions found in the log {found}, events {last_seq}, campaigns {} ({finished} finished), \
         patch calls {patches}, seed {seed}, {:.1} s",
        shared.sent.load(Ordering::Relaxed),
        shared.retried.load(Ordering::Relaxed),
        shared.acked_after_retry.load(Ordering::Relaxed),
        campaigns.len(),
        started.elapsed().as_secs_f64(),
    );
    println!("{summary}");
    eprintln!("{summary}");
    assert!(
        acked > kills as usize,
        "the client got too few answers: {summary}"
    );
    assert!(patches > 0, "no target was ever patched: {summary}");
    assert_eq!(acked, found);
}
