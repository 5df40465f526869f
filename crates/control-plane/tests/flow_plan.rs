//! A campaign does what its plan said, target by target: the engine runs a planned
//! campaign on the simulated executor (no scheduler drilling underneath, so the
//! evidence stays as seeded) and every ring, dispatch order, blocked target, exception
//! and promotion approval is compared with the plan made just before.

mod flow_support;

use std::time::Duration;

use fleetdeck_api::{
    ApprovalKind, ApprovalState, Campaign, CampaignPlan, CampaignState, CreateCampaign, Database,
    Environment, Freshness, Verdict,
};
use fleetdeck_control_plane::store::{approvals, drills};
use fleetdeck_control_plane::workflow;
use flow_support::{Env, db, gate, good_drill, replica};

/// Two dev databases (ring 0, one already newer than the target), a staging primary
/// with a replica whose evidence is stale (ring 1), a tier-1 production primary with two
/// replicas, one never drilled, and a tier-2 production database (ring 2).
fn fleet() -> Vec<Database> {
    let stg = db("pg-stg-01", 1, Environment::Staging, 2);
    let prod = db("pg-prod-01", 2, Environment::Prod, 1);
    let mut newer = db("pg-dev-03", 0, Environment::Dev, 3);
    newer.engine_version = "17.0".into();
    vec![
        db("pg-dev-01", 0, Environment::Dev, 3),
        db("pg-dev-02", 0, Environment::Dev, 3),
        newer,
        replica("pg-stg-01-r1", &stg),
        stg,
        replica("pg-prod-01-r1", &prod),
        replica("pg-prod-01-r2", &prod),
        prod,
        db("pg-prod-02", 2, Environment::Prod, 2),
    ]
}

fn request(exclude: &[&str]) -> CreateCampaign {
    CreateCampaign {
        title: "postgres 16.3".into(),
        target_version: "16.3".into(),
        gate: Some(gate(1, 2)),
        exclude: (!exclude.is_empty()).then(|| exclude.iter().map(|s| s.to_string()).collect()),
        change_ref: Some("CHG-1234".into()),
        ..CreateCampaign::default()
    }
}

async fn plan(env: &Env, req: &CreateCampaign) -> CampaignPlan {
    let mut conn = env.store.pool().acquire().await.unwrap();
    workflow::plan_campaign(&mut conn, req).await.unwrap()
}

