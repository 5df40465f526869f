//! A rolled-back ring says what the rollback did to each target (reverted, failed to
//! revert, never patched) without erasing what the patch did, and the reconcile report
//! comes with the campaign, from the store and from the API.

mod common;
mod flow_support;

use fleetdeck_api::{
    Campaign, CampaignState, Environment, RevertCounts, RevertOutcome, Target, TargetRollback,
    TargetState,
};
use fleetdeck_control_plane::auth::{TokenEntry, hash_token};
use fleetdeck_control_plane::server::{self, ServeOptions, TokenSource};
use fleetdeck_control_plane::workflow;
use flow_support::{Env, db, gate, replica, request};

fn target<'c>(c: &'c Campaign, id: &str) -> &'c Target {
    c.rings
        .iter()
        .flat_map(|r| &r.targets)
        .find(|t| t.database_id == id)
        .unwrap_or_else(|| panic!("no target {id}"))
}

fn outcome(patch_state: TargetState, outcome: RevertOutcome) -> Option<TargetRollback> {
    Some(TargetRollback {
        patch_state,
        outcome,
    })
}

/// A campaign rolled back at its production promotion: in ring 0 one patch had failed,
/// in ring 1 the replica's revert fails, ring 2 was never entered.
async fn rolled_back() -> (Env, Campaign) {
    let s = db("pg-stg-01", 1, Environment::Staging, 2);
    let fleet = vec![
        db("pg-dev-01", 0, Environment::Dev, 3),
        db("pg-dev-02", 0, Environment::Dev, 3),
        replica("pg-stg-01-r1", &s),
        s,
        db("pg-prod-01", 2, Environment::Prod, 1),
    ];
    let env = Env::new(&fleet, &[]).await;
    env.sim.update_config(|c| {
        c.fail_patch.insert("pg-dev-01".into());
        c.fail_rollback.insert("pg-stg-01-r1".into());
    });
    let c = env.create(request(None, gate(2, 2))).await;
    let waiting = env
        .wait_for(&c.id, "the production promotion", |c| {
            c.state == CampaignState::AwaitingApproval
        })
        .await;
    assert_eq!(
        waiting.rings[0].progress(),
        (1, 1, 2),
        "before the rollback"
    );
    let mut tx = env.store.begin().await.unwrap();
    workflow::rollback(
        &mut tx,
        "olga",
        &c.id,
        Some(waiting.version),
        "errors in staging",
        None,
    )
    .await
    .unwrap();
    env.store.commit(tx).await.unwrap();
    let done = env
        .wait_for(&c.id, "rolled back", |c| {
            c.state == CampaignState::RolledBack
        })
        .await;
    (env, done)
}

#[tokio::test]
async fn a_rolled_back_ring_keeps_its_patch_results_and_says_what_the_rollback_did() {
    let (_env, done) = rolled_back().await;
    use RevertOutcome as O;
    use TargetState as S;
    // The failed patch stays a failure after its revert: 1✓ 1✗, not 2✓ 0✗.
    assert_eq!(done.rings[0].progress(), (1, 1, 2));
    assert_eq!(
        target(&done, "pg-dev-01").rollback,
        outcome(S::Failed, O::Reverted)
    );
    assert_eq!(
        target(&done, "pg-dev-02").rollback,
        outcome(S::Done, O::Reverted)
    );
    assert_eq!(
        done.rings[0].revert_counts(),
        Some(RevertCounts {
            reverted: 2,
            ..RevertCounts::default()
        })
    );
    // The replica's patch succeeded; its revert did not.
    let r1 = target(&done, "pg-stg-01-r1");
    assert_eq!(r1.state, S::Failed);
    assert_eq!(r1.rollback, outcome(S::Done, O::RevertFailed));
    assert_eq!(done.rings[1].progress(), (2, 0, 2));
    assert_eq!(
        done.rings[1].revert_counts(),
        Some(RevertCounts {
            reverted: 1,
            revert_failed: 1,
            ..RevertCounts::default()
        })
    );
    // The production ring was never entered.
    assert_eq!(
        target(&done, "pg-prod-01").rollback,
        outcome(S::Pending, O::NotPatched)
    );
    assert_eq!(
        done.rings[2].revert_counts(),
        Some(RevertCounts {
            not_patched: 1,
            ..RevertCounts::default()
        })
    );
    let m = &done.rollback.as_ref().unwrap().mismatches;
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].database_id, "pg-stg-01-r1");
}

#[tokio::test]
async fn the_api_answers_a_campaign_with_its_rollback_outcomes_and_mismatches() {
    let (mut env, done) = rolled_back().await;
    env.stop().await;
    // A real server on the same state file, its engine with nothing left to do.
    let entries = common::USERS
        .iter()
        .map(|(user, roles)| TokenEntry {
            sha256_hex: hash_token(&common::token(user)),
            user: (*user).to_string(),
            roles: roles.to_vec(),
        })
        .collect();
    let server = server::start(ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        state: env.state_path(),
        tokens: TokenSource::Entries(entries),
        config: None,
        demo: None,
    })
    .await
    .expect("server starts");
    let ts = common::TestServer {
        base: format!("http://{}", server.local_addr()),
        server: Some(server),
        client: reqwest::Client::new(),
        dir: tempfile::tempdir().unwrap(),
    };
    let one = ts
        .get(&format!("/v1/campaigns/{}", done.id))
        .by("vic")
        .send()
        .await
        .value();
    let listed = ts.get("/v1/campaigns").by("vic").send().await.value();
    for c in [&one, &listed[0]] {
        let targets = c["rings"][0]["targets"].as_array().unwrap();
        let dev1 = targets
            .iter()
            .find(|t| t["database_id"] == "pg-dev-01")
            .unwrap();
        assert_eq!(dev1["state"], "rolled_back");
        assert_eq!(
            dev1["rollback"],
            serde_json::json!({"patch_state": "failed", "outcome": "reverted"})
        );
        let prod = &c["rings"][2]["targets"][0];
        assert_eq!(
            prod["rollback"],
            serde_json::json!({"patch_state": "pending", "outcome": "not_patched"})
        );
        let m = &c["rollback"]["mismatches"][0];
        assert_eq!(m["database_id"], "pg-stg-01-r1");
        assert_eq!(m["declared_version"], "16.2");
        assert_eq!(m["actual_version"], "16.3");
    }
}
