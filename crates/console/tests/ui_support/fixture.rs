//! The fixture fleet at 03:00 UTC: databases, evidence, campaigns, approvals, events.

use chrono::{DateTime, TimeZone, Utc};
use fleetdeck_api::*;

/// The fixed "now" of every test: 03:00 UTC, when pagers go off.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap()
}

pub fn mins(m: i64) -> chrono::Duration {
    chrono::Duration::minutes(m)
}

pub fn days(d: i64) -> chrono::Duration {
    chrono::Duration::days(d)
}

#[allow(clippy::too_many_arguments)]
pub fn db(
    id: &str,
    engine: &str,
    version: &str,
    env: Environment,
    tier: u8,
    ring: u8,
    role: DbRole,
    health: HealthStatus,
    lag: Option<f64>,
) -> Database {
    Database {
        id: id.into(),
        engine: engine.into(),
        engine_version: version.into(),
        environment: env,
        tier,
        region: "eu-west-1".into(),
        owner_team: "payments".into(),
        role,
        primary_id: (role == DbRole::Replica).then(|| id.replace("-r", "-p")),
        ring,
        host: format!("{id}.db.internal"),
        tags: vec!["pci".into()],
        health: Health {
            status: health,
            replication_lag_s: lag,
            connections: 120,
            latency_ms: 3.2,
            checked_at: Some(t0() - chrono::Duration::seconds(5)),
            ..Health::default()
        },
        last_patched_at: Some(t0() - days(30)),
        backup_policy: BackupPolicy {
            schedule: "daily 02:00".into(),
            retention_days: 30,
        },
        drill_interval_days: 7,
        version: 3,
    }
}

pub fn databases() -> Vec<Database> {
    use DbRole::*;
    use Environment::*;
    use HealthStatus::*;
    vec![
        db(
            "pg-dev-01",
            "postgres",
            "16.3",
            Dev,
            3,
            0,
            Primary,
            Healthy,
            None,
        ),
        db(
            "pg-dev-02",
            "postgres",
            "16.3",
            Dev,
            3,
            0,
            Primary,
            Down,
            None,
        ),
        db(
            "pg-stg-p1",
            "postgres",
            "16.3",
            Staging,
            2,
            1,
            Primary,
            Healthy,
            None,
        ),
        db(
            "pg-stg-r1",
            "postgres",
            "16.3",
            Staging,
            2,
            1,
            Replica,
            Degraded,
            Some(42.0),
        ),
        db(
            "pg-prod-p1",
            "postgres",
            "16.3",
            Prod,
            1,
            2,
            Primary,
            Healthy,
            None,
        ),
        db(
            "pg-prod-r1",
            "postgres",
            "16.3",
            Prod,
            1,
            2,
            Replica,
            Healthy,
            Some(0.4),
        ),
        db(
            "pg-prod-p2",
            "postgres",
            "16.2",
            Prod,
            2,
            2,
            Primary,
            Healthy,
            None,
        ),
        db(
            "my-prod-p1",
            "mysql",
            "8.0.36",
            Prod,
            1,
            3,
            Primary,
            HealthStatus::Unknown,
            None,
        ),
    ]
}

pub fn drill(db: &str, state: DrillState, ago_days: i64, checksum: Option<bool>) -> Drill {
    let started = t0() - days(ago_days);
    Drill {
        id: format!("drl-{db}-{ago_days}"),
        database_id: db.into(),
        state,
        requested_by: "scheduler".into(),
        started_at: started,
        finished_at: (state != DrillState::Running).then(|| started + mins(6)),
        backup_id: Some(format!("bk-{db}-{ago_days}")),
        recovery_point: Some(started - mins(30)),
        restore_seconds: (state == DrillState::Succeeded).then_some(252.0),
        checksum_ok: checksum,
        output: "restored base backup\nreplayed WAL to recovery point\nchecksums verified".into(),
        proof: None,
    }
}

pub fn evidence(
    db: &str,
    freshness: Freshness,
    good_days: Option<i64>,
    latest: Option<Drill>,
) -> Evidence {
    let last_good = good_days.map(|d| drill(db, DrillState::Succeeded, d, Some(true)));
    Evidence {
        database_id: db.into(),
        freshness,
        interval_days: 7,
        last_good_at: last_good.as_ref().map(|d| d.started_at),
        latest: latest.or_else(|| last_good.clone()),
        last_good,
        judged_at: t0(),
    }
}

