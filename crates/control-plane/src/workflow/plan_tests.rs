//! Unit tests of the pure campaign rules.

use super::*;
use fleetdeck_api::BackupPolicy;

fn db(
    id: &str,
    ring: u8,
    env: Environment,
    tier: u8,
    role: DbRole,
    primary: Option<&str>,
) -> Database {
    Database {
        id: id.into(),
        engine: "postgres".into(),
        engine_version: "16.2".into(),
        environment: env,
        tier,
        region: "eu-west-1".into(),
        owner_team: "payments".into(),
        role,
        primary_id: primary.map(Into::into),
        ring,
        host: format!("{id}.internal"),
        tags: vec![],
        health: Health::default(),
        last_patched_at: None,
        backup_policy: BackupPolicy {
            schedule: "daily 02:00".into(),
            retention_days: 14,
        },
        drill_interval_days: 7,
        version: 1,
    }
}

fn req(dbs: Option<Vec<&str>>, rings: Option<Vec<u8>>) -> CreateCampaign {
    CreateCampaign {
        title: "t".into(),
        target_version: "16.3".into(),
        databases: dbs.map(|v| v.into_iter().map(Into::into).collect()),
        rings,
        ..CreateCampaign::default()
    }
}

fn fleet() -> Vec<Database> {
    vec![
        db("p1", 3, Environment::Prod, 1, DbRole::Primary, None),
        db("r1b", 3, Environment::Prod, 1, DbRole::Replica, Some("p1")),
        db("r1a", 3, Environment::Prod, 1, DbRole::Replica, Some("p1")),
        db("dev1", 0, Environment::Dev, 3, DbRole::Primary, None),
        db("stg1", 1, Environment::Staging, 2, DbRole::Primary, None),
    ]
}

fn target(id: &str, state: TargetState) -> Target {
    Target {
        database_id: id.into(),
        state,
        from_version: "16.2".into(),
        to_version: "16.3".into(),
        attempts: 0,
        started_at: None,
        finished_at: None,
        message: None,
        approval_id: None,
        rollback: None,
    }
}

#[test]
fn selection_is_the_union_and_skips_current_versions() {
    let mut f = fleet();
    f[3].engine_version = "16.3".into();
    let picked = select(&f, &req(Some(vec!["stg1"]), Some(vec![3])), "16.3");
    let ids: Vec<_> = picked.todo.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["p1", "r1b", "r1a", "stg1"]);
    assert!(picked.refusals.is_empty());
    let all = select(&f, &req(None, None), "16.3");
    assert_eq!(all.todo.len(), 4, "dev1 already runs 16.3");
    let unknown = select(&f, &req(Some(vec!["nope"]), None), "16.3");
    assert_eq!(
        codes(&unknown.refusals),
        ["unknown-database", "empty-selection"]
    );
    assert!(unknown.refusals[0].message.contains("nope"));
    let current = select(&f, &req(Some(vec!["dev1"]), None), "16.3");
    assert_eq!(codes(&current.refusals), ["up-to-date"]);
}

#[test]
fn rings_ascend_and_replicas_go_first() {
    let f = fleet();
    let all: Vec<&Database> = f.iter().collect();
    let rings = plan_rings(&all);
    assert_eq!(rings.iter().map(|r| r.ring).collect::<Vec<_>>(), [0, 1, 3]);
    assert!(!rings[0].contains_prod && rings[2].contains_prod);
    let order: Vec<_> = rings[2]
        .targets
        .iter()
        .map(|t| t.database_id.as_str())
        .collect();
    assert_eq!(order, ["r1a", "r1b", "p1"]);
    assert_eq!(rings[2].targets[0].primary_id.as_deref(), Some("p1"));
    assert_eq!(rings[2].targets[2].primary_id, None);
}

