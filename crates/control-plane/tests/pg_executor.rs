//! The postgres executor under a real control plane: a replica whose replay is paused
//! while its primary writes fails its ring's lag gate (the campaign pauses with the lag
//! in its reason, and the inventory shows the same lag), and a database's password
//! appears nowhere: not in the log, the events, the errors or any API answer.

mod common;
mod pg_support;

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use fleetdeck_api::{CampaignState, HealthStatus, RingState};
use fleetdeck_pg_harness::{Cluster, Options, skipped};
use pg_support::{Declared, PgServer, config, server_version};
use serde_json::json;

#[tokio::test]
async fn a_paused_replica_fails_the_lag_gate_and_the_campaign_pauses_with_the_lag() {
    if skipped() {
        return;
    }
    let primary = Cluster::start_new();
    let replica = primary.replica_with(&["cluster_name = 'pg-r'".to_string()]);
    // The replica has replayed a transaction, so its lag is measured from a commit.
    primary.sql(
        "postgres",
        "CREATE TABLE beat (at timestamptz DEFAULT now())",
    );
    primary.sql("postgres", "INSERT INTO beat DEFAULT VALUES");
    replica.wait_for(
        "postgres",
        "SELECT count(*) FROM beat",
        "1",
        Duration::from_secs(60),
    );
    let dbs = [
        Declared {
            id: "pg-p",
            cluster: &primary,
            ring: 1,
            primary: None,
            connection: "",
        },
        Declared {
            id: "pg-r",
            cluster: &replica,
            ring: 0,
            primary: Some("pg-p"),
            connection: "",
        },
    ];
    let health = "[health]\ninterval_seconds = 2\njitter_percent = 0\n";
    let pg = PgServer::start(config(&dbs, "", "", health)).await;
    pg.health_becomes("pg-r", HealthStatus::Healthy).await;

    let c = pg
        .create_campaign(
            &server_version(&replica),
            &[0],
            json!({"failure_budget": 1, "bake_seconds": 60, "max_replication_lag_s": 1.0, "concurrency": 1}),
        )
        .await;
    pg.until("ring 0 to bake", || async {
        pg.approve_pending().await;
        let c = pg.campaign(&c.id).await;
        (c.rings[0].state == RingState::Baking).then_some(())
    })
    .await;

    replica.sql("postgres", "SELECT pg_wal_replay_pause()");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let port = primary.port();
        let sock = primary.socket_dir();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = std::process::Command::new(fleetdeck_pg_harness::bin_dir().join("psql"))
                    .arg("-h")
                    .arg(&sock)
                    .args(["-p", &port.to_string(), "-U", "postgres", "-d", "postgres"])
                    .args(["-X", "-q", "-c", "INSERT INTO beat DEFAULT VALUES"])
                    .output();
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };

    let paused = pg.campaign_becomes(&c.id, CampaignState::Paused).await;
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let reason = paused.paused_reason.unwrap_or_default();
    assert!(
        reason.contains("pg-r replication lag") && reason.contains("exceeds the 1.0s limit"),
        "{reason}"
    );
    // The inventory shows the lag the gate saw, and why.
    let h = pg.health("pg-r").await;
    assert!(h.replication_lag_s.is_some_and(|l| l > 1.0), "{h:?}");
    assert!(
        h.findings
            .iter()
            .any(|f| f.contains("WAL replay is paused")),
        "{h:?}"
    );
    replica.sql("postgres", "SELECT pg_wal_replay_resume()");
}

/// Everything the control plane logs in this test binary, from its start.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = Capture(Arc::clone(&buf));
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .try_init();
        buf
    })
    .clone()
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_database_password_appears_in_no_log_event_error_or_answer() {
    if skipped() {
        return;
    }
    let log = captured_log();
    const SECRET: &str = "s3cret-Pa55word-7f2a";
    const WRONG: &str = "wr0ng-Pa55word-91c4";
    let cluster = Cluster::start_with(&Options {
        password: Some(SECRET.to_string()),
        ..Options::default()
    });
    let secrets = tempfile::tempdir().unwrap();
    let good = secrets.path().join("pg-a.password");
    let bad = secrets.path().join("pg-wrong.password");
    std::fs::File::create(&good)
        .and_then(|mut f| writeln!(f, "{SECRET}"))
        .unwrap();
    std::fs::write(&bad, WRONG).unwrap();
    let dbs = [
        Declared {
            id: "pg-a",
            cluster: &cluster,
            ring: 0,
            primary: None,
            connection: &format!("password_file = \"{}\"", good.display()),
        },
        Declared {
            id: "pg-wrong",
            cluster: &cluster,
            ring: 1,
            primary: None,
            connection: &format!("password_file = \"{}\"", bad.display()),
        },
    ];
    let text = config(
        &dbs,
        "",
        "",
        "[health]\ninterval_seconds = 1\njitter_percent = 0\n",
    );
    assert!(!text.contains(SECRET) && !text.contains(WRONG));
    let pg = PgServer::start(text).await;

    // With the password: healthy, and a campaign goes through precheck, patch and
    // verification. With the wrong one: refused, and said so.
    pg.health_becomes("pg-a", HealthStatus::Healthy).await;
    let refused = pg
        .until("the refusal to be recorded", || async {
            let h = pg.health("pg-wrong").await;
            (h.status == HealthStatus::Unknown && !h.findings.is_empty()).then_some(h)
        })
        .await;
    assert!(
        refused.findings[0].contains("password authentication failed"),
        "{refused:?}"
    );
    let c = pg
        .create_campaign(
            &server_version(&cluster),
            &[0],
            json!({"failure_budget": 1, "bake_seconds": 0, "max_replication_lag_s": 30.0, "concurrency": 1}),
        )
        .await;
    pg.campaign_becomes(&c.id, CampaignState::Completed).await;
    // Errors too: the server goes away.
    cluster.stop();
    pg.health_becomes("pg-a", HealthStatus::Down).await;

    let mut seen = String::new();
    for path in [
        "/v1/snapshot",
        "/v1/databases",
        "/v1/databases/pg-a",
        "/v1/databases/pg-wrong",
        "/v1/campaigns",
        &format!("/v1/campaigns/{}", c.id),
        "/v1/events?after=0&limit=5000",
        "/v1/approvals?state=approved",
    ] {
        let answer = pg.ts.get(path).by("vic").send().await;
        assert!(answer.status.is_success(), "{path}: {}", answer.status);
        seen.push_str(&answer.body);
    }
    assert!(seen.contains("password authentication failed"));
    let logged = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(
        logged.contains("control plane ready"),
        "the log was captured"
    );
    for secret in [SECRET, WRONG] {
        assert!(!seen.contains(secret), "an API answer holds the password");
        assert!(!logged.contains(secret), "the log holds the password");
    }
}
