//! Action flows through the real `App`, key by key: what is sent, exactly once, and
//! what is refused and why.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::{Problem, Role, WhoAmI};
use fleetdeck_console::message::ActionError;
use fleetdeck_console::{Action, ActionRequest, App, ConnState, Effect, Msg};
use serde_json::json;
use ui_support::*;

/// Exactly one request was sent; returns it.
fn one_send(effects: Vec<Effect>) -> ActionRequest {
    match effects.as_slice() {
        [Effect::Send(r)] => r.clone(),
        other => panic!("expected exactly one Send, got {other:?}"),
    }
}

fn tab(app: &mut App, n: usize) {
    for _ in 0..n {
        key(app, KeyCode::Tab);
    }
}

fn enter(app: &mut App) -> Vec<Effect> {
    key(app, KeyCode::Enter)
}

fn shows(app: &App, text: &str) -> bool {
    screen(app, 80, 24).contains(text)
}

#[test]
fn approve_sends_one_request_with_if_match_and_a_fresh_key() {
    let mut app = app(80, 24);
    typed(&mut app, "4a");
    assert!(shows(&app, "Approve apr-2"), "{}", screen(&app, 80, 24));
    // Focus starts on Cancel: Enter there sends nothing and closes.
    assert!(enter(&mut app).is_empty());
    assert!(!shows(&app, "Approve apr-2"));

    typed(&mut app, "a");
    tab(&mut app, 1);
    let req = one_send(enter(&mut app));
    assert_eq!(req.action.path(), "/v1/approvals/apr-2/approve");
    assert_eq!(req.action.body(), json!({}));
    assert_eq!(req.if_match, Some(4));
    assert_eq!(req.idempotency_key.get_version_num(), 4);
    assert_eq!(app.requests_in_flight(), 1);

    // A second Enter while in flight sends nothing; the dialog says it is waiting.
    assert!(enter(&mut app).is_empty());
    assert!(shows(&app, "Sending"), "{}", screen(&app, 80, 24));
    assert_eq!(app.requests_in_flight(), 1);

    app.update(Msg::ActionDone {
        request_id: req.id,
        result: Ok(()),
    });
    assert_eq!(app.requests_in_flight(), 0);
    assert!(!shows(&app, "Approve apr-2"));
    assert!(shows(&app, "✓ approved apr-2"));
}

#[test]
fn approve_with_a_comment_sends_it() {
    let mut app = app(80, 24);
    typed(&mut app, "4a");
    key(&mut app, KeyCode::BackTab); // Cancel → comment field
    typed(&mut app, "lgtm, ring 0 clean");
    tab(&mut app, 2); // → Cancel → Approve
    let req = one_send(enter(&mut app));
    assert_eq!(
        req.action,
        Action::Approve {
            approval_id: "apr-2".into(),
            comment: Some("lgtm, ring 0 clean".into()),
        }
    );
    assert_eq!(req.action.body(), json!({"comment": "lgtm, ring 0 clean"}));
}

#[test]
fn every_request_gets_its_own_idempotency_key() {
    let mut app = app(80, 24);
    typed(&mut app, "4a");
    tab(&mut app, 1);
    let first = one_send(enter(&mut app));
    app.update(Msg::ActionDone {
        request_id: first.id,
        result: Ok(()),
    });
    typed(&mut app, "ja");
    tab(&mut app, 1);
    let second = one_send(enter(&mut app));
    assert_ne!(first.idempotency_key, second.idempotency_key);
    assert_ne!(first.id, second.id);
}

#[test]
fn reject_cannot_be_confirmed_without_a_comment() {
    let mut app = app(80, 24);
    typed(&mut app, "4x");
    tab(&mut app, 1); // Cancel → the comment it still needs (the locked button is skipped)
    assert!(enter(&mut app).is_empty(), "no comment: nothing is sent");
    assert!(
        shows(&app, "Reject needs a comment"),
        "{}",
        screen(&app, 80, 24)
    );
    assert!(shows(&app, "Reject · locked"));

    // Blank space is not a comment either: Tab never stops on the locked button.
    typed(&mut app, "   ");
    tab(&mut app, 1); // → Cancel
    assert!(enter(&mut app).is_empty() && !shows(&app, "Reject apr-2"));
    typed(&mut app, "x");
    tab(&mut app, 1); // Cancel → comment
    typed(&mut app, "replica lag too high");
    tab(&mut app, 2); // → Cancel → Reject
    let req = one_send(enter(&mut app));
    assert_eq!(req.action.path(), "/v1/approvals/apr-2/reject");
    assert_eq!(
        req.action.body(),
        json!({"comment": "replica lag too high"})
    );
    assert_eq!(req.if_match, Some(4));
}