#[test]
fn dispatch_holds_the_primary_and_respects_concurrency() {
    let ts = [
        target("r1a", TargetState::Patching),
        target("r1b", TargetState::Pending),
        target("p1", TargetState::Pending),
        target("x", TargetState::Pending),
    ];
    let slots: Vec<Slot> = ts
        .iter()
        .map(|t| Slot {
            target: t,
            primary_id: t.database_id.starts_with('r').then_some("p1"),
        })
        .collect();
    assert_eq!(dispatchable(&slots, 1), Vec::<&str>::new());
    assert_eq!(dispatchable(&slots, 2), ["r1b"]);
    assert_eq!(
        dispatchable(&slots, 8),
        ["r1b", "x"],
        "p1 waits for its replicas"
    );
    let done = [
        target("r1a", TargetState::Done),
        target("r1b", TargetState::Failed),
        target("p1", TargetState::Pending),
    ];
    let slots: Vec<Slot> = done
        .iter()
        .map(|t| Slot {
            target: t,
            primary_id: t.database_id.starts_with('r').then_some("p1"),
        })
        .collect();
    assert_eq!(dispatchable(&slots, 2), ["p1"]);
    let blocked = [
        target("r1a", TargetState::Blocked),
        target("p1", TargetState::Pending),
    ];
    let slots: Vec<Slot> = blocked
        .iter()
        .map(|t| Slot {
            target: t,
            primary_id: t.database_id.starts_with('r').then_some("p1"),
        })
        .collect();
    assert!(
        dispatchable(&slots, 2).is_empty(),
        "a blocked replica holds its primary"
    );
}

#[test]
fn gate_rules() {
    let g = GateSettings {
        failure_budget: 2,
        ..GateSettings::default()
    };
    assert!(!budget_exhausted(1, &g));
    assert!(budget_exhausted(2, &g));
    let mut h = Health {
        status: HealthStatus::Healthy,
        replication_lag_s: Some(3.0),
        ..Health::default()
    };
    assert_eq!(health_problem("a", &h, &g), None);
    h.replication_lag_s = Some(45.0);
    assert!(health_problem("a", &h, &g).unwrap().contains("45.0s"));
    h.status = HealthStatus::Degraded;
    assert_eq!(health_problem("a", &h, &g).unwrap(), "a is degraded");
    assert!(
        check_gate(Some(&GateSettings {
            failure_budget: 0,
            ..g.clone()
        }))
        .is_err()
    );
    assert!(
        check_gate(Some(&GateSettings {
            concurrency: 0,
            ..g.clone()
        }))
        .is_err()
    );
    assert!(
        check_gate(Some(&GateSettings {
            max_replication_lag_s: f64::NAN,
            ..g
        }))
        .is_err()
    );
}

#[test]
fn blast_radius_and_approvers() {
    let f = fleet();
    let r = blast_radius(&f);
    assert_eq!(
        r,
        BlastRadius {
            databases: 5,
            prod: 3,
            tier1: 3
        }
    );
    assert_eq!(approvals_required(&r), 2);
    assert_eq!(approvals_required(&blast_radius(&f[3..])), 1);
}

#[test]
fn reasons_are_required_and_bounded() {
    assert!(check_reason(Some("  "), true).is_err());
    assert_eq!(check_reason(None, false).unwrap(), None);
    assert_eq!(
        check_reason(Some(" why "), true).unwrap().as_deref(),
        Some("why")
    );
    let long = "x".repeat(MAX_REASON_CHARS + 1);
    assert!(check_reason(Some(&long), true).is_err());
}

#[test]
fn time_scale_shrinks_durations() {
    assert_eq!(
        scaled(Duration::from_secs(60), 60.0),
        Duration::from_secs(1)
    );
    assert_eq!(
        scaled(Duration::from_secs(60), 0.0),
        Duration::from_secs(60)
    );
}