pub fn evidences() -> Vec<Evidence> {
    vec![
        evidence("pg-dev-01", Freshness::Fresh, Some(1), None),
        evidence("pg-dev-02", Freshness::Aging, Some(6), None),
        evidence("pg-stg-p1", Freshness::Fresh, Some(2), None),
        evidence("pg-stg-r1", Freshness::Never, None, None),
        evidence(
            "pg-prod-p1",
            Freshness::Failed,
            Some(5),
            Some(drill("pg-prod-p1", DrillState::Failed, 1, Some(false))),
        ),
        evidence(
            "pg-prod-r1",
            Freshness::Fresh,
            Some(3),
            Some(drill("pg-prod-r1", DrillState::Running, 0, None)),
        ),
        evidence("pg-prod-p2", Freshness::Stale, Some(11), None),
        evidence("my-prod-p1", Freshness::Fresh, Some(2), None),
    ]
}

pub fn target(db: &str, state: TargetState, message: Option<&str>) -> Target {
    Target {
        database_id: db.into(),
        state,
        from_version: "16.3".into(),
        to_version: "16.4".into(),
        attempts: 1,
        started_at: Some(t0() - mins(40)),
        finished_at: state.is_terminal().then(|| t0() - mins(30)),
        message: message.map(Into::into),
        approval_id: None,
        rollback: None,
    }
}

pub fn ring(index: u8, state: RingState, prod: bool, failures: u32, targets: Vec<Target>) -> Ring {
    Ring {
        index,
        state,
        contains_prod: prod,
        gate: GateStatus {
            state: match state {
                RingState::Passed => GateState::Passed,
                RingState::Failed => GateState::Failed,
                RingState::Baking => GateState::Watching,
                _ => GateState::Pending,
            },
            failures,
            bake_until: (state == RingState::Baking).then(|| t0() + mins(4)),
            reason: (state == RingState::Failed)
                .then(|| "3 failed targets reached the budget of 3".into()),
        },
        approval_id: None,
        started_at: Some(t0() - mins(50)),
        finished_at: None,
        targets,
    }
}

pub fn campaign(id: &str, title: &str, state: CampaignState, rings: Vec<Ring>) -> Campaign {
    Campaign {
        id: id.into(),
        title: title.into(),
        target_version: "16.4".into(),
        created_by: "alice".into(),
        created_at: t0() - mins(60),
        updated_at: t0() - mins(1),
        state,
        paused_reason: None,
        waiting_for: None,
        on_resume: None,
        gate: GateSettings::default(),
        current_ring: Some(1),
        rings,
        rollback: None,
        version: 7,
        change_ref: None,
    }
}

pub fn campaigns() -> Vec<Campaign> {
    use RingState as R;
    use TargetState as T;
    let mut running = campaign(
        "cmp-1",
        "postgres 16.4 minor",
        CampaignState::Running,
        vec![
            ring(
                0,
                R::Passed,
                false,
                0,
                vec![
                    target("pg-dev-01", T::Done, None),
                    target("pg-dev-02", T::Done, None),
                ],
            ),
            ring(
                1,
                R::Running,
                false,
                1,
                vec![
                    target(
                        "pg-stg-r1",
                        T::Failed,
                        Some("replica did not catch up in 300s"),
                    ),
                    target("pg-stg-p1", T::Patching, None),
                ],
            ),
            ring(
                2,
                R::Pending,
                true,
                0,
                vec![
                    target("pg-prod-r1", T::Pending, None),
                    target("pg-prod-p1", T::Pending, None),
                    target(
                        "pg-prod-p2",
                        T::Blocked,
                        Some("evidence stale: waits for apr-2"),
                    ),
                ],
            ),
        ],
    );
    running.rings[2].targets[2].approval_id = Some("apr-2".into());
    let mut paused = campaign(
        "cmp-2",
        "mysql 8.0.37 security",
        CampaignState::Paused,
        vec![ring(
            0,
            R::Failed,
            true,
            3,
            vec![target(
                "my-prod-p1",
                T::Failed,
                Some("health check timed out"),
            )],
        )],
    );
    paused.paused_reason = Some("gate failed in ring 0: 3 failed targets".into());
    paused.current_ring = Some(0);
    paused.created_at = t0() - mins(90);
    let mut waiting = campaign(
        "cmp-3",
        "postgres 16.4 prod",
        CampaignState::AwaitingApproval,
        vec![
            ring(
                0,
                R::Passed,
                false,
                0,
                vec![target("pg-stg-p1", T::Done, None)],
            ),
            ring(
                1,
                R::AwaitingApproval,
                true,
                0,
                vec![target("pg-prod-p1", T::Pending, None)],
            ),
        ],
    );
    waiting.waiting_for = Some("apr-1: promotion into ring 1 (production)".into());
    waiting.created_at = t0() - mins(120);
    let mut done = campaign(
        "cmp-0",
        "postgres 16.3",
        CampaignState::Completed,
        vec![ring(
            0,
            R::Passed,
            false,
            0,
            vec![target("pg-dev-01", T::Done, None)],
        )],
    );
    done.current_ring = None;
    done.created_at = t0() - days(20);
    vec![running, paused, waiting, done]
}

