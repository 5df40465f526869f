//! The simulated executor: timing, streamed output, scripted situations, determinism.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fleetdeck_api::{Database, DbRole, Environment, HealthStatus, Level};
use fleetdeck_control_plane::demo;
use fleetdeck_control_plane::executor::simulated::{SimConfig, SimulatedExecutor, read_call_log};
use fleetdeck_control_plane::executor::{Executor, LogLine, LogSink};
use tokio::sync::mpsc::UnboundedReceiver;

/// Fast enough that a patch takes milliseconds.
const FAST: f64 = 10_000.0;

fn fleet() -> Vec<Database> {
    demo::generate(
        240,
        5,
        Utc.with_ymd_and_hms(2026, 11, 21, 22, 0, 0).unwrap(),
    )
    .databases
}

fn find(fleet: &[Database], f: impl Fn(&Database) -> bool) -> Database {
    fleet
        .iter()
        .find(|d| f(d))
        .expect("the demo fleet has one")
        .clone()
}

fn sim(f: impl FnOnce(&mut SimConfig)) -> SimulatedExecutor {
    let mut cfg = SimConfig {
        seed: 9,
        time_scale: FAST,
        ..SimConfig::default()
    };
    f(&mut cfg);
    SimulatedExecutor::new(cfg)
}

fn drain(rx: &mut UnboundedReceiver<LogLine>) -> Vec<LogLine> {
    let mut lines = Vec::new();
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    lines
}

#[tokio::test]
async fn a_patch_changes_the_version_and_narrates_it() {
    let fleet = fleet();
    let db = find(&fleet, |d| {
        d.engine == "postgres" && d.engine_version == "16.4"
    });
    let exec = sim(|_| {});
    let (log, mut rx) = LogSink::channel();
    exec.precheck(&db, "16.6", log.clone()).await.unwrap();
    exec.patch(&db, "16.6", log).await.unwrap();
    assert_eq!(exec.actual_version(&db).await.unwrap(), "16.6");
    assert_eq!(exec.patch_calls(&db.id), 1);
    assert_eq!(exec.precheck_calls(&db.id), 1);
    assert_eq!(exec.rollback_calls(&db.id), 0);
    let lines = drain(&mut rx);
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert!(
        texts.iter().any(|t| t.starts_with("precheck: disk free")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("16.4 -> 16.6")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("PostgreSQL 16.6")),
        "{texts:?}"
    );
    assert!(lines.iter().all(|l| l.level == Level::Info));

    exec.rollback(&db, "16.4", LogSink::discard())
        .await
        .unwrap();
    assert_eq!(exec.actual_version(&db).await.unwrap(), "16.4");
    assert_eq!(exec.rollback_calls(&db.id), 1);
}

#[tokio::test]
async fn a_major_upgrade_runs_pg_upgrade() {
    let fleet = fleet();
    let db = find(&fleet, |d| d.engine_version.starts_with("15."));
    let (log, mut rx) = LogSink::channel();
    sim(|_| {}).patch(&db, "16.6", log).await.unwrap();
    let lines = drain(&mut rx);
    assert!(
        lines
            .iter()
            .any(|l| l.text.starts_with("pg_upgrade: Checking cluster versions"))
    );
}

#[tokio::test]
async fn operations_take_simulated_time_divided_by_the_time_scale() {
    let fleet = fleet();
    let db = find(&fleet, |d| d.engine == "mysql");
    // 1000x: a patch of 25..105 simulated seconds takes 25..105 ms.
    let exec = sim(|c| c.time_scale = 1000.0);
    let (log, mut rx) = LogSink::channel();
    let start = Instant::now();
    let patch = exec.patch(&db, "8.0.40", log);
    tokio::pin!(patch);
    // Output streams while the patch runs: the first line comes before the end.
    let first = tokio::select! {
        line = rx.recv() => line.unwrap(),
        _ = &mut patch => panic!("the patch finished before printing"),
    };
    assert!(first.text.starts_with(&format!("patch {}", db.id)));
    patch.await.unwrap();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(20), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    let rest = drain(&mut rx);
    assert!(
        rest.iter()
            .any(|l| l.text.contains("ready for connections. Version: '8.0.40'"))
    );
}