#[test]
fn enter_in_a_text_field_moves_on_to_the_button_not_to_cancel() {
    let mut app = app(80, 24);
    typed(&mut app, "4x");
    key(&mut app, KeyCode::BackTab); // Cancel → comment
    typed(&mut app, "not during the freeze");
    assert!(
        enter(&mut app).is_empty(),
        "the first Enter only leaves the field"
    );
    let req = one_send(enter(&mut app));
    assert_eq!(
        req.action.body(),
        json!({"comment": "not during the freeze"})
    );

    // With a typed confirmation: reason, Enter, id, Enter, Enter.
    let mut app = ui_support::app(80, 24);
    typed(&mut app, "2R");
    tab(&mut app, 1);
    typed(&mut app, "bad build");
    enter(&mut app);
    typed(&mut app, "cmp-2");
    enter(&mut app);
    let req = one_send(enter(&mut app));
    assert_eq!(req.action.path(), "/v1/campaigns/cmp-2/rollback");
}

#[test]
fn pause_needs_a_reason_and_sends_the_campaign_version() {
    let mut app = app(80, 24);
    typed(&mut app, "2jjp"); // cmp-1, the running campaign
    assert!(shows(&app, "Pause cmp-1"), "{}", screen(&app, 80, 24));
    tab(&mut app, 1);
    assert!(enter(&mut app).is_empty());
    assert!(shows(&app, "Pause needs a reason"));
    key(&mut app, KeyCode::BackTab); // Confirm → Cancel
    key(&mut app, KeyCode::BackTab); // → reason
    typed(&mut app, "db team asked to hold");
    tab(&mut app, 2);
    let req = one_send(enter(&mut app));
    assert_eq!(req.action.path(), "/v1/campaigns/cmp-1/pause");
    assert_eq!(
        req.action.body(),
        json!({"reason": "db team asked to hold"})
    );
    assert_eq!(req.if_match, Some(7));
}

#[test]
fn resume_sends_without_a_reason() {
    let mut app = app(80, 24);
    typed(&mut app, "2r"); // cmp-2 is paused and first
    tab(&mut app, 1);
    let req = one_send(enter(&mut app));
    assert_eq!(
        req.action,
        Action::Resume {
            campaign_id: "cmp-2".into(),
            reason: None
        }
    );
    assert_eq!(req.action.body(), json!({}));
}

#[test]
fn production_rollback_is_locked_until_the_campaign_id_is_typed() {
    let mut app = app(80, 24);
    typed(&mut app, "2R");
    assert!(shows(&app, "Roll back cmp-2"));
    tab(&mut app, 1); // Cancel → reason
    typed(&mut app, "gate failed on prod");
    tab(&mut app, 1); // → id
    typed(&mut app, "cmp-3");
    assert!(enter(&mut app).is_empty(), "wrong id: nothing is sent");
    assert!(
        shows(&app, "type cmp-2 to enable Roll back"),
        "{}",
        screen(&app, 80, 24)
    );
    assert!(shows(&app, "Roll back · locked"));

    tab(&mut app, 1); // → Cancel: the locked button is no stop
    tab(&mut app, 1); // → back to the id, which still needs input
    ctrl(&mut app, 'u');
    typed(&mut app, "cmp-2");
    tab(&mut app, 2);
    let req = one_send(enter(&mut app));
    assert_eq!(req.action.path(), "/v1/campaigns/cmp-2/rollback");
    assert_eq!(req.action.body(), json!({"reason": "gate failed on prod"}));
    assert_eq!(req.if_match, Some(7));
}

#[test]
fn drill_now_on_the_selected_database() {
    let mut app = app(80, 24);
    typed(&mut app, "jd"); // Fleet: my-prod-p1, then pg-dev-01
    assert!(
        shows(&app, "Drill now pg-dev-01"),
        "{}",
        screen(&app, 80, 24)
    );
    tab(&mut app, 1);
    let req = one_send(enter(&mut app));
    assert_eq!(req.action.path(), "/v1/databases/pg-dev-01/drills");
    assert_eq!(req.action.body(), json!({}));
    assert_eq!(req.if_match, Some(3));
}

