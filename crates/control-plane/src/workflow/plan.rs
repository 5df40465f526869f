//! Pure campaign logic: which databases a campaign covers, how they fall into rings and
//! in which order, which targets may be dispatched now, and what a gate decides. No
//! store and no clock here, so every rule is unit-tested on plain values.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use fleetdeck_api::limits::{MAX_REASON_CHARS, MAX_TITLE_CHARS};
use fleetdeck_api::{
    BlastRadius, CreateCampaign, Database, DbRole, Environment, Finding, GateSettings, Health,
    HealthStatus, PlanRefusal, Severity, Target, TargetState,
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

/// Longest change reference (ticket, pull request) a campaign keeps.
pub const MAX_CHANGE_REF_CHARS: usize = 200;

/// Validates the request's title.
pub fn check_title(req: &CreateCampaign) -> Result<String, DomainError> {
    let title = req.title.trim();
    if title.is_empty() {
        return Err(DomainError::Invalid("title is required".into()));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(DomainError::Invalid(format!(
            "the title is longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    Ok(title.to_string())
}

/// Validates the request's target version.
pub fn check_version(req: &CreateCampaign) -> Result<String, DomainError> {
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
    Ok(version.to_string())
}

/// Validates the change reference: optional, one line, bounded.
pub fn check_change_ref(req: &CreateCampaign) -> Result<Option<String>, DomainError> {
    let Some(r) = req
        .change_ref
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    else {
        return Ok(None);
    };
    if r.chars().count() > MAX_CHANGE_REF_CHARS {
        return Err(DomainError::Invalid(format!(
            "change_ref is longer than {MAX_CHANGE_REF_CHARS} characters"
        )));
    }
    Ok(Some(fleetdeck_api::text::sanitize_line(r).into_owned()))
}

/// How two versions compare, when both are dot-separated numbers ("16.3", "8.0.36");
/// `None` when either is not, since then nobody can say which is newer.
pub fn version_order(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let parts = |v: &str| -> Option<Vec<u64>> {
        let mut n: Vec<u64> = v
            .split('.')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        while n.len() > 1 && n.last() == Some(&0) {
            n.pop();
        }
        Some(n)
    };
    Some(parts(a)?.cmp(&parts(b)?))
}

/// One reason a campaign would be refused.
pub fn refusal(code: &str, message: String, database_id: Option<&str>) -> PlanRefusal {
    PlanRefusal {
        code: code.into(),
        message,
        database_id: database_id.map(str::to_string),
    }
}

/// No list, or a list with a value that `pred` accepts.
fn any_of<T>(list: &Option<Vec<T>>, pred: impl Fn(&T) -> bool) -> bool {
    list.as_ref().is_none_or(|l| l.iter().any(pred))
}

/// What a request selects: the databases to patch, in inventory order, and every reason
/// the selection is refused.
pub struct Selection<'a> {
    pub todo: Vec<&'a Database>,
    pub refusals: Vec<PlanRefusal>,
}

/// The databases a request covers: the union of `databases` and `rings` (neither means
/// the whole fleet), narrowed to `engine`, `environments`, `tiers` and `tags` (any of
/// each list), without `exclude` and without those already on the target version.
pub fn select<'a>(
    fleet: &'a [Database],
    req: &CreateCampaign,
    target_version: &str,
) -> Selection<'a> {
    let by_id: HashMap<&str, &Database> = fleet.iter().map(|d| (d.id.as_str(), d)).collect();
    let mut refusals = Vec::new();
    let named = req.databases.iter().flatten().map(|id| ("", id));
    let excluded = req.exclude.iter().flatten().map(|id| (" in exclude", id));
    for (where_, id) in named.chain(excluded) {
        if !by_id.contains_key(id.as_str()) {
            let id = fleetdeck_api::text::sanitize_line(id);
            refusals.push(refusal(
                "unknown-database",
                format!("unknown database '{id}'{where_}"),
                Some(&id),
            ));
        }
    }
    if req
        .environments
        .iter()
        .flatten()
        .any(|e| *e == Environment::Unknown)
    {
        refusals.push(refusal(
            "invalid",
            "environments may be dev, staging or prod".into(),
            None,
        ));
    }
    let wanted: HashSet<&str> = req.databases.iter().flatten().map(String::as_str).collect();
    let everything = req.databases.is_none() && req.rings.is_none();
    let picked: Vec<&Database> = fleet
        .iter()
        .filter(|d| {
            everything
                || wanted.contains(d.id.as_str())
                || req.rings.as_ref().is_some_and(|r| r.contains(&d.ring))
        })
        .filter(|d| req.engine.as_deref().is_none_or(|e| d.engine == e))
        .filter(|d| any_of(&req.environments, |e| *e == d.environment))
        .filter(|d| any_of(&req.tiers, |t| *t == d.tier))
        .filter(|d| any_of(&req.tags, |t| d.tags.contains(t)))
        .filter(|d| !req.exclude.iter().flatten().any(|x| *x == d.id))
        .collect();
    if picked.is_empty() {
        refusals.push(refusal(
            "empty-selection",
            "the selection (databases, rings, engine, environments, tiers, tags, exclude) matches no database".into(),
            None,
        ));
        return Selection {
            todo: picked,
            refusals,
        };
    }
    let todo: Vec<&Database> = picked
        .into_iter()
        .filter(|d| d.engine_version != target_version)
        .collect();
    for d in &todo {
        if version_order(&d.engine_version, target_version) == Some(std::cmp::Ordering::Greater) {
            refusals.push(refusal(
                "downgrade",
                format!(
                    "{} runs {}, newer than {target_version}: a campaign never downgrades",
                    d.id, d.engine_version
                ),
                Some(&d.id),
            ));
        }
    }
    if todo.is_empty() {
        refusals.push(refusal(
            "up-to-date",
            format!("every selected database already runs {target_version}"),
            None,
        ));
    }
    Selection { todo, refusals }
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

/// The wave (from 1) each target of a ring is dispatched in by [`dispatchable`] when
/// every target takes as long: all in flight finish, the next ones start. Targets in
/// `blocked` wait for their exception until nothing else can go, then are approved.
///
/// Finished targets change nothing the rule looks at, so each wave asks it about the
/// unfinished ones only, and only about a prefix of them: replicas come before every
/// primary ([`plan_rings`]), so a prefix holds the replicas of each primary in it, and
/// the rule picks on the prefix what it picks on the whole ring once the prefix yields
/// `concurrency` targets. A ring of thousands plans in linear time.
pub fn dispatch_waves(ring: &PlannedRing, blocked: &HashSet<&str>, concurrency: u32) -> Vec<u32> {
    let concurrency = concurrency.max(1);
    let want = concurrency as usize;
    let mut targets: Vec<Target> = ring
        .targets
        .iter()
        .map(|t| Target {
            database_id: t.database_id.clone(),
            state: if blocked.contains(t.database_id.as_str()) {
                TargetState::Blocked
            } else {
                TargetState::Pending
            },
            from_version: t.from_version.clone(),
            to_version: String::new(),
            attempts: 0,
            started_at: None,
            finished_at: None,
            message: None,
            approval_id: None,
            rollback: None,
        })
        .collect();
    let index: HashMap<String, usize> = ring
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.database_id.clone(), i))
        .collect();
    let mut waves = vec![0; targets.len()];
    let mut unfinished: VecDeque<usize> = (0..targets.len()).collect();
    let mut wave = 0;
    while !unfinished.is_empty() {
        let mut len = (2 * want).min(unfinished.len());
        let start: HashSet<usize> = loop {
            let slots: Vec<Slot> = unfinished
                .range(..len)
                .map(|&i| Slot {
                    target: &targets[i],
                    primary_id: ring.targets[i].primary_id.as_deref(),
                })
                .collect();
            let picked: HashSet<usize> = dispatchable(&slots, concurrency)
                .into_iter()
                .filter_map(|id| index.get(id).copied())
                .collect();
            if picked.len() == want || len == unfinished.len() {
                break picked;
            }
            len = (len * 2).min(unfinished.len());
        };
        if start.is_empty() {
            // Only exceptions hold the ring: they are decided, and it goes on. Nothing
            // blocked and nothing to start would be a replica cycle the inventory
            // refuses; stop rather than spin.
            let mut any = false;
            for &i in &unfinished {
                if targets[i].state == TargetState::Blocked {
                    targets[i].state = TargetState::Pending;
                    any = true;
                }
            }
            if !any {
                break;
            }
            continue;
        }
        wave += 1;
        let prefix: Vec<usize> = unfinished.drain(..len).collect();
        for &i in prefix.iter().rev() {
            if start.contains(&i) {
                targets[i].state = TargetState::Done;
                waves[i] = wave;
            } else {
                unfinished.push_front(i);
            }
        }
    }
    waves
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
#[path = "plan_tests.rs"]
mod tests;
