//! Real PostgreSQL fleets for the postgres executor's tests: clusters from
//! `fleetdeck_pg_harness`, a config declaring them for `kind = "postgres"`, and the
//! API reads the tests compare (a database's detail, its row in the snapshot, a
//! campaign), with approvals decided so campaigns are not held by the never-drilled
//! evidence of a fresh fleet.
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use fleetdeck_api::{
    Approval, Campaign, CampaignState, Database, DatabaseDetail, Health, Snapshot,
};
use fleetdeck_pg_harness::Cluster;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{self, Setup, TestServer};

/// Generous: clusters start and stop on a loaded two-core machine.
pub const WITHIN: Duration = Duration::from_secs(120);

/// One declared database on a cluster.
pub struct Declared<'a> {
    pub id: &'a str,
    pub cluster: &'a Cluster,
    pub ring: u8,
    /// For a replica: its primary's id.
    pub primary: Option<&'a str>,
    /// Extra lines of its `[database.connection]`.
    pub connection: &'a str,
}

/// The numeric server version a cluster runs (`15.10`).
pub fn server_version(c: &Cluster) -> String {
    let v = c.sql("postgres", "SHOW server_version");
    v.chars()
        .take_while(|ch| ch.is_ascii_digit() || *ch == '.')
        .collect()
}

/// The version the configs declare: older than any server the tests run, so a campaign
/// to the running version (what a no-op patch command leaves) is a real upgrade in the
/// inventory's eyes.
pub const DECLARED_VERSION: &str = "9.6";

/// A postgres-executor config for `dbs`, connecting as `postgres` over TCP, with
/// `executor_extra` appended to `[executor.postgres]` and `tail` (e.g. `[health]`)
/// after it. Patch and rollback commands do nothing unless `commands` says otherwise.
pub fn config(dbs: &[Declared<'_>], executor_extra: &str, commands: &str, tail: &str) -> String {
    let commands = if commands.is_empty() {
        "[executor.patch]\ncommand = \"true\"\n[executor.rollback]\ncommand = \"true\"\n"
    } else {
        commands
    };
    let mut text = format!(
        "[executor]\nkind = \"postgres\"\n{commands}\
         [executor.postgres]\nconnect_timeout_seconds = 5\nrestart_timeout_seconds = 60\n{executor_extra}\n\
         [executor.postgres.connection]\nuser = \"postgres\"\nsslmode = \"disable\"\n\n{tail}\n"
    );
    for d in dbs {
        let (role, primary) = match d.primary {
            Some(p) => ("replica", format!("primary_id = \"{p}\"\n")),
            None => ("primary", String::new()),
        };
        text.push_str(&format!(
            "\n[[database]]\nid = \"{id}\"\nengine = \"postgres\"\nengine_version = \"{v}\"\n\
             environment = \"dev\"\ntier = 3\nregion = \"local\"\nowner_team = \"dba\"\n\
             role = \"{role}\"\n{primary}ring = {ring}\nhost = \"127.0.0.1\"\n\
             backup = {{ schedule = \"daily 02:00\", retention_days = 7 }}\n\
             [database.connection]\nport = {port}\n{extra}\n",
            id = d.id,
            v = DECLARED_VERSION,
            ring = d.ring,
            port = d.cluster.port(),
            extra = d.connection,
        ));
    }
    text
}

/// A control plane on a postgres fleet.
pub struct PgServer {
    pub ts: TestServer,
}

impl PgServer {
    pub async fn start(config: String) -> PgServer {
        let ts = common::start_with(Setup {
            config: Some(config),
        })
        .await;
        PgServer { ts }
    }

    /// Polls `f` until it answers, or fails after [`WITHIN`].
    pub async fn until<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WITHIN;
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET /v1/databases/{id}`.
    pub async fn detail(&self, id: &str) -> DatabaseDetail {
        let answer = self
            .ts
            .get(&format!("/v1/databases/{id}"))
            .by("vic")
            .send()
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }

    pub async fn health(&self, id: &str) -> Health {
        self.detail(id).await.database.health
    }

    /// The database as `GET /v1/snapshot` has it.
    pub async fn in_snapshot(&self, id: &str) -> Database {
        let snap: Snapshot = self.ts.get("/v1/snapshot").by("vic").send().await.json();
        snap.databases
            .into_iter()
            .find(|d| d.id == id)
            .unwrap_or_else(|| panic!("{id} is not in the snapshot"))
    }

    /// Waits until the inventory says `id` has `status`; returns that health.
    pub async fn health_becomes(&self, id: &str, status: fleetdeck_api::HealthStatus) -> Health {
        self.until(&format!("{id} to be {}", status.as_str()), || async {
            let h = self.health(id).await;
            (h.status == status).then_some(h)
        })
        .await
    }

    pub async fn campaign(&self, id: &str) -> Campaign {
        self.ts
            .get(&format!("/v1/campaigns/{id}"))
            .by("vic")
            .send()
            .await
            .json()
    }

    /// Creates a campaign to `version` over `rings` with `gate`.
    pub async fn create_campaign(&self, version: &str, rings: &[u8], gate: Value) -> Campaign {
        let body = serde_json::json!({
            "title": format!("postgres {version}"),
            "target_version": version,
            "rings": rings,
            "gate": gate,
        });
        let answer = self
            .ts
            .post("/v1/campaigns")
            .by("olga")
            .json(&body)
            .send()
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.json()
    }

    /// Approves every pending approval (a fresh fleet has never been drilled, so each
    /// target needs a policy exception).
    pub async fn approve_pending(&self) {
        let pending: Vec<Approval> = self
            .ts
            .get("/v1/approvals?state=pending")
            .by("vic")
            .send()
            .await
            .json();
        for a in pending {
            for approver in ["ann", "abe"] {
                let _ = self
                    .ts
                    .post(&format!("/v1/approvals/{}/approve", a.id))
                    .by(approver)
                    .json(&serde_json::json!({"comment": "test fleet, never drilled"}))
                    .send()
                    .await;
            }
        }
    }

    /// Waits until the campaign is in `state`, approving what it waits for.
    pub async fn campaign_becomes(&self, id: &str, state: CampaignState) -> Campaign {
        self.until(
            &format!("campaign {id} to be {}", state.as_str()),
            || async {
                self.approve_pending().await;
                let c = self.campaign(id).await;
                (c.state == state).then_some(c)
            },
        )
        .await
    }
}
