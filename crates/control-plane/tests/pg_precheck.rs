//! The postgres executor called directly, on real servers: its built-in precheck
//! refuses a long-open transaction, a prepared transaction and a target older than the
//! running version; a patch command that restarts the server is waited for and the
//! result verified; `version` reads the server; a restore drill without its config is
//! refused, saying what is missing.

mod common;
mod pg_support;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use fleetdeck_api::Database;
use fleetdeck_control_plane::config;
use fleetdeck_control_plane::executor::{self, Executor, LogSink};
use fleetdeck_pg_harness::{Cluster, Options, skipped};
use pg_support::{Declared, server_version};
use sqlx::Connection;

/// The cluster the tests that do not stop it share.
fn shared() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        Cluster::start_with(&Options {
            settings: vec!["max_prepared_transactions = 4".to_string()],
            ..Options::default()
        })
    })
}

/// The executor a config builds, and the database it declares.
fn executor_for(
    cluster: &Cluster,
    executor_extra: &str,
    commands: &str,
) -> (Arc<dyn Executor>, Database) {
    let db = Declared {
        id: "pg-a",
        cluster,
        ring: 0,
        primary: None,
        connection: "",
    };
    let text = pg_support::config(&[db], executor_extra, commands, "");
    let parsed = config::parse(&text, std::path::Path::new("test.toml")).expect("config parses");
    let ex = executor::build(&parsed.executor);
    (
        ex,
        parsed.databases.into_iter().next().expect("one database"),
    )
}

async fn precheck(ex: &Arc<dyn Executor>, db: &Database, to: &str) -> Result<(), String> {
    ex.precheck(db, to, LogSink::discard())
        .await
        .map_err(|e| e.message)
}

#[tokio::test]
async fn the_precheck_refuses_long_and_prepared_transactions_and_an_older_target() {
    if skipped() {
        return;
    }
    let cluster = shared();
    let running = server_version(cluster);
    let (ex, db) = executor_for(cluster, "max_transaction_seconds = 1", "");
    precheck(&ex, &db, &running)
        .await
        .expect("a quiet server passes");

    // A transaction left open.
    let mut open = sqlx::PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut open).await.unwrap();
    sqlx::query("SELECT txid_current()")
        .execute(&mut open)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let refused = loop {
        if let Err(e) = precheck(&ex, &db, &running).await {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "the open transaction was never seen"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        refused
            .starts_with("precheck failed: 1 transaction(s) open longer than 1s; the oldest: pid"),
        "{refused}"
    );
    sqlx::query("ROLLBACK").execute(&mut open).await.unwrap();
    precheck(&ex, &db, &running)
        .await
        .expect("passes once it ended");

    // A prepared transaction: a restart keeps it, holding its locks.
    cluster.sql(
        "postgres",
        "BEGIN; SELECT txid_current(); PREPARE TRANSACTION 'fleetdeck-test-gid'",
    );
    let refused = precheck(&ex, &db, &running).await.unwrap_err();
    assert!(
        refused.contains("1 prepared transaction(s) (e.g. 'fleetdeck-test-gid')"),
        "{refused}"
    );
    cluster.sql("postgres", "ROLLBACK PREPARED 'fleetdeck-test-gid'");

    // Going back is a rollback, not a patch.
    let refused = precheck(&ex, &db, "9.6").await.unwrap_err();
    assert!(
        refused.contains(&format!(
            "the target 9.6 is older than the {running} the server runs now"
        )),
        "{refused}"
    );
    precheck(&ex, &db, &running).await.expect("clean again");
}

#[tokio::test]
async fn version_reads_the_server_and_a_drill_without_its_config_is_refused() {
    if skipped() {
        return;
    }
    let cluster = shared();
    let (ex, db) = executor_for(cluster, "", "");
    assert_eq!(ex.name(), "postgres");
    assert_eq!(
        ex.actual_version(&db).await.unwrap(),
        server_version(cluster)
    );
    let refused = ex.restore_drill(&db, LogSink::discard()).await.unwrap_err();
    assert!(
        refused
            .message
            .contains("need the [executor.postgres.drill] config"),
        "{}",
        refused.message
    );
}

