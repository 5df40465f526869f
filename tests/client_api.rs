//! The console's HTTP client against a real control plane: reads, actions with their
//! Idempotency-Key and If-Match, refusals carrying the server's problem details, and the
//! words a user gets when the server is unreachable, silent or not speaking the contract.

mod common;

use std::time::Duration;

use common::Fixture;
use fleetdeck_api::{CampaignState, kinds};
use fleetdeck_console::client::{Client, Timeouts};
use fleetdeck_console::message::{Action, ActionError, ActionRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn request(action: Action, if_match: Option<u64>) -> ActionRequest {
    ActionRequest {
        id: 1,
        action,
        idempotency_key: uuid::Uuid::new_v4(),
        if_match,
    }
}

fn refused(result: Result<(), ActionError>) -> fleetdeck_api::Problem {
    match result {
        Err(ActionError::Refused(p)) => p,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Sends `action` with the campaign's current version. The runner moves a running
/// campaign on (and its version with it) between our read and our write; a 412 then is
/// the server doing its job, and the answer is to look again, with a new request.
async fn send_at_current_version(
    fx: &Fixture,
    client: &Client,
    campaign_id: &str,
    action: Action,
) -> ActionRequest {
    for _ in 0..20 {
        let version = fx.campaign(campaign_id).await.version;
        let req = request(action.clone(), Some(version));
        match client.send(&req).await {
            Ok(()) => return req,
            Err(ActionError::Refused(p)) if p.status == 412 => continue,
            Err(e) => panic!("{} refused: {e}", action.verb()),
        }
    }
    panic!("{} never matched the campaign's version", action.verb());
}

#[tokio::test]
async fn reads_whoami_snapshot_and_one_database() {
    let fx = Fixture::start().await;
    let olga = fx.client("olga");
    let me = olga.whoami().await.unwrap();
    assert_eq!(me.user, "olga");
    assert!(me.can_operate() && !me.can_approve());

    let snap = olga.snapshot().await.unwrap();
    let mut ids: Vec<_> = snap.databases.iter().map(|d| d.id.as_str()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "pg-dev-01",
            "pg-dev-02",
            "pg-prod-01",
            "pg-prod-01-r1",
            "pg-stg-01"
        ]
    );
    assert!(snap.last_seq >= 1);

    let detail = olga.database("pg-prod-01-r1").await.unwrap();
    assert_eq!(detail.database.primary_id.as_deref(), Some("pg-prod-01"));
    assert_eq!(detail.evidence.database_id, "pg-prod-01-r1");

    let missing = olga.database("no-such-db").await.unwrap_err();
    assert!(
        matches!(&missing, ActionError::Refused(p) if p.status == 404),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_bad_token_is_refused_with_401() {
    let fx = Fixture::start().await;
    let stranger = Client::new(&fx.base, "not-a-known-token").unwrap();
    match stranger.whoami().await {
        Err(ActionError::Refused(p)) => assert_eq!(p.status, 401),
        other => panic!("expected 401, got {other:?}"),
    }
}

#[tokio::test]
async fn actions_carry_idempotency_key_and_if_match() {
    let fx = Fixture::start().await;
    let olga = fx.client("olga");
    let c = fx.create_campaign("olga").await;

    let pause_action = Action::Pause {
        campaign_id: c.id.clone(),
        reason: "replication lag on pg-stg-01".into(),
    };
    let pause = send_at_current_version(&fx, &olga, &c.id, pause_action).await;
    let paused = fx.campaign(&c.id).await;
    assert_eq!(paused.state, CampaignState::Paused);
    let reason = paused.paused_reason.clone().unwrap_or_default();
    assert!(reason.contains("replication lag on pg-stg-01"), "{reason}");

    // A retry of the same request (same key) has no second effect.
    olga.send(&pause).await.unwrap();
    let pauses = fx
        .events_after(0)
        .await
        .into_iter()
        .filter(|e| {
            e.kind == kinds::CAMPAIGN_PAUSED && e.subject.campaign_id.as_ref() == Some(&c.id)
        })
        .count();
    assert_eq!(pauses, 1, "the retried pause was applied twice");

    // A resume based on the version before the pause is refused and changes nothing.
    let stale = request(
        Action::Resume {
            campaign_id: c.id.clone(),
            reason: None,
        },
        Some(c.version),
    );
    let p = refused(olga.send(&stale).await);
    assert_eq!(p.status, 412, "{p}");
    assert_eq!(fx.campaign(&c.id).await.state, CampaignState::Paused);

    let resume = Action::Resume {
        campaign_id: c.id.clone(),
        reason: Some("lag recovered".into()),
    };
    send_at_current_version(&fx, &olga, &c.id, resume).await;
    assert_ne!(fx.campaign(&c.id).await.state, CampaignState::Paused);
}

#[tokio::test]
async fn refusals_carry_the_servers_reason() {
    let fx = Fixture::start().await;
    let mine = fx.raise_approval("ann", 1).await;
    let approve = request(
        Action::Approve {
            approval_id: mine.id.clone(),
            comment: None,
        },
        Some(mine.version),
    );
    let p = refused(fx.client("ann").send(&approve).await);
    assert_eq!(p.status, 403);
    assert!(!p.detail.is_empty(), "a refusal without a reason: {p:?}");

    let c = fx.create_campaign("olga").await;
    let viewer_pause = request(
        Action::Pause {
            campaign_id: c.id.clone(),
            reason: "looking".into(),
        },
        None,
    );
    let p = refused(fx.client("vic").send(&viewer_pause).await);
    assert_eq!(p.status, 403);
    assert_ne!(fx.campaign(&c.id).await.state, CampaignState::Paused);
}

#[tokio::test]
async fn an_unreachable_server_is_named() {
    // Bind then drop: a loopback port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::new(&format!("http://127.0.0.1:{port}"), "t").unwrap();
    match c.whoami().await {
        Err(ActionError::Transport(msg)) => {
            assert!(
                msg.contains("cannot reach") && msg.contains(&port.to_string()),
                "{msg}"
            )
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_server_times_out_and_says_so() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            held.push(sock); // accepted, never answered
        }
    });
    let c = Client::with_timeouts(
        &format!("http://{addr}"),
        "t",
        Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_millis(300),
        },
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = c
        .send(&request(
            Action::Drill {
                database_id: "pg-dev-01".into(),
            },
            None,
        ))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    match err {
        ActionError::Transport(msg) => assert!(msg.contains("timed out"), "{msg}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    hold.abort();
}

#[tokio::test]
async fn an_answer_outside_the_contract_is_a_transport_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).await;
        let body = "<html>bad gateway</html>";
        let answer = format!(
            "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(answer.as_bytes()).await.unwrap();
    });
    let c = Client::new(&format!("http://{addr}"), "t").unwrap();
    match c.snapshot().await {
        Err(ActionError::Transport(msg)) => {
            assert!(
                msg.contains("502 Bad Gateway") && msg.contains("bad gateway"),
                "{msg}"
            )
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    server.await.unwrap();
}
