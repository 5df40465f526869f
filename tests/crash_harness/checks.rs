//! What must hold after every kill (the file is sound, nothing patched twice) and after
//! every restart (every answered action is in a contiguous log, every state is valid).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use fleetdeck_api::{Campaign, CampaignState, RingState, TargetState};
use fleetdeck_control_plane::executor::simulated::read_call_log;
use fleetdeck_control_plane::store::Store;
use serde::Deserialize;

use super::client::{Acked, Shared};

#[derive(Deserialize)]
struct SeqOnly {
    seq: u64,
    correlation_id: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    events: Vec<SeqOnly>,
    last_seq: u64,
}

/// Reads the whole log; checks it is contiguous from 1; returns its correlation ids.
async fn read_log(shared: &Shared) -> (u64, HashSet<String>) {
    let mut after = 0u64;
    let mut corr = HashSet::new();
    for _ in 0..100_000 {
        let page: Page = shared
            .get(&format!("/v1/events?after={after}&limit=5000"))
            .await
            .expect("events readable after a restart");
        if page.events.is_empty() {
            assert_eq!(after, page.last_seq, "the log ends before last_seq");
            return (after, corr);
        }
        for e in page.events {
            assert_eq!(e.seq, after + 1, "event sequence has a gap or a repeat");
            after = e.seq;
            corr.extend(e.correlation_id);
        }
    }
    panic!("event log did not end");
}

/// Problems with one campaign's states, as sentences.
fn campaign_problems(c: &Campaign) -> Vec<String> {
    let mut p = Vec::new();
    let id = &c.id;
    if c.state == CampaignState::Unknown {
        p.push(format!("{id}: unknown state"));
    }
    if c.state == CampaignState::Paused && c.paused_reason.is_none() {
        p.push(format!("{id}: paused without a reason"));
    }
    if matches!(
        c.state,
        CampaignState::RollingBack | CampaignState::RolledBack
    ) && c.rollback.is_none()
    {
        p.push(format!(
            "{id}: {} without rollback status",
            c.state.as_str()
        ));
    }
    let active = c
        .rings
        .iter()
        .filter(|r| {
            matches!(
                r.state,
                RingState::Running | RingState::Baking | RingState::AwaitingApproval
            )
        })
        .count();
    if active > 1 {
        p.push(format!("{id}: {active} rings active at once"));
    }
    if c.state == CampaignState::Completed && c.rings.iter().any(|r| r.state != RingState::Passed) {
        p.push(format!("{id}: completed with a ring not passed"));
    }
    let forward = matches!(
        c.state,
        CampaignState::Running | CampaignState::Paused | CampaignState::AwaitingApproval
    );
    for r in &c.rings {
        if r.state == RingState::Unknown {
            p.push(format!("{id} ring {}: unknown state", r.index));
        }
        for t in &r.targets {
            let what = format!("{id} ring {} {}", r.index, t.database_id);
            if t.state == TargetState::Unknown {
                p.push(format!("{what}: unknown state"));
            }
            if c.state.is_finished() && (t.state.is_in_flight() || t.state == TargetState::Blocked)
            {
                p.push(format!(
                    "{what}: {} in a finished campaign",
                    t.state.as_str()
                ));
            }
            // (A rollback reverts the targets of passed rings in place.)
            if (forward || c.state == CampaignState::Completed)
                && r.state == RingState::Passed
                && !t.state.is_terminal()
            {
                p.push(format!("{what}: {} in a passed ring", t.state.as_str()));
            }
            if forward && r.state == RingState::Pending && t.state != TargetState::Pending {
                p.push(format!("{what}: {} in a pending ring", t.state.as_str()));
            }
            if t.state == TargetState::Done && t.finished_at.is_none() {
                p.push(format!("{what}: done without a finish time"));
            }
        }
    }
    p
}

/// After a kill, before the restart: the file is sound and no database was patched or
/// rolled back twice.
pub async fn check_offline(state: &Path, call_log: &Path) -> HashMap<(String, String), u32> {
    let store = Store::open(state)
        .await
        .expect("state file opens after SIGKILL");
    let integrity = store.integrity_check().await.expect("integrity_check runs");
    store.close().await;
    assert_eq!(integrity, vec!["ok".to_string()], "PRAGMA integrity_check");
    let calls = read_call_log(call_log).unwrap_or_default();
    for ((op, db), n) in &calls {
        if op == "patch" || op == "rollback" {
            assert!(*n <= 1, "{db}: {op} called {n} times");
        }
    }
    calls
}

/// After a restart: every acknowledged action is in the log and every state is valid.
pub async fn check_online(shared: &Shared) -> (usize, usize, u64) {
    let acked: Vec<Acked> = shared.acked.lock().unwrap().clone();
    let (last_seq, corr) = read_log(shared).await;
    let missing: Vec<String> = acked
        .iter()
        .filter(|a| !corr.contains(&format!("req-{}", a.key)))
        .map(|a| format!("{} (key {})", a.what, a.key))
        .collect();
    assert!(
        missing.is_empty(),
        "actions answered 2xx but not in the event log: {missing:?}"
    );
    let campaigns: Vec<Campaign> = shared
        .get("/v1/campaigns")
        .await
        .expect("campaigns readable");
    let problems: Vec<String> = campaigns.iter().flat_map(campaign_problems).collect();
    assert!(problems.is_empty(), "invalid states: {problems:#?}");
    (acked.len(), acked.len() - missing.len(), last_seq)
}
