//! Campaign actions through the real App against a real control plane: pause (reason
//! required), resume, and a rollback of a production campaign that is enabled only by
//! typing the campaign's id. Each is checked in the server's state afterwards.

mod app_harness;
mod common;

use common::Fixture;
use crossterm::event::KeyCode;
use fleetdeck_api::{Campaign, CampaignState};
use fleetdeck_console::message::Action;

use app_harness::Harness;

/// A campaign over the prod primary and its replica: their restore evidence has never
/// been proven, so the campaign waits for approvals and holds still while the test acts.
async fn waiting_prod_campaign(fx: &Fixture) -> Campaign {
    let body = serde_json::json!({
        "title": "postgres 16.4 on payments prod",
        "target_version": "16.4",
        "databases": ["pg-prod-01", "pg-prod-01-r1"],
    });
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/campaigns", fx.base))
        .bearer_auth(common::token("olga"))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let c: Campaign = resp.json().await.unwrap();
    assert!(c.touches_prod());
    settled(fx, &c.id).await
}

/// The campaign once the runner has done what it can without a human: its version
/// unchanged for half a second.
async fn settled(fx: &Fixture, id: &str) -> Campaign {
    let mut last = fx.campaign(id).await;
    let mut still = 0;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let now = fx.campaign(id).await;
        if now.version == last.version {
            still += 1;
            if still == 5 {
                return now;
            }
        } else {
            still = 0;
        }
        last = now;
    }
    panic!("campaign {id} never held still: {last:?}");
}

/// Focus the Rings pane and press `key` on the selected campaign, with the App's data
/// brought up to date first.
async fn act(h: &mut Harness, key: char) {
    h.sync().await;
    h.key(KeyCode::Char('2'));
    h.key(KeyCode::Char(key));
}

async fn pause(h: &mut Harness, reason: &str) {
    act(h, 'p').await;
    // Cancel has focus; back to the reason, type it, then on to Pause.
    h.backtab();
    h.type_text(reason);
    h.tab();
    h.tab();
    h.enter();
}

#[tokio::test]
async fn pause_then_resume() {
    let fx = Fixture::start().await;
    let c = waiting_prod_campaign(&fx).await;
    let mut h = Harness::new(fx.client("olga")).await;

    pause(&mut h, "maintenance window moved").await;
    assert_eq!(h.sends(), 1, "{}", h.screen(160, 48));
    assert!(
        matches!(&h.sent[0].action, Action::Pause { campaign_id, reason } if *campaign_id == c.id && reason == "maintenance window moved")
    );
    h.run_effects().await;
    assert!(matches!(h.answers.as_slice(), [Ok(())]), "{:?}", h.answers);
    let paused = fx.campaign(&c.id).await;
    assert_eq!(paused.state, CampaignState::Paused);
    assert!(
        paused
            .paused_reason
            .as_deref()
            .unwrap_or_default()
            .contains("maintenance window moved")
    );

    // Resume: the reason is optional, so Cancel → Resume → Enter is enough.
    act(&mut h, 'r').await;
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 2, "{}", h.screen(160, 48));
    h.run_effects().await;
    assert!(matches!(h.answers[1], Ok(())), "{:?}", h.answers);
    assert_ne!(fx.campaign(&c.id).await.state, CampaignState::Paused);
}

#[tokio::test]
async fn pause_without_a_reason_sends_nothing() {
    let fx = Fixture::start().await;
    let c = waiting_prod_campaign(&fx).await;
    let mut h = Harness::new(fx.client("olga")).await;

    act(&mut h, 'p').await;
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 0);
    assert_ne!(fx.campaign(&c.id).await.state, CampaignState::Paused);
}

#[tokio::test]
async fn rollback_of_production_needs_the_campaign_id_typed() {
    let fx = Fixture::start().await;
    let c = waiting_prod_campaign(&fx).await;
    let mut h = Harness::new(fx.client("olga")).await;

    act(&mut h, 'R').await;
    assert!(h.text().contains(&c.id), "{}", h.screen(160, 48));
    // Reason typed, confirmation wrong: the button stays disabled.
    h.backtab(); // the confirmation field
    h.type_text("cmp-wrong");
    h.backtab(); // the reason
    h.type_text("16.4 breaks the payments extension");
    h.tab();
    h.tab();
    h.tab();
    h.enter();
    assert_eq!(
        h.sends(),
        0,
        "a rollback went out without the right id typed"
    );

    // Correct the confirmation (Confirm → reason → confirmation): clear it, type the id.
    h.tab();
    h.tab();
    for _ in 0.."cmp-wrong".len() {
        h.key(KeyCode::Backspace);
    }
    h.type_text(&c.id);
    h.tab();
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 1, "{}", h.screen(160, 48));
    assert!(
        matches!(&h.sent[0].action, Action::Rollback { campaign_id, reason } if *campaign_id == c.id && reason == "16.4 breaks the payments extension")
    );
    h.run_effects().await;
    assert!(matches!(h.answers.as_slice(), [Ok(())]), "{:?}", h.answers);
    let after = fx.campaign(&c.id).await;
    assert!(
        matches!(
            after.state,
            CampaignState::RollingBack | CampaignState::RolledBack
        ),
        "{:?}",
        after.state
    );
    let rollback = after.rollback.expect("rollback status");
    assert_eq!(rollback.reason, "16.4 breaks the payments extension");
    assert_eq!(rollback.requested_by, "olga");
}