pub fn approval(
    id: &str,
    kind: ApprovalKind,
    subject: &str,
    by: &str,
    expires_in: i64,
) -> Approval {
    Approval {
        id: id.into(),
        kind,
        state: ApprovalState::Pending,
        subject: subject.into(),
        campaign_id: Some("cmp-3".into()),
        database_id: None,
        ring: Some(1),
        requested_by: by.into(),
        reason: "ring 0 passed its gate".into(),
        blast_radius: BlastRadius {
            databases: 3,
            prod: 3,
            tier1: 2,
        },
        findings: vec![Finding {
            severity: Severity::Warning,
            code: "prod_ring".into(),
            message: "ring 1 contains production databases".into(),
        }],
        approvals_required: 2,
        decisions: vec![],
        created_at: t0() - mins(20),
        expires_at: t0() + mins(expires_in),
        decided_at: None,
        version: 4,
    }
}

pub fn approvals() -> Vec<Approval> {
    let mut promo = approval(
        "apr-1",
        ApprovalKind::RingPromotion,
        "campaign cmp-3 · ring 1",
        "runner",
        45,
    );
    promo.decisions.push(Decision {
        approver: "dave".into(),
        verdict: Verdict::Approve,
        comment: Some("ring 0 looks clean".into()),
        at: t0() - mins(5),
    });
    let mut exception = approval(
        "apr-2",
        ApprovalKind::PolicyException,
        "patch pg-prod-p2 on stale evidence",
        "carol",
        10,
    );
    exception.campaign_id = Some("cmp-1".into());
    exception.database_id = Some("pg-prod-p2".into());
    exception.ring = Some(2);
    exception.approvals_required = 1;
    exception.blast_radius = BlastRadius {
        databases: 1,
        prod: 1,
        tier1: 0,
    };
    exception.findings = vec![Finding {
        severity: Severity::Critical,
        code: "evidence_stale".into(),
        message: "last good drill 11 days ago; policy is 7 days".into(),
    }];
    let own = approval(
        "apr-3",
        ApprovalKind::PolicyException,
        "patch pg-stg-r1 with no evidence",
        "alice",
        240,
    );
    vec![promo, exception, own]
}

pub fn event(seq: u64, level: Level, kind: &str, message: &str, change: Option<Change>) -> Event {
    Event {
        seq,
        at: t0() - chrono::Duration::seconds(60 - seq as i64),
        actor: "runner".into(),
        kind: kind.into(),
        level,
        subject: EventSubject {
            campaign_id: Some("cmp-1".into()),
            ring: Some(1),
            database_id: Some("pg-stg-r1".into()),
            ..EventSubject::default()
        },
        message: message.into(),
        correlation_id: Some("corr-1".into()),
        change,
    }
}

pub fn events() -> Vec<Event> {
    let mut out = vec![
        event(
            1,
            Level::Info,
            "campaign.ring_started",
            "ring 1 started: 2 targets",
            None,
        ),
        event(
            2,
            Level::Debug,
            "executor.output",
            "pg_upgrade --check: ok",
            None,
        ),
        event(
            3,
            Level::Warn,
            "database.health",
            "replication lag 42s over the limit of 30s",
            None,
        ),
        event(
            4,
            Level::Error,
            "target.state",
            "pg-stg-r1 failed: replica did not catch up in 300s\u{1b}]52;c;ZXZpbA==\u{7} (see drill history)",
            None,
        ),
        event(
            5,
            Level::Info,
            "executor.output",
            "patching pg-stg-p1: stopping service, installing postgres 16.4, starting service, waiting for the primary to accept connections",
            None,
        ),
    ];
    out[1].actor = "executor".into();
    out
}

pub fn snapshot() -> Snapshot {
    Snapshot {
        server_time: t0(),
        last_seq: 5,
        databases: databases(),
        campaigns: campaigns(),
        evidence: evidences(),
        approvals: approvals(),
        events: events(),
    }
}