fn codes(refusals: &[PlanRefusal]) -> Vec<&str> {
    refusals.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn the_selection_narrows_by_environment_tier_and_tag_and_excludes() {
    let mut f = fleet();
    f[0].tags = vec!["pci".into()];
    f[4].tags = vec!["pci".into(), "eu".into()];
    let by = |r: CreateCampaign| -> Vec<String> {
        let s = select(&f, &r, "16.3");
        assert!(s.refusals.is_empty(), "{:?}", s.refusals);
        s.todo.iter().map(|d| d.id.clone()).collect()
    };
    let prod = CreateCampaign {
        environments: Some(vec![Environment::Prod]),
        exclude: Some(vec!["r1b".into()]),
        ..req(None, None)
    };
    assert_eq!(by(prod), ["p1", "r1a"]);
    let tagged = CreateCampaign {
        tags: Some(vec!["eu".into(), "pci".into()]),
        tiers: Some(vec![1, 2]),
        ..req(None, None)
    };
    assert_eq!(by(tagged), ["p1", "stg1"]);
    let nothing = CreateCampaign {
        tags: Some(vec!["nope".into()]),
        exclude: Some(vec!["ghost".into()]),
        ..req(None, None)
    };
    let s = select(&f, &nothing, "16.3");
    assert_eq!(codes(&s.refusals), ["unknown-database", "empty-selection"]);
    assert!(s.refusals[0].message.contains("'ghost' in exclude"));
}

#[test]
fn a_downgrade_is_refused_per_database() {
    let mut f = fleet();
    f[3].engine_version = "17.0".into();
    let s = select(&f, &req(None, None), "16.3");
    assert_eq!(codes(&s.refusals), ["downgrade"]);
    assert_eq!(s.refusals[0].database_id.as_deref(), Some("dev1"));
    assert_eq!(
        version_order("16.10", "16.9"),
        Some(std::cmp::Ordering::Greater)
    );
    assert_eq!(version_order("16", "16.0"), Some(std::cmp::Ordering::Equal));
    assert_eq!(version_order("16.3-1", "16.4"), None);
}

#[test]
fn waves_follow_the_dispatch_rule() {
    let f = fleet();
    let all: Vec<&Database> = f.iter().collect();
    let rings = plan_rings(&all);
    let prod = &rings[2];
    let none = HashSet::new();
    assert_eq!(dispatch_waves(prod, &none, 1), [1, 2, 3]);
    assert_eq!(
        dispatch_waves(prod, &none, 4),
        [1, 1, 2],
        "the primary waits for its replicas"
    );
    let blocked: HashSet<&str> = ["r1a"].into();
    assert_eq!(
        dispatch_waves(prod, &blocked, 4),
        [2, 1, 3],
        "a blocked replica goes once its exception is decided, and holds its primary"
    );
}

/// The rule asked about the whole ring at every wave, as the runner asks it.
fn waves_the_long_way(ring: &PlannedRing, blocked: &HashSet<&str>, concurrency: u32) -> Vec<u32> {
    let mut targets: Vec<Target> = ring
        .targets
        .iter()
        .map(|t| {
            let state = if blocked.contains(t.database_id.as_str()) {
                TargetState::Blocked
            } else {
                TargetState::Pending
            };
            target(&t.database_id, state)
        })
        .collect();
    let mut waves = vec![0; targets.len()];
    let mut wave = 0;
    while !ring_finished(&targets) {
        let slots: Vec<Slot> = targets
            .iter()
            .zip(&ring.targets)
            .map(|(t, p)| Slot {
                target: t,
                primary_id: p.primary_id.as_deref(),
            })
            .collect();
        let start: HashSet<String> = dispatchable(&slots, concurrency)
            .into_iter()
            .map(str::to_string)
            .collect();
        if start.is_empty() {
            targets
                .iter_mut()
                .filter(|t| t.state == TargetState::Blocked)
                .for_each(|t| t.state = TargetState::Pending);
            continue;
        }
        wave += 1;
        for (i, t) in targets.iter_mut().enumerate() {
            if start.contains(&t.database_id) {
                t.state = TargetState::Done;
                waves[i] = wave;
            }
        }
    }
    waves
}

#[test]
fn waves_on_a_prefix_equal_the_rule_on_the_whole_ring() {
    // Primaries with zero to three replicas each, some blocked, in one ring.
    let mut f = Vec::new();
    for p in 0..60 {
        let id = format!("p{p:02}");
        for r in 0..(p % 4) {
            f.push(db(
                &format!("{id}-r{r}"),
                3,
                Environment::Prod,
                1,
                DbRole::Replica,
                Some(&id),
            ));
        }
        f.push(db(&id, 3, Environment::Prod, 1, DbRole::Primary, None));
    }
    let all: Vec<&Database> = f.iter().collect();
    let ring = &plan_rings(&all)[0];
    let ids: Vec<String> = ring.targets.iter().map(|t| t.database_id.clone()).collect();
    for every in [0, 3, 7] {
        let blocked: HashSet<&str> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| every > 0 && i % every == 0)
            .map(|(_, id)| id.as_str())
            .collect();
        for concurrency in [1, 2, 5, 64] {
            assert_eq!(
                dispatch_waves(ring, &blocked, concurrency),
                waves_the_long_way(ring, &blocked, concurrency),
                "every {every}th blocked, concurrency {concurrency}"
            );
        }
    }
}
