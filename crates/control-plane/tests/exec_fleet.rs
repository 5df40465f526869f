//! The command executor end to end: a fleet declared in a config file, real shell
//! scripts standing in for the team's tooling, the real server, and campaigns and a
//! rollback driven through the HTTP API.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Setup, TestServer};
use fleetdeck_api::{
    Campaign, CampaignState, Database, Event, Evidence, Freshness, RollbackStage, TargetState,
    kinds,
};
use reqwest::StatusCode;
use serde_json::json;

/// Stands in for a team's tooling: keeps each database's version in `state/version-ID`,
/// logs every call to `state/calls.log`, and fails a patch when `state/fail-ID` exists.
const SCRIPT: &str = r#"#!/bin/sh
op=$1; id=$2; from=$3; to=$4
state="$PWD/state"
mkdir -p "$state"
echo "$op $id" >> "$state/calls.log"
case "$op" in
  precheck) echo "precheck: $id may go from $from to $to" ;;
  patch)
    echo "patch: installing $to on $id"
    if [ -e "$state/fail-$id" ]; then echo "E: package $to is broken" >&2; exit 4; fi
    echo "$to" > "$state/version-$id"
    echo "patch: $id now runs $to" ;;
  rollback)
    echo "$to" > "$state/version-$id"
    echo "rollback: $id back on $to" ;;
  health) echo '{"status": "healthy", "connections": 5, "latency_ms": 1.5}' ;;
  version) if [ -e "$state/version-$id" ]; then cat "$state/version-$id"; else echo "$from"; fi ;;
  drill)
    echo "drill: restoring the latest backup of $id"
    echo '{"backup_id": "bk-1", "recovery_point": "2026-11-21T20:00:00Z", "checksum_ok": true}' ;;
esac
"#;

const FLEET: [(&str, &str, Option<&str>); 3] = [
    ("pg-dev-01", "primary", None),
    ("pg-dev-02", "primary", None),
    ("pg-dev-02-r1", "replica", Some("pg-dev-02")),
];

fn config(scripts: &Path) -> String {
    let mut text = format!(
        "[executor]\nkind = \"command\"\nworking_dir = \"{}\"\n",
        scripts.display()
    );
    for op in [
        "precheck", "patch", "rollback", "health", "version", "drill",
    ] {
        text.push_str(&format!(
            "[executor.{op}]\ncommand = \"sh ./op.sh {op} {{id}} {{from_version}} {{to_version}}\"\ntimeout_seconds = 20\n"
        ));
    }
    for (id, role, primary) in FLEET {
        text.push_str(&format!(
            "\n[[database]]\nid = \"{id}\"\nengine = \"postgres\"\nengine_version = \"16.3\"\n\
             environment = \"dev\"\ntier = 3\nregion = \"eu-west-1\"\nowner_team = \"payments\"\n\
             role = \"{role}\"\nring = 0\nhost = \"{id}.db.internal\"\n\
             backup = {{ schedule = \"daily 02:00\", retention_days = 7 }}\n"
        ));
        if let Some(p) = primary {
            text.push_str(&format!("primary_id = \"{p}\"\n"));
        }
    }
    text
}

struct Fleet {
    ts: TestServer,
    scripts: tempfile::TempDir,
}

impl Fleet {
    async fn start() -> Fleet {
        let scripts = tempfile::tempdir().unwrap();
        std::fs::write(scripts.path().join("op.sh"), SCRIPT).unwrap();
        std::fs::create_dir(scripts.path().join("state")).unwrap();
        let ts = common::start_with(Setup {
            config: Some(config(scripts.path())),
        })
        .await;
        let fleet = Fleet { ts, scripts };
        // Declared databases have never been drilled: the scheduler drills them through
        // the drill command. Wait for that, so no target needs a policy exception.
        fleet
            .until("every database drilled", || async {
                let ev: Vec<Evidence> = fleet.ts.get("/v1/evidence").by("vic").send().await.json();
                (ev.len() == FLEET.len() && ev.iter().all(|e| e.freshness == Freshness::Fresh))
                    .then_some(())
            })
            .await;
        fleet
    }

    fn state(&self, file: &str) -> PathBuf {
        self.scripts.path().join("state").join(file)
    }

    fn version(&self, id: &str) -> Option<String> {
        std::fs::read_to_string(self.state(&format!("version-{id}")))
            .ok()
            .map(|v| v.trim().to_string())
    }