#[tokio::test]
async fn scripted_patch_and_precheck_failures_leave_the_version() {
    let fleet = fleet();
    let db = find(&fleet, |d| d.engine == "postgres");
    let other = find(&fleet, |d| d.engine == "mysql");
    let exec = sim(|c| {
        c.fail_patch.insert(db.id.clone());
        c.fail_precheck.insert(other.id.clone());
    });
    let (log, mut rx) = LogSink::channel();
    let err = exec.patch(&db, "16.6", log.clone()).await.unwrap_err();
    assert!(
        err.message.contains("did not start after the upgrade"),
        "{err}"
    );
    assert!(!err.timed_out);
    assert_eq!(exec.actual_version(&db).await.unwrap(), db.engine_version);
    let err = exec.precheck(&other, "8.0.40", log).await.unwrap_err();
    assert!(err.message.contains("disk free"), "{err}");
    let lines = drain(&mut rx);
    assert!(lines.iter().any(|l| l.level == Level::Warn));
    assert_eq!(lines.iter().filter(|l| l.level == Level::Error).count(), 2);
    // Tests may change the script while running.
    exec.update_config(|c| c.fail_patch.clear());
    exec.patch(&db, "16.6", LogSink::discard()).await.unwrap();
    assert_eq!(exec.patch_calls(&db.id), 2);
}

#[tokio::test]
async fn degraded_health_after_a_patch_lasts_until_rollback() {
    let fleet = fleet();
    let db = find(&fleet, |d| d.role == DbRole::Primary);
    let exec = sim(|c| {
        c.degrade_after_patch.insert(db.id.clone());
    });
    let before = exec.health(&db).await.unwrap();
    assert_eq!(before.status, HealthStatus::Healthy);
    assert!(before.replication_lag_s.is_none(), "a primary has no lag");
    exec.patch(&db, "9.9", LogSink::discard()).await.unwrap();
    let after = exec.health(&db).await.unwrap();
    assert_eq!(after.status, HealthStatus::Degraded);
    assert!(after.latency_ms >= 250.0);
    exec.rollback(&db, &db.engine_version, LogSink::discard())
        .await
        .unwrap();
    assert_eq!(
        exec.health(&db).await.unwrap().status,
        HealthStatus::Healthy
    );
}

