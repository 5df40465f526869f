//! Pure campaign logic: which databases a campaign covers, how they fall into rings and
//! in which order, which targets may be dispatched now, and what a gate decides. No
//! store and no clock here, so every rule is unit-tested on plain values.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use fleetdeck_api::limits::{MAX_REASON_CHARS, MAX_TITLE_CHARS};
use fleetdeck_api::{
    BlastRadius, CreateCampaign, Database, DbRole, Environment, Finding, GateSettings, Health,
    HealthStatus, Severity, Target, TargetState,
};

use crate::DomainError;

/// Longest version string a campaign accepts.
pub const MAX_VERSION_CHARS: usize = 64;
/// Upper bounds that keep a typo from freezing a campaign for a month.
pub const MAX_CONCURRENCY: u32 = 64;
pub const MAX_BAKE_SECONDS: u64 = 7 * 24 * 3600;

/// One database as a planned target.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTarget {
    pub database_id: String,
    /// Its primary, when it is a replica whose primary is in the same ring.
    pub primary_id: Option<String>,
    pub from_version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRing {
    /// The fleet's patch ring number.
    pub ring: u8,
    pub contains_prod: bool,
    /// Dispatch order: replicas before primaries.
    pub targets: Vec<PlannedTarget>,
}

/// Checks a reason or comment: present when `required`, within the length limit.
pub fn check_reason(reason: Option<&str>, required: bool) -> Result<Option<String>, DomainError> {
    let trimmed = reason.map(str::trim).filter(|r| !r.is_empty());
    match trimmed {
        None if required => Err(DomainError::Invalid("a reason is required".into())),
        None => Ok(None),
        Some(r) if r.chars().count() > MAX_REASON_CHARS => Err(DomainError::Invalid(format!(
            "the reason is {} characters long; the limit is {MAX_REASON_CHARS}",
            r.chars().count()
        ))),
        Some(r) => Ok(Some(r.to_string())),
    }
}

/// Validates gate settings; the defaults fill in when none are given.
pub fn check_gate(gate: Option<&GateSettings>) -> Result<GateSettings, DomainError> {
    let gate = gate.cloned().unwrap_or_default();
    if gate.failure_budget == 0 {
        return Err(DomainError::Invalid(
            "gate.failure_budget must be at least 1 (the campaign pauses at that many failed targets in a ring)".into(),
        ));
    }
    if gate.concurrency == 0 || gate.concurrency > MAX_CONCURRENCY {
        return Err(DomainError::Invalid(format!(
            "gate.concurrency must be between 1 and {MAX_CONCURRENCY}, not {}",
            gate.concurrency
        )));
    }
    if gate.bake_seconds > MAX_BAKE_SECONDS {
        return Err(DomainError::Invalid(format!(
            "gate.bake_seconds must be at most {MAX_BAKE_SECONDS} (7 days), not {}",
            gate.bake_seconds
        )));
    }
    if !gate.max_replication_lag_s.is_finite() || gate.max_replication_lag_s < 0.0 {
        return Err(DomainError::Invalid(
            "gate.max_replication_lag_s must be a non-negative number of seconds".into(),
        ));
    }
    Ok(gate)
}

