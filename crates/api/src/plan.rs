//! A campaign's plan (`POST /v1/campaigns/plan`): what starting it would do now, target
//! by target, and every reason it would be refused. `POST /v1/campaigns` plans with the
//! same function, so the campaign it starts is the plan.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{BlastRadius, DbRole, Environment, Freshness};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignPlan {
    /// A hash of everything below except `estimate` and `computed_at`: it changes only
    /// when what the campaign would do changes. `plan_hash` in a create body pins it.
    pub plan_hash: String,
    /// True when `refusals` is empty.
    pub can_start: bool,
    pub title: String,
    pub target_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_ref: Option<String>,
    pub gate: PlanGate,
    /// The rings in the order they run.
    pub rings: Vec<PlanRing>,
    pub blast_radius: BlastRadius,
    /// Every reason `POST /v1/campaigns` would refuse this body now; empty when it
    /// would start.
    pub refusals: Vec<PlanRefusal>,
    pub estimate: PlanEstimate,
    pub computed_at: DateTime<Utc>,
}

/// The gate as the campaign applies it to every ring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanGate {
    /// The ring pauses at this failed target (the failure budget).
    pub pauses_at_failed_target: u32,
    pub bake_seconds: u64,
    pub max_replication_lag_s: f64,
    pub concurrency: u32,
    /// The same in words, for people.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRing {
    /// The fleet's patch ring number.
    pub index: u8,
    pub contains_prod: bool,
    pub blast_radius: BlastRadius,
    /// The ring-promotion approval entering it needs (production rings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<PlanApproval>,
    /// Dispatch order: `wave` ascending, then as listed.
    pub targets: Vec<PlanTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanApproval {
    pub approvals_required: u32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanTarget {
    pub database_id: String,
    pub environment: Environment,
    pub tier: u8,
    pub role: DbRole,
    /// Its primary, when that is in the same ring: it goes only after this replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_id: Option<String>,
    pub from_version: String,
    pub to_version: String,
    /// Which batch of at most `concurrency` it is dispatched in, from 1, when every
    /// target takes as long and every exception is approved.
    pub wave: u32,
    /// Its restore evidence cannot be trusted: it waits for a policy exception.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<PlanBlock>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanBlock {
    pub freshness: Freshness,
    pub reason: String,
    /// Approvals the policy exception that will be requested needs.
    pub approvals_required: u32,
}

/// One reason the campaign would be refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRefusal {
    /// `invalid`, `unknown-database`, `busy`, `downgrade`, `empty-selection` or
    /// `up-to-date`; more may come.
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_id: Option<String>,
}

/// How long the campaign may take, from the history of finished targets and bakes;
/// time spent waiting for approvals is not counted. Not part of `plan_hash`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanEstimate {
    /// None without history of finished targets.
    pub seconds: Option<u64>,
    /// Median duration of a finished target, if any finished.
    pub target_seconds: Option<f64>,
    pub target_samples: u32,
    /// Bake per ring: the gate's, scaled as past bakes ran.
    pub bake_seconds: f64,
    pub bake_samples: u32,
    /// How the estimate was made, in words.
    pub basis: String,
}

impl CampaignPlan {
    pub fn target_count(&self) -> usize {
        self.rings.iter().map(|r| r.targets.len()).sum()
    }

