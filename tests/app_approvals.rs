//! Approvals through the real App against a real control plane: approve and reject go
//! through their dialogs and land on the server; four eyes is explained before anything
//! is sent; a refusal shows the server's own reason; a second Enter sends nothing; a
//! disconnected console refuses to act.

mod app_harness;
mod common;

use chrono::Utc;
use common::Fixture;
use crossterm::event::KeyCode;
use fleetdeck_api::{ApprovalState, Verdict};
use fleetdeck_console::message::{Action, ActionError, ActionRequest, ConnState};
use std::time::Duration;

use app_harness::Harness;

/// Focus the Approvals pane and open `key`'s dialog on the selected approval.
fn open(h: &mut Harness, key: char) {
    h.key(KeyCode::Char('4'));
    h.key(KeyCode::Char(key));
}

#[tokio::test]
async fn approve_through_the_dialog() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("olga", 1).await;
    let mut h = Harness::new(fx.client("abe")).await;

    open(&mut h, 'a');
    assert!(
        h.text().contains(&format!("Approve {}", a.id)),
        "{}",
        h.screen(160, 48)
    );
    // Focus starts on Cancel: Enter now would cancel, so move to Approve first.
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 1);
    let req = &h.sent[0];
    assert_eq!(req.if_match, Some(a.version));
    assert!(
        matches!(&req.action, Action::Approve { approval_id, comment: None } if *approval_id == a.id)
    );
    h.run_effects().await;
    assert_eq!(h.app.requests_in_flight(), 0);

    let after = fx.approval(&a.id).await;
    assert_eq!(after.state, ApprovalState::Approved);
    assert_eq!(after.decisions.len(), 1);
    assert_eq!(after.decisions[0].approver, "abe");
    assert!(
        h.text().contains(&format!("approved {}", a.id)),
        "{}",
        h.screen(160, 48)
    );
}

#[tokio::test]
async fn reject_needs_a_comment_and_sends_it() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("olga", 1).await;
    let mut h = Harness::new(fx.client("abe")).await;

    open(&mut h, 'x');
    // Tab goes to the comment it needs, not to the locked Reject button; Enter there
    // sends nothing without a comment.
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 0, "a reject without a comment was sent");

    // Type the comment where focus is, then on to the Reject button.
    h.type_text("evidence is 40 days old; drill first");
    h.tab();
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 1, "{}", h.screen(160, 48));
    h.run_effects().await;

    let after = fx.approval(&a.id).await;
    assert_eq!(after.state, ApprovalState::Rejected);
    let d = &after.decisions[0];
    assert_eq!((d.approver.as_str(), d.verdict), ("abe", Verdict::Reject));
    assert_eq!(
        d.comment.as_deref(),
        Some("evidence is 40 days old; drill first")
    );
}

#[tokio::test]
async fn nobody_approves_their_own_request() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("ann", 1).await;
    let mut h = Harness::new(fx.client("ann")).await;

    open(&mut h, 'a');
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 0, "a self-approval was sent");
    let text = h.text();
    assert!(
        text.contains("four eyes"),
        "no reason shown:\n{}",
        h.screen(160, 48)
    );
    assert_eq!(fx.approval(&a.id).await.state, ApprovalState::Pending);
}

#[tokio::test]
async fn a_refusal_shows_the_servers_reason() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("olga", 1).await;
    let mut h = Harness::new(fx.client("abe")).await;

    // Another approver decides first; this console has not heard yet, so its request
    // carries the version it saw and the server refuses it, saying why.
    let other = ActionRequest {
        id: 99,
        action: Action::Approve {
            approval_id: a.id.clone(),
            comment: Some("looked at it".into()),
        },
        idempotency_key: uuid::Uuid::new_v4(),
        if_match: None,
    };
    fx.client("ann").send(&other).await.unwrap();

    open(&mut h, 'a');
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 1);
    h.run_effects().await;
    let refusal = match h.answers.as_slice() {
        [Err(ActionError::Refused(p))] => p.clone(),
        other => panic!("expected one refusal, got {other:?}"),
    };
    assert_eq!(refusal.status, 412, "{refusal}");
    let text = h.text();
    // The detail may be long; its first words are enough to know it is the server's.
    let head: String = refusal
        .detail
        .split_whitespace()
        .take(4)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!head.is_empty());
    assert!(
        text.contains(&head),
        "the server's reason ({}) is not on screen:\n{}",
        refusal.detail,
        h.screen(160, 48)
    );
    let after = fx.approval(&a.id).await;
    assert_eq!(after.decisions.len(), 1, "abe's decision must not count");
}

#[tokio::test]
async fn a_second_enter_sends_nothing() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("olga", 1).await;
    let mut h = Harness::new(fx.client("abe")).await;

    open(&mut h, 'a');
    h.tab();
    h.enter();
    h.enter();
    h.enter();
    assert_eq!(h.sends(), 1, "one confirmation, {} requests", h.sends());
    assert_eq!(h.app.requests_in_flight(), 1);
    h.run_effects().await;
    assert_eq!(h.app.requests_in_flight(), 0);
    let after = fx.approval(&a.id).await;
    assert_eq!(after.decisions.len(), 1);
    assert_eq!(after.state, ApprovalState::Approved);
}

#[tokio::test]
async fn a_disconnected_console_refuses_to_act() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("olga", 1).await;
    let mut h = Harness::new(fx.client("abe")).await;

    h.connection(ConnState::Disconnected {
        since: Utc::now(),
        reason: "event stream: the server closed the connection".into(),
        attempt: 1,
        retry_in: Duration::from_millis(400),
    });
    open(&mut h, 'a');
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 0, "an action was sent while disconnected");
    let text = h.text();
    assert!(text.contains("disconnected"), "{}", h.screen(160, 48));
    assert_eq!(fx.approval(&a.id).await.state, ApprovalState::Pending);

    // Back: the same keys now act.
    h.connection(ConnState::Connected { since: Utc::now() });
    h.sync().await;
    h.key(KeyCode::Esc);
    open(&mut h, 'a');
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 1);
    h.run_effects().await;
    assert_eq!(fx.approval(&a.id).await.state, ApprovalState::Approved);
}

#[tokio::test]
async fn a_server_that_never_answers_fails_the_action_with_a_timeout() {
    let fx = Fixture::start().await;
    let a = fx.raise_approval("olga", 1).await;
    let mut h = Harness::new(fx.client("abe")).await;

    // From here on the console talks to a server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    h.client = fleetdeck_console::client::Client::with_timeouts(
        &format!("http://{addr}"),
        &common::token("abe"),
        fleetdeck_console::client::Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_millis(300),
        },
    )
    .unwrap();

    open(&mut h, 'a');
    h.tab();
    h.enter();
    assert_eq!(h.sends(), 1);
    assert_eq!(
        h.app.requests_in_flight(),
        1,
        "the request shows as in flight"
    );
    h.run_effects().await;
    match h.answers.as_slice() {
        [Err(ActionError::Transport(msg))] => assert!(msg.contains("timed out"), "{msg}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(h.app.requests_in_flight(), 0);
    assert!(h.text().contains("timed out"), "{}", h.screen(160, 48));
    assert_eq!(fx.approval(&a.id).await.state, ApprovalState::Pending);
    hold.abort();
}