    fn calls(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.state("calls.log")).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }

    async fn until<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn campaign(&self, id: &str) -> Campaign {
        self.ts
            .get(&format!("/v1/campaigns/{id}"))
            .by("vic")
            .send()
            .await
            .json()
    }

    async fn wait_for(&self, id: &str, state: CampaignState) -> Campaign {
        self.until(
            &format!("campaign {id} to be {}", state.as_str()),
            || async {
                let c = self.campaign(id).await;
                (c.state == state).then_some(c)
            },
        )
        .await
    }

    async fn create(&self, failure_budget: u32) -> Campaign {
        let body = json!({
            "title": "postgres 16.4",
            "target_version": "16.4",
            "rings": [0],
            "gate": {
                "failure_budget": failure_budget,
                "bake_seconds": 0,
                "max_replication_lag_s": 30.0,
                "concurrency": 2
            }
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

    async fn events(&self) -> Vec<Event> {
        self.ts.all_events().await
    }
}

fn position(calls: &[String], call: &str) -> usize {
    calls
        .iter()
        .position(|c| c == call)
        .unwrap_or_else(|| panic!("no call '{call}' in {calls:?}"))
}

#[tokio::test]
async fn a_campaign_patches_a_declared_fleet_through_its_scripts() {
    let fleet = Fleet::start().await;
    let c = fleet.create(1).await;
    let done = fleet.wait_for(&c.id, CampaignState::Completed).await;
    for t in done.rings.iter().flat_map(|r| &r.targets) {
        assert_eq!(
            t.state,
            TargetState::Done,
            "{}: {:?}",
            t.database_id,
            t.message
        );
        assert_eq!(fleet.version(&t.database_id).as_deref(), Some("16.4"));
        let db: Database = fleet
            .ts
            .get(&format!("/v1/databases/{}", t.database_id))
            .by("vic")
            .send()
            .await
            .json::<fleetdeck_api::DatabaseDetail>()
            .database;
        assert_eq!(db.engine_version, "16.4");
    }
    let calls = fleet.calls();
    for (id, _, _) in FLEET {
        assert!(
            position(&calls, &format!("precheck {id}")) < position(&calls, &format!("patch {id}"))
        );
    }
    // Within the ring the replica goes before its primary.
    assert!(position(&calls, "patch pg-dev-02-r1") < position(&calls, "patch pg-dev-02"));
    // What the scripts printed is in the execution log, attributed to its database.
    let events = fleet.events().await;
    assert!(events.iter().any(|e| e.kind == kinds::EXECUTOR_OUTPUT
        && e.subject.database_id.as_deref() == Some("pg-dev-01")
        && e.message.contains("patch: pg-dev-01 now runs 16.4")));
    assert!(events.iter().any(|e| {
        e.kind == kinds::EXECUTOR_OUTPUT
            && e.message
                .contains("drill: restoring the latest backup of pg-dev-02-r1")
    }));
}

#[tokio::test]
async fn a_failing_script_pauses_the_campaign_and_rollback_reverts_through_the_scripts() {
    let fleet = Fleet::start().await;
    std::fs::write(fleet.state("fail-pg-dev-01"), "").unwrap();
    let c = fleet.create(1).await;
    // Paused, and the targets in flight when it paused have finished.
    let paused = fleet
        .until("the campaign to pause and settle", || async {
            let c = fleet.campaign(&c.id).await;
            let settled = c
                .rings
                .iter()
                .flat_map(|r| &r.targets)
                .all(|t| !t.state.is_in_flight());
            (c.state == CampaignState::Paused && settled).then_some(c)
        })
        .await;
    let failed = paused
        .rings
        .iter()
        .flat_map(|r| &r.targets)
        .find(|t| t.database_id == "pg-dev-01")
        .unwrap();
    assert_eq!(failed.state, TargetState::Failed);
    let message = failed.message.as_deref().unwrap_or_default();
    assert!(
        message.contains("exited with code 4: E: package 16.4 is broken"),
        "{message}"
    );
    assert!(paused.paused_reason.is_some());

    let version = paused.version;
    let answer = fleet
        .ts
        .post(&format!("/v1/campaigns/{}/rollback", c.id))
        .by("olga")
        .if_match(&fleetdeck_api::etag(version))
        .json(&json!({"reason": "the 16.4 package is broken on pg-dev-01"}))
        .send()
        .await;
    assert!(
        answer.status.is_success(),
        "{} {}",
        answer.status,
        answer.body
    );
    let rolled = fleet.wait_for(&c.id, CampaignState::RolledBack).await;
    let rollback = rolled.rollback.expect("rollback status");
    assert_eq!(rollback.stage, RollbackStage::Done);
    assert!(rollback.mismatches.is_empty(), "{:?}", rollback.mismatches);
    for (id, _, _) in FLEET {
        // Never patched, or patched and reverted: either way on 16.3 again.
        assert_ne!(fleet.version(id).as_deref(), Some("16.4"), "{id}");
    }
    let calls = fleet.calls();
    let patched: Vec<&str> = ["pg-dev-02", "pg-dev-02-r1"]
        .into_iter()
        .filter(|id| fleet.version(id).is_some())
        .collect();
    for id in patched {
        assert!(
            calls.contains(&format!("rollback {id}")),
            "{id} was not rolled back: {calls:?}"
        );
        assert_eq!(fleet.version(id).as_deref(), Some("16.3"));
    }
}
