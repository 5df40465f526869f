//! The built-in restore drill on real PostgreSQL servers the test makes: from
//! `pg_basebackup` and from a pgBackRest repository, the recovery point checked; a
//! backup corrupted on disk fails the drill naming the check that caught it; and
//! whatever happens, nothing of the copy is left.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use fleetdeck_api::{BackupPolicy, Database, DbRole, Environment, Health};
use fleetdeck_control_plane::executor::postgres::drill::config::{Expect, SqlCheck};
use fleetdeck_control_plane::executor::postgres::drill::{
    self, BackupSource, DrillConfig, DrillEndpoints, Endpoint,
};
use fleetdeck_control_plane::executor::{DrillOutcome, LogSink};
use fleetdeck_pg_harness::{Cluster, Options, skipped};

/// One primary with a pgBackRest repository and a first full backup, shared by the
/// tests of this file (each drill restores into its own scratch directory).
struct Shared {
    cluster: Cluster,
    first_set: String,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let cluster = Cluster::start_with(&Options {
            pgbackrest_stanza: Some("main".into()),
            ..Options::default()
        });
        cluster.sql(
            "postgres",
            "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note \
             FROM generate_series(1, 5000) g; \
             CREATE INDEX orders_note ON orders (note);",
        );
        // Hint bits set and checkpointed now, so that no later read logs a full-page
        // image of these pages that a replay would write over a corrupted copy.
        cluster.sql("postgres", "VACUUM FREEZE orders");
        cluster.sql("postgres", "CHECKPOINT");
        let first_set = cluster.pgbackrest_full_backup();
        Shared { cluster, first_set }
    })
}

fn database(id: &str) -> Database {
    Database {
        id: id.into(),
        engine: "postgres".into(),
        engine_version: "15".into(),
        environment: Environment::Dev,
        tier: 2,
        region: "local".into(),
        owner_team: "dba".into(),
        role: DbRole::Primary,
        primary_id: None,
        ring: 0,
        host: "127.0.0.1".into(),
        tags: vec![],
        health: Health::default(),
        last_patched_at: None,
        backup_policy: BackupPolicy {
            schedule: "daily".into(),
            retention_days: 7,
        },
        drill_interval_days: 7,
        version: 1,
    }
}

fn endpoints(c: &Cluster) -> DrillEndpoints {
    let e = Endpoint {
        host: "127.0.0.1".into(),
        port: c.port(),
        user: "postgres".into(),
        database: "postgres".into(),
        password: None,
        sslmode: "disable".into(),
        ca_file: None,
    };
    DrillEndpoints {
        database: e.clone(),
        primary: e,
    }
}

fn config(source: BackupSource, scratch: &Path) -> DrillConfig {
    DrillConfig {
        source,
        scratch_root: scratch.to_path_buf(),
        bin_dir: fleetdeck_pg_harness::bin_dir(),
        timeout: Duration::from_secs(600),
        archive_timeout: Duration::from_secs(120),
        checks: vec![SqlCheck {
            name: "orders".into(),
            database: None,
            sql: "SELECT count(*) FROM orders".into(),
            expect: Expect::Source { tolerance: 0.0 },
        }],
        primaries: Default::default(),
    }
}

fn pgbackrest(c: &Cluster, set: Option<&str>) -> BackupSource {
    BackupSource::PgBackRest {
        stanza: "main".into(),
        set: set.map(str::to_string),
        config: Some(c.pgbackrest_config()),
        program: PathBuf::from("pgbackrest"),
    }
}

async fn drill_of(cfg: &DrillConfig, c: &Cluster) -> DrillOutcome {
    let out = drill::run(
        cfg,
        &database("pg-lab-a"),
        &endpoints(c),
        LogSink::discard(),
    )
    .await
    .unwrap_or_else(|e| panic!("the drill could not run: {e}"));
    assert_left_nothing(&cfg.scratch_root);
    out
}

/// No drill directory below the scratch root, and no postgres process whose working
/// directory is below it.
fn assert_left_nothing(root: &Path) {
    let left: Vec<_> = std::fs::read_dir(root)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
    for p in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cwd) = std::fs::read_link(p.path().join("cwd")) {
            assert!(
                !cwd.starts_with(root),
                "process {:?} still runs in {}",
                p.path(),
                cwd.display()
            );
        }
    }
}

