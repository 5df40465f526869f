//! The demo driver: plays the on-call people so a demo never goes quiet. It starts a new
//! campaign when none is unfinished, approves what waits for approval after a pause to
//! think (long enough for someone at a console to act first), and resumes or rolls
//! back campaigns the runner paused. It acts through the same functions as the HTTP
//! API, with its own user names, so its actions are in the audit trail like anyone's.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{ApprovalState, CampaignState, CreateCampaign, GateSettings, Verdict};

use super::actions;
use super::engine::Shared;
use super::runner::to_chrono;
use crate::DomainError;
use crate::store::{approvals, campaigns, fleet};

/// How often the demo driver looks around.
pub(crate) const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct DemoSettings {
    /// Who starts, resumes and rolls back campaigns.
    pub operator: String,
    /// Who approves (two, so tier-1 promotions pass four eyes).
    pub approvers: Vec<String>,
    /// Real time the demo's people wait before acting.
    pub think_time: Duration,
}

impl Default for DemoSettings {
    fn default() -> Self {
        DemoSettings {
            operator: "demo-operator".into(),
            approvers: vec!["demo-approver-1".into(), "demo-approver-2".into()],
            think_time: Duration::from_secs(20),
        }
    }
}

/// `16.3` → `16.4`; `8.0.36` → `8.0.37`; anything else gets `.1` appended.
pub fn next_version(v: &str) -> String {
    match v.rsplit_once('.') {
        Some((head, last)) => match last.parse::<u64>() {
            Ok(n) => format!("{head}.{}", n + 1),
            Err(_) => format!("{v}.1"),
        },
        None => match v.parse::<u64>() {
            Ok(n) => (n + 1).to_string(),
            Err(_) => format!("{v}.1"),
        },
    }
}

fn version_key(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

pub(crate) async fn step(shared: &Shared, demo: &DemoSettings) -> Result<(), DomainError> {
    let think = to_chrono(demo.think_time);
    let now = Utc::now();
    let unfinished = {
        let mut conn = shared.store.pool().acquire().await?;
        campaigns::unfinished_ids(&mut conn).await?
    };
    if unfinished.is_empty() {
        return start_campaign(shared, demo).await;
    }
    for a in approvals::list(shared.store.pool(), Some(ApprovalState::Pending)).await? {
        let last = a
            .decisions
            .iter()
            .map(|d| d.at)
            .max()
            .unwrap_or(a.created_at);
        let wait = if a.decisions.is_empty() {
            think
        } else {
            think / 2
        };
        if now - last < wait {
            continue;
        }
        let Some(approver) = demo.approvers.iter().find(|u| a.may_decide(u).is_ok()) else {
            continue;
        };
        let mut tx = shared.store.begin().await?;
        let d = approvals::NewDecision {
            approver,
            verdict: Verdict::Approve,
            comment: Some("demo: blast radius and findings reviewed"),
            if_match: None,
        };
        approvals::decide(&mut tx, &a.id, d, now, None).await?;
        shared.store.commit(tx).await?;
    }
    for id in unfinished {
        let c = campaigns::get_header(shared.store.pool(), &id).await?;
        let Some(c) = c.filter(|c| c.state == CampaignState::Paused) else {
            continue;
        };
        let by_person = c
            .paused_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("paused by "));
        // Someone at a console paused it: give them much longer before carrying on.
        let wait = if by_person { think * 5 } else { think };
        if now - c.updated_at < wait {
            continue;
        }
        let gate_failed = c
            .paused_reason
            .as_deref()
            .is_some_and(|r| r.contains("health gate failed"));
        let num: u64 = id.trim_start_matches("cmp-").parse().unwrap_or(0);
        let mut tx = shared.store.begin().await?;
        if gate_failed && num % 2 == 1 {
            let reason = "demo: the gate failure is not understood yet; rolling back";
            actions::rollback(&mut tx, &demo.operator, &id, Some(c.version), reason, None).await?;
        } else {
            let reason = "demo: reviewed the pause; carrying on";
            actions::resume(
                &mut tx,
                &demo.operator,
                &id,
                Some(c.version),
                Some(reason),
                None,
            )
            .await?;
        }
        shared.store.commit(tx).await?;
    }
    Ok(())
}

/// The release line of a version: everything before its last component (`16.3` → `16`).
fn line_of(v: &str) -> &str {
    v.rsplit_once('.').map_or(v, |(head, _)| head)
}

/// Starts the next campaign: release lines (engine and major version) take turns; each
/// goes one patch version above the newest of its line.
async fn start_campaign(shared: &Shared, demo: &DemoSettings) -> Result<(), DomainError> {
    let dbs = fleet::list_databases(shared.store.pool()).await?;
    let mut lines: BTreeMap<(&str, &str), (&str, Vec<String>)> = BTreeMap::new();
    for d in &dbs {
        let key = (d.engine.as_str(), line_of(&d.engine_version));
        let entry = lines
            .entry(key)
            .or_insert((d.engine_version.as_str(), Vec::new()));
        if version_key(&d.engine_version) > version_key(entry.0) {
            entry.0 = d.engine_version.as_str();
        }
        entry.1.push(d.id.clone());
    }
    if lines.is_empty() {
        return Ok(());
    }
    let started = {
        let mut conn = shared.store.pool().acquire().await?;
        campaigns::next_num(&mut conn).await? - 1
    };
    let turn = usize::try_from(started).unwrap_or(0) % lines.len();
    let Some(((engine, _), (newest, ids))) = lines.iter().nth(turn) else {
        return Ok(());
    };
    let version = next_version(newest);
    let req = CreateCampaign {
        title: format!("{engine} {version} security patch"),
        target_version: version,
        databases: Some(ids.clone()),
        rings: None,
        engine: Some(engine.to_string()),
        // A shorter bake than the default keeps the demo moving between rings.
        gate: Some(GateSettings {
            concurrency: 8,
            bake_seconds: 120,
            ..GateSettings::default()
        }),
        ..CreateCampaign::default()
    };
    let mut tx = shared.store.begin().await?;
    actions::create_campaign(&mut tx, &demo.operator, &req, None).await?;
    shared.store.commit(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_go_up_by_one_minor() {
        assert_eq!(next_version("16.3"), "16.4");
        assert_eq!(next_version("8.0.36"), "8.0.37");
        assert_eq!(next_version("17"), "18");
        assert_eq!(next_version("beta"), "beta.1");
        assert!(version_key("16.10") > version_key("16.9"));
        assert_eq!(line_of("8.0.36"), "8.0");
        assert_eq!(line_of("16"), "16");
    }
}
