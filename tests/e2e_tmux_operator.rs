//! The operator's core actions in the real `fleetdeck` binary in a real terminal (tmux):
//! `p` and confirm on a running demo campaign that moves while the dialog is open
//! pauses it at once, on the first send; and in the Approvals pane the cursor stays on
//! its approval when a new one arrives above it, while one that leaves is said so and
//! the key meant for it opens nothing.

mod common;
mod tmux;

use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{ApprovalKind, BlastRadius};
use fleetdeck_control_plane::store::approvals::{self, NewApproval};

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

/// The id after `prefix` on the screen (`Pause cmp-3` → `cmp-3`).
fn id_after(screen: &str, prefix: &str) -> Option<String> {
    let start = screen.find(prefix)? + prefix.len();
    Some(
        screen[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect(),
    )
}

#[test]
fn p_and_confirm_pauses_a_moving_demo_campaign_at_once() {
    if tmux::skipped() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let t = tmux::Tmux::start("brake", (160, 48), home.path(), &[], BIN, &[]);
    t.wait_for(
        "a running campaign in the demo",
        Duration::from_secs(90),
        |s| s.contains("connected") && s.contains("▶ running  cmp-"),
    );
    // Rings, needing a human first: step down until `p` opens a pause dialog.
    t.keys(&["2"]);
    let mut opened = None;
    for _ in 0..12 {
        t.keys(&["p"]);
        std::thread::sleep(Duration::from_millis(300));
        let s = t.screen();
        if let Some(id) = id_after(&s, "┏ Pause ") {
            opened = Some(id);
            break;
        }
        t.keys(&["j"]);
    }
    let id = opened.unwrap_or_else(|| panic!("no pause dialog opened:\n{}", t.screen()));
    // The campaign moves on while the dialog is open: its targets change its version.
    t.wait_for(
        "the campaign to move while the dialog is open",
        Duration::from_secs(90),
        |s| s.contains("since this opened"),
    );
    // Tab goes to the reason it needs; Enter there moves on to Pause; Enter sends.
    t.keys(&["Tab"]);
    t.wait_for("focus in the reason field", Duration::from_secs(5), |s| {
        s.contains("▸ Reason (required)")
    });
    t.keys(&["hold for the on-call dba", "Enter"]);
    t.wait_for("focus on Pause", Duration::from_secs(5), |s| {
        s.contains("» Pause «")
    });
    t.keys(&["Enter"]);
    let after = t.wait_for("the pause's answer", Duration::from_secs(15), |s| {
        s.contains(&format!("paused {id}")) || s.contains("refused")
    });
    assert!(
        after.contains(&format!("✓ paused {id}")) && !after.contains("refused"),
        "the pause did not take on the first send:\n{after}"
    );
    t.keys(&["q"]);
    t.wait_for("the program to exit", Duration::from_secs(15), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
}

/// Raises a pending policy exception requested by olga, expiring in `minutes`.
async fn raise(fx: &common::Fixture, subject: &str, minutes: i64) -> String {
    let store = fx.server.as_ref().expect("running").store();
    let mut tx = store.begin().await.unwrap();
    let a = approvals::insert(
        &mut tx,
        NewApproval {
            kind: ApprovalKind::PolicyException,
            subject: subject.into(),
            campaign_id: None,
            database_id: Some("pg-prod-01".into()),
            ring: Some(2),
            requested_by: "olga".into(),
            reason: "restore evidence is old".into(),
            blast_radius: BlastRadius {
                databases: 1,
                prod: 1,
                tier1: 0,
            },
            findings: Vec::new(),
            approvals_required: 1,
            expires_at: Utc::now() + chrono::Duration::minutes(minutes),
        },
        None,
    )
    .await
    .unwrap();
    store.commit(tx).await.unwrap();
    a.id
}

async fn approve_as_abe(fx: &common::Fixture, id: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/approvals/{id}/approve", fx.base))
        .bearer_auth(common::token("abe"))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "approve {id}: {}",
        resp.status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_under_the_cursor_is_the_one_acted_on() {
    if tmux::skipped() {
        return;
    }
    let fx = common::Fixture::start().await;
    let first = raise(&fx, "first exception", 30).await;
    let second = raise(&fx, "second exception", 40).await;
    let third = raise(&fx, "third exception", 50).await;
    let home = tempfile::tempdir().unwrap();
    let token = common::token("ann");
    let t = tmux::Tmux::connected("cursor", (160, 48), home.path(), &token, BIN, &fx.base, &[]);
    t.keys(&["4", "z", "j"]); // the second, by soonest expiry
    // A new, more urgent approval arrives between `j` and `a`: it sorts above.
    let urgent = raise(&fx, "urgent exception", 5).await;
    t.wait_for("the new approval", Duration::from_secs(10), |s| {
        s.contains("urgent exception")
    });
    t.keys(&["a"]);
    let dialog = t.wait_for("the approve dialog", Duration::from_secs(10), |s| {
        s.contains("┏ Approve apr-")
    });
    assert_eq!(
        id_after(&dialog, "┏ Approve ").as_deref(),
        Some(second.as_str()),
        "the dialog is not about the approval the cursor was on (urgent was {urgent}):\n{dialog}"
    );
    t.keys(&["Escape"]);

    // The selected approval is decided elsewhere: said so; the cursor goes to its
    // neighbour; the `a` meant for it opens nothing.
    approve_as_abe(&fx, &second).await;
    let said = format!("{second} left the queue (approved by abe): the cursor is on {third}");
    t.wait_for("the footer to say it left", Duration::from_secs(10), |s| {
        s.contains(&said)
    });
    t.keys(&["a"]);
    let s = t.wait_for("the refusal", Duration::from_secs(10), |s| {
        s.contains("before this key: nothing done")
    });
    assert!(!s.contains("┏ Approve"), "a dialog opened:\n{s}");
    // Pressed again, knowingly, it acts on the approval the cursor is on now.
    t.keys(&["a"]);
    let dialog = t.wait_for("the approve dialog", Duration::from_secs(10), |s| {
        s.contains("┏ Approve apr-")
    });
    assert_eq!(
        id_after(&dialog, "┏ Approve ").as_deref(),
        Some(third.as_str()),
        "{dialog}"
    );
    assert_ne!(first, third);
    t.keys(&["Escape", "q"]);
    t.wait_for("the program to exit", Duration::from_secs(15), |s| {
        s.contains("FLEETDECK_EXIT=")
    });
}