#[test]
fn a_drill_already_running_is_refused_with_the_reason() {
    let mut app = app(80, 24);
    typed(&mut app, "jjjjjd"); // pg-prod-r1 has a running drill
    assert!(
        shows(&app, "a drill of pg-prod-r1 is already running"),
        "{}",
        screen(&app, 80, 24)
    );
}

#[test]
fn server_refusal_shows_its_problem_detail() {
    let mut app = app(80, 24);
    typed(&mut app, "4a");
    tab(&mut app, 1);
    let req = one_send(enter(&mut app));
    app.update(Msg::ActionDone {
        request_id: req.id,
        result: Err(ActionError::Refused(Problem::new(
            403,
            "Forbidden",
            "nobody decides their own request (four eyes)",
        ))),
    });
    let s = screen(&app, 80, 24);
    assert!(s.contains("Forbidden (403)"), "{s}");
    assert!(s.contains("four eyes"), "{s}");
    assert_eq!(app.requests_in_flight(), 0);
}

#[test]
fn own_request_is_refused_locally_four_eyes() {
    let mut app = app(80, 24);
    typed(&mut app, "4jja"); // apr-3 was requested by alice herself
    let s = screen(&app, 80, 24);
    assert!(s.contains("nobody decides their own request"), "{s}");
    assert!(!s.contains("Approve apr-3"));
}

#[test]
fn a_lost_answer_is_retried_with_the_same_key() {
    let mut app = app(80, 24);
    typed(&mut app, "4a");
    tab(&mut app, 1);
    let first = one_send(enter(&mut app));
    app.update(Msg::ActionDone {
        request_id: first.id,
        result: Err(ActionError::Transport("timed out after 10s".into())),
    });
    assert!(shows(&app, "no answer"), "{}", screen(&app, 80, 24));
    let retry = one_send(enter(&mut app));
    assert_eq!(retry.idempotency_key, first.idempotency_key);
    assert_eq!(retry.action, first.action);
    app.update(Msg::ActionDone {
        request_id: retry.id,
        result: Err(ActionError::Transport("timed out after 10s".into())),
    });
    // A different request (a comment added) is a new request: a new key.
    key(&mut app, KeyCode::BackTab);
    key(&mut app, KeyCode::BackTab);
    typed(&mut app, "ok");
    tab(&mut app, 2);
    let changed = one_send(enter(&mut app));
    assert_ne!(changed.idempotency_key, first.idempotency_key);
}

#[test]
fn actions_are_refused_while_disconnected() {
    let mut app = app(80, 24);
    app.update(Msg::Connection(ConnState::Disconnected {
        since: t0(),
        reason: "connection refused".into(),
        attempt: 2,
        retry_in: std::time::Duration::from_secs(2),
    }));
    typed(&mut app, "4a");
    let s = screen(&app, 80, 24);
    assert!(s.contains("disconnected from the server"), "{s}");
    assert!(!s.contains("Approve apr-2"), "no dialog opens");
    assert!(s.contains("DISCONNECTED"), "the header says so in words");
}

#[test]
fn confirm_is_refused_when_the_connection_drops_while_the_dialog_is_open() {
    let mut app = app(80, 24);
    typed(&mut app, "4a");
    tab(&mut app, 1);
    app.update(Msg::Connection(ConnState::Disconnected {
        since: t0(),
        reason: "stream closed".into(),
        attempt: 1,
        retry_in: std::time::Duration::from_secs(1),
    }));
    assert!(enter(&mut app).is_empty());
    assert!(shows(&app, "disconnected from the server"));
    assert_eq!(app.requests_in_flight(), 0);
}

#[test]
fn actions_are_refused_on_stale_data() {
    let mut app = app(80, 24);
    app.update(Msg::Tick(t0() + chrono::Duration::seconds(45)));
    typed(&mut app, "4a");
    let s = screen(&app, 80, 24);
    assert!(s.contains("data is 45s old (limit 30s)"), "{s}");
    // Fresh proof of life lifts the refusal.
    app.update(Msg::Alive(t0() + chrono::Duration::seconds(46)));
    typed(&mut app, "a");
    assert!(shows(&app, "Approve apr-2"));
}