/// Validates the request's title and version (the selection is checked by [`select`]).
pub fn check_request(req: &CreateCampaign) -> Result<(String, String), DomainError> {
    let title = req.title.trim();
    if title.is_empty() {
        return Err(DomainError::Invalid("title is required".into()));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(DomainError::Invalid(format!(
            "the title is longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    let version = req.target_version.trim();
    if version.is_empty() {
        return Err(DomainError::Invalid("target_version is required".into()));
    }
    if version.chars().count() > MAX_VERSION_CHARS
        || version.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(DomainError::Invalid(format!(
            "target_version must be at most {MAX_VERSION_CHARS} characters without spaces or control characters"
        )));
    }
    Ok((title.to_string(), version.to_string()))
}

/// The databases a request covers: the union of `databases` and `rings` (neither means
/// the whole fleet), narrowed to `engine`, without those already on the target version.
pub fn select<'a>(
    fleet: &'a [Database],
    req: &CreateCampaign,
    target_version: &str,
) -> Result<Vec<&'a Database>, DomainError> {
    let by_id: HashMap<&str, &Database> = fleet.iter().map(|d| (d.id.as_str(), d)).collect();
    let mut wanted: HashSet<&str> = HashSet::new();
    if let Some(ids) = &req.databases {
        for id in ids {
            if !by_id.contains_key(id.as_str()) {
                return Err(DomainError::Invalid(format!(
                    "unknown database '{}'",
                    fleetdeck_api::text::sanitize_line(id)
                )));
            }
            wanted.insert(id.as_str());
        }
    }
    if let Some(rings) = &req.rings {
        for d in fleet.iter().filter(|d| rings.contains(&d.ring)) {
            wanted.insert(d.id.as_str());
        }
    }
    let everything = req.databases.is_none() && req.rings.is_none();
    let picked: Vec<&Database> = fleet
        .iter()
        .filter(|d| everything || wanted.contains(d.id.as_str()))
        .filter(|d| req.engine.as_deref().is_none_or(|e| d.engine == e))
        .collect();
    if picked.is_empty() {
        return Err(DomainError::Invalid(
            "the selection (databases, rings, engine) matches no database".into(),
        ));
    }
    let todo: Vec<&Database> = picked
        .into_iter()
        .filter(|d| d.engine_version != target_version)
        .collect();
    if todo.is_empty() {
        return Err(DomainError::Invalid(format!(
            "every selected database already runs {target_version}"
        )));
    }
    Ok(todo)
}

/// Groups the selection into rings (ascending) in dispatch order: replicas before
/// primaries, each group by id so the order is stable.
pub fn plan_rings(selected: &[&Database]) -> Vec<PlannedRing> {
    let mut rings: BTreeMap<u8, Vec<&Database>> = BTreeMap::new();
    for d in selected {
        rings.entry(d.ring).or_default().push(d);
    }
    rings
        .into_iter()
        .map(|(ring, mut dbs)| {
            dbs.sort_by(|a, b| {
                let replica_first = |d: &Database| d.role != DbRole::Replica;
                (replica_first(a), &a.id).cmp(&(replica_first(b), &b.id))
            });
            let ids: HashSet<&str> = dbs.iter().map(|d| d.id.as_str()).collect();
            PlannedRing {
                ring,
                contains_prod: dbs.iter().any(|d| d.environment == Environment::Prod),
                targets: dbs
                    .iter()
                    .map(|d| PlannedTarget {
                        database_id: d.id.clone(),
                        primary_id: d
                            .primary_id
                            .clone()
                            .filter(|p| d.role == DbRole::Replica && ids.contains(p.as_str())),
                        from_version: d.engine_version.clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A ring target with what dispatch needs to know about it.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    pub target: &'a Target,
    pub primary_id: Option<&'a str>,
}

/// The targets to start now: pending ones in order, at most `concurrency` in flight, a
/// primary only once every replica of it in the ring has finished.
pub fn dispatchable<'a>(slots: &[Slot<'a>], concurrency: u32) -> Vec<&'a str> {
    let in_flight = slots
        .iter()
        .filter(|s| s.target.state.is_in_flight())
        .count();
    let room = (concurrency as usize).saturating_sub(in_flight);
    let unfinished_replicas_of: HashSet<&str> = slots
        .iter()
        .filter(|s| !s.target.state.is_terminal())
        .filter_map(|s| s.primary_id)
        .collect();
    slots
        .iter()
        .filter(|s| s.target.state == TargetState::Pending)
        .filter(|s| !unfinished_replicas_of.contains(s.target.database_id.as_str()))
        .map(|s| s.target.database_id.as_str())
        .take(room)
        .collect()
}

/// A ring's targets are all finished (done, failed or skipped).
pub fn ring_finished(targets: &[Target]) -> bool {
    targets.iter().all(|t| t.state.is_terminal())
}

/// The gate fails at the `failure_budget`-th failed target.
pub fn budget_exhausted(failures: u32, gate: &GateSettings) -> bool {
    failures >= gate.failure_budget
}

/// Why a database's status is not good enough, if it is not, with what the check found.
pub fn status_problem(db_id: &str, health: &Health) -> Option<String> {
    match health.status {
        HealthStatus::Healthy => None,
        other if health.findings.is_empty() => Some(format!("{db_id} is {}", other.as_str())),
        other => Some(format!(
            "{db_id} is {} ({})",
            other.as_str(),
            health.findings.join("; ")
        )),
    }
}

/// Why a database's health fails the gate, if it does: its status, or a replica lagging
/// past the limit.
pub fn health_problem(db_id: &str, health: &Health, gate: &GateSettings) -> Option<String> {
    if let Some(p) = status_problem(db_id, health) {
        return Some(p);
    }
    match health.replication_lag_s {
        Some(lag) if !lag.is_finite() || lag > gate.max_replication_lag_s => Some(format!(
            "{db_id} replication lag {lag:.1}s exceeds the {:.1}s limit",
            gate.max_replication_lag_s
        )),
        _ => None,
    }
}

/// How much of the fleet a set of databases is.
pub fn blast_radius<'a>(dbs: impl IntoIterator<Item = &'a Database>) -> BlastRadius {
    let mut b = BlastRadius::default();
    for d in dbs {
        b.databases += 1;
        if d.environment == Environment::Prod {
            b.prod += 1;
            if d.tier == 1 {
                b.tier1 += 1;
            }
        }
    }
    b
}

/// Two approvers for anything touching tier-1 production, else one.
pub fn approvals_required(radius: &BlastRadius) -> u32 {
    if radius.tier1 > 0 { 2 } else { 1 }
}

/// What policy says about entering a ring.
pub fn promotion_findings(ring: u8, radius: &BlastRadius, earlier_failures: u32) -> Vec<Finding> {
    let mut f = vec![Finding {
        severity: Severity::Warning,
        code: "prod-ring".into(),
        message: format!(
            "ring {ring} contains {} production database(s) of {}",
            radius.prod, radius.databases
        ),
    }];
    if radius.tier1 > 0 {
        f.push(Finding {
            severity: Severity::Critical,
            code: "tier1-prod".into(),
            message: format!(
                "{} tier-1 production database(s): two approvals required",
                radius.tier1
            ),
        });
    }
    if earlier_failures > 0 {
        f.push(Finding {
            severity: Severity::Warning,
            code: "earlier-failures".into(),
            message: format!("{earlier_failures} target(s) failed in earlier rings"),
        });
    }
    f
}

/// A wall-clock duration shrunk by the time scale (the demo runs faster than life).
pub fn scaled(d: Duration, time_scale: f64) -> Duration {
    if time_scale.is_finite() && time_scale > 0.0 {
        d.div_f64(time_scale)
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
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
            engine: None,
            gate: None,
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
        }
    }

    #[test]
    fn selection_is_the_union_and_skips_current_versions() {
        let mut f = fleet();
        f[3].engine_version = "16.3".into();
        let picked = select(&f, &req(Some(vec!["stg1"]), Some(vec![3])), "16.3").unwrap();
        let ids: Vec<_> = picked.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["p1", "r1b", "r1a", "stg1"]);
        let all = select(&f, &req(None, None), "16.3").unwrap();
        assert_eq!(all.len(), 4, "dev1 already runs 16.3");
        assert!(
            matches!(select(&f, &req(Some(vec!["nope"]), None), "16.3"), Err(DomainError::Invalid(m)) if m.contains("nope"))
        );
        assert!(select(&f, &req(Some(vec!["dev1"]), None), "16.3").is_err());
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
}
