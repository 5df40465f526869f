//! A campaign's "waits for" names only live approvals; a paused campaign waits for a
//! resume, and says what resuming will do, kept true while its approvals expire.

mod flow_support;

use std::time::Duration;

use fleetdeck_api::{Campaign, CampaignState, Change, TargetState};
use fleetdeck_control_plane::executor::simulated::SimConfig;
use fleetdeck_control_plane::workflow::{self, EngineSettings};
use flow_support::{Env, dev_and_staging, gate, request};

/// pg-dev-01 has never been restore-drilled: its target waits for a policy exception,
/// which expires after `ttl`.
async fn blocked_env(ttl: Duration) -> Env {
    Env::with(
        &dev_and_staging(),
        &["pg-dev-01"],
        EngineSettings {
            approval_ttl: ttl,
            ..flow_support::settings()
        },
        SimConfig {
            time_scale: 10_000.0,
            ..SimConfig::default()
        },
    )
    .await
}

fn exception_of(c: &Campaign) -> Option<String> {
    c.rings[0]
        .targets
        .iter()
        .find(|t| t.database_id == "pg-dev-01" && t.state == TargetState::Blocked)
        .and_then(|t| t.approval_id.clone())
}

async fn resume(env: &Env, id: &str) {
    let mut tx = env.store.begin().await.unwrap();
    workflow::resume(&mut tx, "olga", id, None, Some("decided now"), None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
}

#[tokio::test]
async fn an_expired_exception_is_not_waited_for_and_resume_says_it_asks_again() {
    let env = blocked_env(Duration::from_millis(1500)).await;
    let c = env.create(request(None, gate(2, 2))).await;
    let blocked = env
        .wait_for(&c.id, "the exception", |c| exception_of(c).is_some())
        .await;
    let first = exception_of(&blocked).unwrap();
    let paused = env
        .wait_for(&c.id, "the pause on expiry", |c| {
            c.state == CampaignState::Paused
        })
        .await;
    assert_eq!(
        paused.waiting_for, None,
        "a paused campaign waits for no approval, least of all an expired one"
    );
    let on_resume = paused.on_resume.clone().unwrap_or_default();
    assert!(
        on_resume.contains(&format!(
            "requests the policy exception for pg-dev-01 again ({first} expired)"
        )),
        "{on_resume}"
    );

    resume(&env, &c.id).await;
    // The new exception expires as fast as the first: the campaign as each change left
    // it (in the event log) is read, not as it is by the time the test looks.
    let again = campaign_change(&env, &c.id, |c| {
        exception_of(c).is_some_and(|id| id != first) && c.waiting_for.is_some()
    })
    .await;
    let second = exception_of(&again).unwrap();
    let waits = again.waiting_for.unwrap();
    assert!(waits.contains(&second), "{waits}");
    assert!(!waits.contains(&first), "{waits}");
    assert_eq!(again.on_resume, None);
}

/// The first state of campaign `id` recorded in the event log that `pred` accepts,
/// waiting for it (20 s at most).
async fn campaign_change(env: &Env, id: &str, pred: impl Fn(&Campaign) -> bool) -> Campaign {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = env.events().await.into_iter().find_map(|e| match e.change {
            Some(Change::Campaign { campaign }) if campaign.id == id && pred(&campaign) => {
                Some(*campaign)
            }
            _ => None,
        });
        if let Some(c) = found {
            return c;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no such change of {id}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn what_resume_will_do_follows_an_approval_expiring_during_the_pause() {
    // Long enough to pause before it expires, however slow the machine.
    let env = blocked_env(Duration::from_secs(8)).await;
    let c = env.create(request(None, gate(2, 2))).await;
    let blocked = env
        .wait_for(&c.id, "the exception", |c| exception_of(c).is_some())
        .await;
    let apr = exception_of(&blocked).unwrap();
    let mut tx = env.store.begin().await.unwrap();
    let paused = workflow::pause(&mut tx, "olga", &c.id, None, "lunch", None)
        .await
        .unwrap();
    env.store.commit(tx).await.unwrap();
    assert_eq!(paused.waiting_for, None);
    let on_resume = paused.on_resume.unwrap();
    assert!(
        on_resume.contains(&format!(
            "waits again for policy exception {apr} for pg-dev-01 (pending)"
        )),
        "{on_resume}"
    );
    // The exception expires while the campaign is paused: nothing resumes it, and what
    // a resume will do is said again.
    let later = campaign_change(&env, &c.id, |c| {
        c.on_resume
            .as_deref()
            .is_some_and(|r| r.contains("again ("))
    })
    .await;
    assert_eq!(env.campaign(&c.id).await.on_resume, later.on_resume);
    assert_eq!(later.state, CampaignState::Paused);
    assert_eq!(later.waiting_for, None);
    let on_resume = later.on_resume.unwrap();
    assert_eq!(
        on_resume,
        format!("requests the policy exception for pg-dev-01 again ({apr} expired)")
    );
    assert!(later.paused_reason.unwrap().contains("paused by olga"));
}