#[test]
fn a_viewer_is_offered_no_actions_and_told_why() {
    let viewer = WhoAmI {
        user: "victor".into(),
        roles: vec![Role::Viewer],
    };
    let mut app = app_as(viewer, 80, 24);
    typed(&mut app, "4");
    let s = screen(&app, 80, 24);
    assert!(
        !s.contains("a approve"),
        "no approve hint for a viewer: {s}"
    );
    typed(&mut app, "a");
    assert!(
        shows(&app, "can't decide approvals"),
        "{}",
        screen(&app, 80, 24)
    );
    typed(&mut app, "x");
    assert!(shows(&app, "can't decide approvals"));
    typed(&mut app, "2p");
    assert!(shows(&app, "can't operate campaigns"));
    typed(&mut app, "1d");
    assert!(shows(&app, "can't start drills"));
    assert!(!screen(&app, 80, 24).contains("d drill now"));
}

#[test]
fn state_decides_which_campaign_actions_are_offered() {
    let mut app = app(80, 24);
    typed(&mut app, "2jj"); // cmp-1 is running
    let s = screen(&app, 80, 24);
    assert!(s.contains("p pause") && !s.contains("r resume"), "{s}");
    typed(&mut app, "r");
    assert!(shows(&app, "cmp-1 is running: resume needs it paused"));
    typed(&mut app, "jR"); // cmp-0 is completed
    assert!(
        shows(
            &app,
            "cmp-0 is completed: roll back needs it running, paused"
        ),
        "{}",
        screen(&app, 80, 24)
    );
}

#[test]
fn quit_asks_only_while_a_request_is_in_flight() {
    let mut app = app(80, 24);
    assert_eq!(typed(&mut app, "q"), vec![Effect::Quit]);

    let mut app = ui_support::app(80, 24);
    typed(&mut app, "4a");
    tab(&mut app, 1);
    one_send(enter(&mut app));
    key(&mut app, KeyCode::Esc); // hide the dialog; the request is still in flight
    assert!(shows(&app, "still waiting for the server"));
    assert!(typed(&mut app, "q").is_empty());
    assert!(shows(&app, "Quit?"));
    assert!(enter(&mut app).is_empty(), "focus starts on Cancel");
    assert!(!shows(&app, "Quit?"));
    typed(&mut app, "q");
    tab(&mut app, 1);
    assert_eq!(enter(&mut app), vec![Effect::Quit]);
}

#[test]
fn no_second_request_for_an_item_while_one_is_in_flight() {
    let mut app = app(80, 24);
    typed(&mut app, "4a");
    tab(&mut app, 1);
    let req = one_send(enter(&mut app));
    key(&mut app, KeyCode::Esc);
    typed(&mut app, "x");
    assert!(
        shows(&app, "the approve request for apr-2 is still waiting"),
        "{}",
        screen(&app, 80, 24)
    );
    app.update(Msg::ActionDone {
        request_id: req.id,
        result: Ok(()),
    });
    assert_eq!(app.requests_in_flight(), 0);
}

#[test]
fn a_result_after_the_dialog_was_closed_still_becomes_a_notice() {
    let mut app = app(80, 24);
    typed(&mut app, "4a");
    tab(&mut app, 1);
    let req = one_send(enter(&mut app));
    key(&mut app, KeyCode::Esc);
    app.update(Msg::ActionDone {
        request_id: req.id,
        result: Ok(()),
    });
    assert!(shows(&app, "✓ approved apr-2"));
}

#[test]
fn acting_on_an_empty_pane_says_so() {
    let mut app = app(80, 24);
    for (seq, a) in approvals().into_iter().enumerate() {
        let mut a = a;
        a.state = fleetdeck_api::ApprovalState::Expired;
        app.update(Msg::Server(Box::new(event(
            6 + seq as u64,
            fleetdeck_api::Level::Info,
            "approval.expired",
            "expired",
            Some(fleetdeck_api::Change::Approval {
                approval: Box::new(a),
            }),
        ))));
    }
    typed(&mut app, "4a");
    assert!(
        shows(&app, "the Approvals pane is empty: nothing to approve yet"),
        "{}",
        screen(&app, 80, 24)
    );
}