/// Restarts the cluster's server as its own user (a patch command's real work).
fn restart_command(cluster: &Cluster) -> String {
    // SAFETY: geteuid has no preconditions.
    let as_server = if unsafe { libc::geteuid() } == 0 {
        "runuser -u postgres -- "
    } else {
        ""
    };
    format!(
        "{as_server}{bin}/pg_ctl -D {data} -l {log} -m fast -w -t 60 restart",
        bin = fleetdeck_pg_harness::bin_dir().display(),
        data = cluster.data_dir().display(),
        log = cluster.log_file().display(),
    )
}

#[tokio::test]
async fn a_patch_that_restarts_the_server_is_waited_for_and_verified() {
    if skipped() {
        return;
    }
    let cluster = Cluster::start_new();
    let running = server_version(&cluster);
    let restart = restart_command(&cluster);
    let commands = format!(
        "working_dir = \"/\"\n[executor.patch]\ncommand = \"{restart}\"\n[executor.rollback]\ncommand = \"{restart}\"\n"
    );
    let (ex, db) = executor_for(&cluster, "", &commands);
    let started_before = cluster.sql("postgres", "SELECT pg_postmaster_start_time()");

    let (log, mut lines) = LogSink::channel();
    ex.patch(&db, &running, log)
        .await
        .expect("the patch goes through");
    assert_ne!(
        cluster.sql("postgres", "SELECT pg_postmaster_start_time()"),
        started_before,
        "the server really restarted"
    );
    let mut said = Vec::new();
    while let Ok(l) = lines.try_recv() {
        said.push(l.text);
    }
    assert!(
        said.iter().any(|l| l.contains("precheck passed")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|l| l.contains(&format!("accepts connections, runs {running} as a primary"))),
        "{said:?}"
    );

    // A command that claims success but left the old version is caught.
    let wrong = ex.patch(&db, "99.0", LogSink::discard()).await.unwrap_err();
    assert_eq!(
        wrong.message,
        format!("the patch command succeeded, but the server runs {running}, not 99.0")
    );
    // A rollback goes ahead past the precheck's findings: the server is down.
    cluster.stop();
    let (log, mut lines) = LogSink::channel();
    ex.rollback(&db, &running, log)
        .await
        .expect("the rollback brings the server back");
    let mut said = Vec::new();
    while let Ok(l) = lines.try_recv() {
        said.push(l.text);
    }
    assert!(
        said.iter()
            .any(|l| l.contains("before the rollback: not reachable") && l.contains("going ahead")),
        "{said:?}"
    );
    assert!(cluster.is_running());
}

#[tokio::test]
async fn a_user_with_only_pg_monitor_sees_everything_the_checks_need() {
    if skipped() {
        return;
    }
    let cluster = Cluster::start_new();
    cluster.sql(
        "postgres",
        "CREATE ROLE fleetdeck_monitor LOGIN; GRANT pg_monitor TO fleetdeck_monitor",
    );
    let running = server_version(&cluster);
    let db = Declared {
        id: "pg-a",
        cluster: &cluster,
        ring: 0,
        primary: None,
        connection: "user = \"fleetdeck_monitor\"",
    };
    let text = pg_support::config(&[db], "max_transaction_seconds = 1", "", "");
    let parsed = config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    let ex = executor::build(&parsed.executor);
    let db = &parsed.databases[0];
    let h = ex.health(db).await.unwrap();
    assert_eq!(h.status, fleetdeck_api::HealthStatus::Healthy, "{h:?}");
    assert_eq!(ex.actual_version(db).await.unwrap(), running);
    precheck(&ex, db, &running).await.expect("passes");
    // Another user's open transaction is visible to it.
    let mut open = sqlx::PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut open).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let refused = loop {
        if let Err(e) = precheck(&ex, db, &running).await {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "the superuser's transaction was never seen"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(refused.contains("user postgres"), "{refused}");
}