fn names(o: &DrillOutcome) -> Vec<(String, bool)> {
    o.proof
        .checks
        .iter()
        .map(|c| (c.name.clone(), c.passed))
        .collect()
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("fd-drill-")
        .tempdir()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_from_pg_basebackup_reaches_its_restore_point() {
    if skipped() {
        return;
    }
    let s = shared();
    let dir = scratch();
    let before = chrono::Utc::now();
    let o = drill_of(&config(BackupSource::BaseBackup, dir.path()), &s.cluster).await;
    assert!(o.checksum_ok, "{:?}\n{}", names(&o), o.output);
    let want = [
        "pg_basebackup",
        "pg_verifybackup",
        "started and promoted",
        "recovery point",
        "pg_amcheck",
        "sql: orders",
        "pg_checksums",
    ];
    assert_eq!(
        names(&o),
        want.iter()
            .map(|n| (n.to_string(), true))
            .collect::<Vec<_>>()
    );
    let point = o.recovery_point.expect("the point reached");
    assert!(
        point >= before - chrono::Duration::seconds(5),
        "{point} vs {before}"
    );
    assert_eq!(o.proof.timeline, Some(2));
    assert!(o.proof.recovery_lsn.is_some());
    assert!(
        o.proof
            .recovery_target
            .as_deref()
            .unwrap()
            .starts_with("restore point \"fleetdeck-drill-")
    );
    assert!(
        o.proof
            .backup_label
            .as_deref()
            .unwrap()
            .starts_with("base backup started")
    );
    let checksums = &o.proof.checks[6];
    assert!(checksums.detail.contains("Blocks scanned"), "{checksums:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_from_pgbackrest_replays_the_archive_to_its_restore_point() {
    if skipped() {
        return;
    }
    let s = shared();
    // Written after the backup: only the archive brings it to the copy.
    s.cluster.sql(
        "postgres",
        "CREATE TABLE IF NOT EXISTS after_backup (x int)",
    );
    let dir = scratch();
    let cfg = config(pgbackrest(&s.cluster, Some(&s.first_set)), dir.path());
    let o = drill_of(&cfg, &s.cluster).await;
    assert!(o.checksum_ok, "{:?}\n{}", names(&o), o.output);
    let got: Vec<String> = names(&o).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        got,
        [
            "WAL archived",
            "pgbackrest restore",
            "started and promoted",
            "recovery point",
            "pg_amcheck",
            "sql: orders",
            "pg_checksums"
        ]
    );
    assert_eq!(o.backup_id, s.first_set);
    assert!(
        o.proof
            .backup_label
            .as_deref()
            .unwrap()
            .starts_with(&s.first_set)
    );
    let point = &o.proof.checks[3];
    assert!(
        point.detail.starts_with("stopped at the restore point"),
        "{point:?}"
    );
    assert!(o.recovery_point.is_some());
    assert!(o.proof.timeline.unwrap() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_corrupted_on_disk_fails_the_drill_naming_the_check() {
    if skipped() {
        return;
    }
    let s = shared();
    let set = s.cluster.pgbackrest_full_backup();
    let rel = s
        .cluster
        .sql("postgres", "SELECT pg_relation_filepath('orders')");
    let file = s
        .cluster
        .pgbackrest_repo()
        .join("backup/main")
        .join(&set)
        .join("pg_data")
        .join(&rel);
    let mut bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    for b in &mut bytes[4000..4016] {
        *b = !*b;
    }
    std::fs::write(&file, bytes).unwrap();
    let dir = scratch();
    let o = drill_of(
        &config(pgbackrest(&s.cluster, Some(&set)), dir.path()),
        &s.cluster,
    )
    .await;
    assert!(
        !o.checksum_ok,
        "the corruption went unnoticed:\n{}",
        o.output
    );
    let failed: Vec<&str> = o
        .proof
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert!(!failed.is_empty(), "{:?}", names(&o));
    let caught = o.proof.checks.iter().find(|c| !c.passed).unwrap();
    assert!(
        ["pgbackrest restore", "pg_amcheck", "pg_checksums"].contains(&caught.name.as_str()),
        "{caught:?}"
    );
    assert!(!caught.detail.is_empty());
    eprintln!("caught by {}: {}", caught.name, caught.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_given_up_midway_stops_its_copy_and_removes_its_directory() {
    if skipped() {
        return;
    }
    let s = shared();
    let dir = scratch();
    let cfg = config(BackupSource::BaseBackup, dir.path());
    let root = dir.path().to_path_buf();
    let task = tokio::spawn(async move {
        drill::run(
            &cfg,
            &database("pg-lab-a"),
            &endpoints(&shared().cluster),
            LogSink::discard(),
        )
        .await
    });
    // Until the copy's postmaster runs, then the drill is dropped (as at shutdown).
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let running = loop {
        let pid = std::fs::read_dir(&root)
            .into_iter()
            .flatten()
            .flatten()
            .find_map(|e| std::fs::read_to_string(e.path().join("data/postmaster.pid")).ok());
        if let Some(pid) = pid.and_then(|p| p.lines().next().and_then(|l| l.parse::<i32>().ok())) {
            break pid;
        }
        assert!(!task.is_finished(), "the drill ended before its copy ran");
        assert!(
            std::time::Instant::now() < deadline,
            "the copy never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    task.abort();
    let _ = task.await;
    // SAFETY: signal 0 only asks whether the process exists.
    assert!(
        unsafe { libc::kill(running, 0) } != 0,
        "the copy's postmaster survived"
    );
    assert_left_nothing(&root);
    let _ = s;
}