/// Approves every pending approval of campaign `id` (two approvers each) until it
/// completes.
async fn drive_to_completion(env: &Env, id: &str) -> Campaign {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let c = env.campaign(id).await;
        if c.state == CampaignState::Completed {
            return c;
        }
        assert!(
            !matches!(c.state, CampaignState::Paused | CampaignState::RolledBack),
            "{id} stopped: {:?} {:?}",
            c.state,
            c.paused_reason
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} did not complete: {c:#?}"
        );
        let pending = approvals::list(env.store.pool(), Some(ApprovalState::Pending))
            .await
            .unwrap();
        for a in pending
            .iter()
            .filter(|a| a.campaign_id.as_deref() == Some(id))
        {
            for who in ["ann", "abe"].iter().take(a.approvals_required as usize) {
                env.decide(&a.id, who, Verdict::Approve).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_campaign_does_what_its_plan_said_target_by_target() {
    let env = Env::new(&fleet(), &["pg-stg-01-r1", "pg-prod-01-r2"]).await;
    {
        let mut tx = env.store.begin().await.unwrap();
        drills::insert(&mut tx, &good_drill("pg-stg-01-r1", 40))
            .await
            .unwrap();
        env.store.commit(tx).await.unwrap();
    }
    // pg-prod-02 is busy: another campaign waits for its promotion.
    let other = env
        .create(CreateCampaign {
            databases: Some(vec!["pg-prod-02".into()]),
            ..request(&[])
        })
        .await;
    env.wait_for(&other.id, "the other campaign waits", |c| {
        c.state == CampaignState::AwaitingApproval
    })
    .await;

    let refused = plan(&env, &request(&[])).await;
    assert!(!refused.can_start);
    let reasons: Vec<(&str, Option<&str>)> = refused
        .refusals
        .iter()
        .map(|r| (r.code.as_str(), r.database_id.as_deref()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("downgrade", Some("pg-dev-03")),
            ("busy", Some("pg-prod-02"))
        ]
    );
    assert!(refused.refusals[1].message.contains(&other.id));

    let req = CreateCampaign {
        plan_hash: None,
        ..request(&["pg-dev-03", "pg-prod-02"])
    };
    let p = plan(&env, &req).await;
    assert!(p.can_start, "{:?}", p.refusals);
    assert_eq!(p.change_ref.as_deref(), Some("CHG-1234"));
    assert_eq!(p.gate.pauses_at_failed_target, 2);
    assert!(p.gate.summary.contains("pauses at the 2nd failed target"));
    assert_eq!(
        (
            p.blast_radius.databases,
            p.blast_radius.prod,
            p.blast_radius.tier1
        ),
        (7, 3, 3)
    );
    let order = |p: &CampaignPlan, ring: usize| -> Vec<String> {
        p.rings[ring]
            .targets
            .iter()
            .map(|t| t.database_id.clone())
            .collect()
    };
    assert_eq!(
        p.rings.iter().map(|r| r.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(order(&p, 1), ["pg-stg-01-r1", "pg-stg-01"]);
    assert_eq!(
        order(&p, 2),
        ["pg-prod-01-r1", "pg-prod-01-r2", "pg-prod-01"]
    );
    let blocked: Vec<(&str, Freshness, u32)> = p
        .rings
        .iter()
        .flat_map(|r| &r.targets)
        .filter_map(|t| {
            let b = t.blocked.as_ref()?;
            Some((t.database_id.as_str(), b.freshness, b.approvals_required))
        })
        .collect();
    assert_eq!(
        blocked,
        [
            ("pg-stg-01-r1", Freshness::Stale, 1),
            ("pg-prod-01-r2", Freshness::Never, 2)
        ]
    );
    assert!(p.rings[..2].iter().all(|r| r.promotion.is_none()));
    assert_eq!(p.rings[2].promotion.as_ref().unwrap().approvals_required, 2);
    assert_eq!(p.estimate.seconds, None, "no target has finished yet");
    assert!(p.estimate.basis.starts_with("no history"));

    let started = env
        .create(CreateCampaign {
            plan_hash: Some(p.plan_hash.clone()),
            ..req.clone()
        })
        .await;
    assert_eq!(started.change_ref.as_deref(), Some("CHG-1234"));
    let done = drive_to_completion(&env, &started.id).await;

    // The same rings, each with the same targets, versions, and (concurrency 1) the
    // same dispatch order as the plan's waves.
    assert_eq!(done.rings.len(), p.rings.len());
    for (ring, planned) in done.rings.iter().zip(&p.rings) {
        assert_eq!(ring.index, planned.index);
        assert_eq!(ring.contains_prod, planned.contains_prod);
        let mut dispatched = ring.targets.clone();
        dispatched.sort_by_key(|t| t.started_at.expect("dispatched"));
        let got: Vec<(&str, &str, &str)> = dispatched
            .iter()
            .map(|t| {
                (
                    t.database_id.as_str(),
                    t.from_version.as_str(),
                    t.to_version.as_str(),
                )
            })
            .collect();
        let want: Vec<(&str, &str, &str)> = planned
            .targets
            .iter()
            .map(|t| {
                (
                    t.database_id.as_str(),
                    t.from_version.as_str(),
                    t.to_version.as_str(),
                )
            })
            .collect();
        assert_eq!(got, want, "ring {}", ring.index);
    }
    // The approvals the run asked for are the plan's.
    let asked = approvals::list(env.store.pool(), None).await.unwrap();
    let mine = asked
        .iter()
        .filter(|a| a.campaign_id.as_deref() == Some(started.id.as_str()));
    let mut exceptions: Vec<(&str, Freshness, u32)> = Vec::new();
    let mut promotions = Vec::new();
    for a in mine {
        match a.kind {
            ApprovalKind::PolicyException => {
                let id = a.database_id.as_deref().unwrap();
                let code = &a.findings[0].code;
                let freshness = if code.ends_with("stale") {
                    Freshness::Stale
                } else {
                    assert!(code.ends_with("never"), "{code}");
                    Freshness::Never
                };
                exceptions.push((id, freshness, a.approvals_required));
            }
            ApprovalKind::RingPromotion => promotions.push((a.ring, a.approvals_required)),
            _ => {}
        }
    }
    exceptions.sort();
    let mut planned_blocks = blocked.clone();
    planned_blocks.sort();
    assert_eq!(exceptions, planned_blocks);
    assert_eq!(promotions, [(Some(2), 2)]);

    // Now there is history: the next version's plan comes with an estimate.
    let next = CreateCampaign {
        target_version: "16.4".into(),
        ..req.clone()
    };
    let after = plan(&env, &next).await;
    assert!(after.estimate.seconds.is_some(), "{}", after.estimate.basis);
    assert_eq!(after.estimate.target_samples, 7);
    assert_eq!(after.estimate.bake_samples, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hash_changes_only_when_what_would_happen_changes() {
    let env = Env::new(&fleet(), &[]).await;
    let req = request(&["pg-dev-03"]);
    let first = plan(&env, &req).await;
    let again = plan(&env, &req).await;
    assert_ne!(first.computed_at, again.computed_at);
    assert_eq!(first.plan_hash, again.plan_hash);
    assert_eq!(first.plan_hash.len(), 32);
    // A drill fails: that database is now blocked, and the hash says so.
    {
        let mut tx = env.store.begin().await.unwrap();
        let mut failed = good_drill("pg-dev-01", 0);
        failed.id = "drl-failed".into();
        failed.state = fleetdeck_api::DrillState::Failed;
        failed.checksum_ok = Some(false);
        drills::insert(&mut tx, &failed).await.unwrap();
        env.store.commit(tx).await.unwrap();
    }
    let changed = plan(&env, &req).await;
    assert_ne!(changed.plan_hash, first.plan_hash);
    let changes = changed.changes_from(&first);
    assert!(
        changes
            .iter()
            .any(|c| c.starts_with("pg-dev-01 is now blocked: latest restore drill failed")),
        "{changes:?}"
    );
    assert!(
        changes.contains(&"pg-dev-01 moves from wave 1 to wave 2".to_string()),
        "{changes:?}"
    );
    // Creating with the reviewed hash is refused with the difference.
    let mut tx = env.store.begin().await.unwrap();
    let err = workflow::create_campaign(
        &mut tx,
        "olga",
        &CreateCampaign {
            plan_hash: Some(first.plan_hash.clone()),
            ..req.clone()
        },
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), 412);
    let text = err.to_string();
    assert!(text.contains("pg-dev-01 is now blocked"), "{text}");
    assert!(text.contains(&changed.plan_hash), "{text}");
}