    /// What differs from `before` (a plan of the same body computed earlier), in words,
    /// one change per line; empty when nothing that `plan_hash` covers changed.
    pub fn changes_from(&self, before: &CampaignPlan) -> Vec<String> {
        let mut out = Vec::new();
        let mut say = |s: String| out.push(s);
        if self.title != before.title || self.target_version != before.target_version {
            say(format!(
                "'{}' to {} is now '{}' to {}",
                before.title, before.target_version, self.title, self.target_version
            ));
        }
        if self.change_ref != before.change_ref {
            say(format!(
                "change reference {} is now {}",
                before.change_ref.as_deref().unwrap_or("(none)"),
                self.change_ref.as_deref().unwrap_or("(none)")
            ));
        }
        if self.gate != before.gate {
            say(format!(
                "gate '{}' is now '{}'",
                before.gate.summary, self.gate.summary
            ));
        }
        let targets = |p: &CampaignPlan| -> Vec<(u8, PlanTarget)> {
            p.rings
                .iter()
                .flat_map(|r| r.targets.iter().map(move |t| (r.index, t.clone())))
                .collect()
        };
        let (old, new) = (targets(before), targets(self));
        let find = |list: &[(u8, PlanTarget)], id: &str| {
            list.iter().find(|(_, t)| t.database_id == id).cloned()
        };
        for (ring, t) in &new {
            let Some((old_ring, o)) = find(&old, &t.database_id) else {
                say(format!(
                    "{} is added (ring {ring}, {} to {})",
                    t.database_id, t.from_version, t.to_version
                ));
                continue;
            };
            let id = &t.database_id;
            if old_ring != *ring {
                say(format!("{id} moves from ring {old_ring} to ring {ring}"));
            }
            if o.from_version != t.from_version {
                say(format!(
                    "{id} now runs {} (was {})",
                    t.from_version, o.from_version
                ));
            }
            match (&o.blocked, &t.blocked) {
                (None, Some(b)) => say(format!("{id} is now blocked: {}", b.reason)),
                (Some(_), None) => say(format!("{id} is no longer blocked")),
                (Some(a), Some(b)) if a != b => {
                    say(format!("{id} is blocked for another reason: {}", b.reason))
                }
                _ => {}
            }
            if o.wave != t.wave || o.primary_id != t.primary_id {
                say(format!(
                    "{id} moves from wave {} to wave {}",
                    o.wave, t.wave
                ));
            }
        }
        for (ring, t) in &old {
            if find(&new, &t.database_id).is_none() {
                say(format!(
                    "{} is no longer included (was ring {ring})",
                    t.database_id
                ));
            }
        }
        for r in &self.rings {
            let Some(o) = before.rings.iter().find(|o| o.index == r.index) else {
                continue;
            };
            if o.promotion != r.promotion {
                let n = |p: &Option<PlanApproval>| p.as_ref().map_or(0, |a| a.approvals_required);
                say(format!(
                    "ring {} promotion needs {} approval(s) (was {})",
                    r.index,
                    n(&r.promotion),
                    n(&o.promotion)
                ));
            }
        }
        for r in &self.refusals {
            if !before.refusals.contains(r) {
                say(format!("now refused: {}", r.message));
            }
        }
        for r in &before.refusals {
            if !self.refusals.contains(r) {
                say(format!("no longer refused: {}", r.message));
            }
        }
        if out.is_empty() && self.plan_hash != before.plan_hash {
            out.push("the order or the counts changed".into());
        }
        out
    }
}

/// "1st", "2nd", "3rd", "4th", "11th", "22nd".
pub fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, wave: u32) -> PlanTarget {
        PlanTarget {
            database_id: id.into(),
            environment: Environment::Prod,
            tier: 1,
            role: DbRole::Primary,
            primary_id: None,
            from_version: "16.3".into(),
            to_version: "16.4".into(),
            wave,
            blocked: None,
        }
    }

    fn plan(hash: &str, targets: Vec<PlanTarget>) -> CampaignPlan {
        CampaignPlan {
            plan_hash: hash.into(),
            can_start: true,
            title: "t".into(),
            target_version: "16.4".into(),
            change_ref: None,
            gate: PlanGate {
                pauses_at_failed_target: 3,
                bake_seconds: 300,
                max_replication_lag_s: 30.0,
                concurrency: 4,
                summary: "s".into(),
            },
            rings: vec![PlanRing {
                index: 2,
                contains_prod: true,
                blast_radius: BlastRadius::default(),
                promotion: None,
                targets,
            }],
            blast_radius: BlastRadius::default(),
            refusals: vec![],
            estimate: PlanEstimate {
                seconds: None,
                target_seconds: None,
                target_samples: 0,
                bake_seconds: 300.0,
                bake_samples: 0,
                basis: String::new(),
            },
            computed_at: Utc::now(),
        }
    }

    #[test]
    fn changes_name_what_happened_to_each_target() {
        let before = plan("a", vec![target("p1", 1), target("p2", 1)]);
        let mut after = plan("b", vec![target("p1", 1), target("p3", 1)]);
        after.rings[0].targets[0].blocked = Some(PlanBlock {
            freshness: Freshness::Stale,
            reason: "restore evidence is stale".into(),
            approvals_required: 2,
        });
        let changes = after.changes_from(&before);
        assert_eq!(
            changes,
            [
                "p1 is now blocked: restore evidence is stale",
                "p3 is added (ring 2, 16.3 to 16.4)",
                "p2 is no longer included (was ring 2)",
            ]
        );
        assert!(before.changes_from(&before).is_empty());
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101].map(ordinal).into();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"
            ]
        );
    }
}