#[tokio::test]
async fn a_lagging_replica_drains_over_simulated_time() {
    let fleet = fleet();
    let db = find(&fleet, |d| d.role == DbRole::Replica);
    // 200x: the 600 simulated seconds of draining take 3 s, so even a busy machine's
    // scheduling delays do not drain it before the first look.
    let exec = sim(|c| {
        c.time_scale = 200.0;
        c.lag_after_patch.insert(db.id.clone(), 90.0);
    });
    let lag = |h: fleetdeck_api::Health| h.replication_lag_s.expect("a replica reports lag");
    assert!(lag(exec.health(&db).await.unwrap()) < 1.0);
    exec.patch(&db, "9.9", LogSink::discard()).await.unwrap();
    let right_after = lag(exec.health(&db).await.unwrap());
    assert!(
        right_after > 45.0,
        "lag right after the patch: {right_after}"
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let later = lag(exec.health(&db).await.unwrap());
    assert!(later < 1.0, "lag after draining: {later}");
}

#[tokio::test]
async fn a_failed_rollback_leaves_the_new_version_for_reconcile() {
    let fleet = fleet();
    let db = find(&fleet, |d| d.engine == "postgres");
    let exec = sim(|c| {
        c.fail_rollback.insert(db.id.clone());
    });
    exec.patch(&db, "16.9", LogSink::discard()).await.unwrap();
    let err = exec
        .rollback(&db, &db.engine_version, LogSink::discard())
        .await
        .unwrap_err();
    assert!(err.message.contains("still runs the new version"), "{err}");
    assert_eq!(exec.actual_version(&db).await.unwrap(), "16.9");
    exec.force_version(&db.id, "16.1");
    assert_eq!(exec.actual_version(&db).await.unwrap(), "16.1");
}

#[tokio::test]
async fn drills_mostly_verify_and_scripted_ones_find_a_checksum_mismatch() {
    let fleet = fleet();
    let tier1 = find(&fleet, |d| d.tier == 1);
    let tier3 = find(&fleet, |d| d.tier == 3);
    let exec = sim(|c| {
        c.drill_fails.insert(tier3.id.clone());
    });
    let (log, mut rx) = LogSink::channel();
    let ok = exec.restore_drill(&tier1, log).await.unwrap();
    assert!(ok.checksum_ok);
    assert!(
        (1200.0..=3000.0).contains(&ok.restore_seconds),
        "{}",
        ok.restore_seconds
    );
    assert!(ok.backup_id.starts_with("bk-"));
    assert!(ok.recovery_point.unwrap() < Utc::now());
    assert!(ok.output.contains("checksums verified"), "{}", ok.output);
    assert_eq!(drain(&mut rx).len(), ok.output.lines().count());

    let bad = exec
        .restore_drill(&tier3, LogSink::discard())
        .await
        .unwrap();
    assert!(!bad.checksum_ok);
    assert!((90.0..=490.0).contains(&bad.restore_seconds));
    assert!(bad.output.contains("CHECKSUM MISMATCH"), "{}", bad.output);
    assert_eq!(exec.drill_calls(&tier3.id), 1);
}

#[tokio::test]
async fn the_same_seed_repeats_the_same_run() {
    let fleet = fleet();
    let dbs: Vec<Database> = fleet.iter().take(6).cloned().collect();
    let run = |seed: u64| {
        let dbs = dbs.clone();
        async move {
            let exec = sim(|c| c.seed = seed);
            let mut seen = Vec::new();
            for db in &dbs {
                let d = exec.restore_drill(db, LogSink::discard()).await.unwrap();
                let h = exec.health(db).await.unwrap();
                seen.push((d.restore_seconds, h.connections, h.latency_ms.to_bits()));
            }
            seen
        }
    };
    assert_eq!(run(3).await, run(3).await);
    assert_ne!(run(3).await, run(4).await);
}

#[test]
fn the_demo_script_is_picked_from_the_fleet_by_seed() {
    let fleet = fleet();
    let cfg = SimConfig::scripted(5, 20.0, &fleet);
    assert_eq!(cfg, SimConfig::scripted(5, 20.0, &fleet));
    assert_ne!(cfg, SimConfig::scripted(6, 20.0, &fleet));
    assert_eq!(cfg.time_scale, 20.0);
    let get = |id: &String| {
        fleet
            .iter()
            .find(|d| &d.id == id)
            .expect("a fleet database")
    };

    // Ring 1 of mysql (the engine that sorts first) fails its gate: three troubled
    // targets and a lagging replica.
    assert_eq!(cfg.fail_patch.len(), 1);
    assert_eq!(cfg.degrade_after_patch.len(), 2);
    for id in cfg.fail_patch.iter().chain(&cfg.degrade_after_patch) {
        let db = get(id);
        assert_eq!((db.engine.as_str(), db.ring), ("mysql", 1), "{id}");
    }
    assert!(cfg.lag_after_patch.iter().any(|(id, peak)| {
        let db = get(id);
        db.ring == 1 && db.engine == "mysql" && *peak > 30.0
    }));
    // Prod replicas lag visibly but within the default 30 s limit.
    for (id, peak) in &cfg.lag_after_patch {
        let db = get(id);
        assert_eq!(db.role, DbRole::Replica, "{id}");
        if db.environment == Environment::Prod {
            assert!(*peak < 30.0, "{id} lags {peak}");
        }
    }
    // A ring-0 mysql database cannot be rolled back: reconcile has something to say.
    assert_eq!(cfg.fail_rollback.len(), 1);
    assert!(cfg.fail_rollback.iter().all(|id| get(id).ring == 0));
    // Postgres stays clean so its campaigns reach production.
    for id in cfg
        .fail_patch
        .iter()
        .chain(&cfg.degrade_after_patch)
        .chain(&cfg.fail_rollback)
    {
        assert_eq!(get(id).engine, "mysql", "{id}");
    }
    assert_eq!(cfg.drill_fails.len(), 240usize.div_ceil(25));
}

#[tokio::test]
async fn the_call_log_counts_calls_across_restarts() {
    let fleet = fleet();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.log");
    let db = fleet[0].clone();
    for _ in 0..2 {
        // A fresh executor stands for a restarted server: its counters start at zero,
        // the log keeps counting.
        let exec = sim(|c| c.call_log = Some(path.clone()));
        exec.precheck(&db, "16.6", LogSink::discard())
            .await
            .unwrap();
        exec.patch(&db, "16.6", LogSink::discard()).await.unwrap();
        exec.health(&db).await.unwrap();
        assert_eq!(exec.patch_calls(&db.id), 1);
    }
    let counts = read_call_log(&path).unwrap();
    let n = |op: &str| counts.get(&(op.to_string(), db.id.clone())).copied();
    assert_eq!(n("patch"), Some(2));
    assert_eq!(n("precheck"), Some(2));
    assert_eq!(n("health"), None, "reads are not recorded");

    let exec = sim(|c| c.call_log = Some(dir.path().join("no-such-dir/calls.log")));
    let err = exec
        .patch(&db, "16.6", LogSink::discard())
        .await
        .unwrap_err();
    assert!(
        err.message.contains("cannot record the patch call"),
        "{err}"
    );
    assert_eq!(exec.actual_version(&db).await.unwrap(), db.engine_version);
}
