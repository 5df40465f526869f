//! Action dialogs through the real `App`: they follow their subject live and send what
//! they show; after a 412 they show the subject as it is and never send the refused
//! version again; Tab visits the fields that still need input and never a locked
//! button, and a keystroke lands only in the field drawn with focus.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::{Campaign, CampaignState, Change, Level, Problem};
use fleetdeck_console::message::ActionError;
use fleetdeck_console::{Action, ActionRequest, App, Effect, Msg};
use serde_json::json;
use ui_support::*;

const W: u16 = 100;
const H: u16 = 40;

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
    screen(app, W, H).contains(text)
}

/// The running campaign cmp-1 as the server now has it.
fn cmp1(version: u64, state: CampaignState) -> Campaign {
    let mut c = campaigns().remove(0);
    c.version = version;
    c.state = state;
    if state.is_finished() {
        c.current_ring = None;
    }
    c
}

fn campaign_event(app: &mut App, seq: u64, c: Campaign) {
    app.update(Msg::Server(Box::new(event(
        seq,
        Level::Info,
        "campaign.state",
        "moved",
        Some(Change::Campaign {
            campaign: Box::new(c),
        }),
    ))));
}

fn refused_412(app: &mut App, req: &ActionRequest, current: Option<u64>) {
    let mut p = Problem::new(
        412,
        "Precondition failed",
        "campaign cmp-1 has changed since you saw it",
    );
    p.current_version = current;
    app.update(Msg::ActionDone {
        request_id: req.id,
        result: Err(ActionError::Refused(p)),
    });
}

/// Opens the pause dialog on cmp-1 (version 7) and types a reason.
fn pause_dialog() -> App {
    let mut app = app(W, H);
    typed(&mut app, "2jjp");
    assert!(shows(&app, "Pause cmp-1"), "{}", screen(&app, W, H));
    tab(&mut app, 1); // Cancel → the reason it needs
    typed(&mut app, "hold for the dba");
    app
}

#[test]
fn an_open_dialog_follows_its_subject_and_sends_the_version_it_shows() {
    let mut app = pause_dialog();
    assert!(shows(&app, "If-Match \"7\""), "{}", screen(&app, W, H));
    campaign_event(&mut app, 6, cmp1(8, CampaignState::AwaitingApproval));
    let s = screen(&app, W, H);
    assert!(s.contains("Pause cmp-1"), "the subject stays: {s}");
    assert!(s.contains("awaiting approval at ring 1"), "live state: {s}");
    assert!(s.contains("If-Match \"8\""), "{s}");
    assert!(s.contains("version 7 → 8 since this opened"), "{s}");
    tab(&mut app, 2); // → Cancel → Pause
    let req = one_send(enter(&mut app));
    assert_eq!(
        req.if_match,
        Some(8),
        "what the dialog shows is what is sent"
    );
    assert_eq!(req.action.body(), json!({"reason": "hold for the dba"}));
}

#[test]
fn after_a_412_confirm_waits_for_the_servers_version_and_never_resends_the_refused_one() {
    let mut app = pause_dialog();
    tab(&mut app, 2);
    let first = one_send(enter(&mut app));
    assert_eq!(first.if_match, Some(7));
    refused_412(&mut app, &first, Some(10));
    assert!(
        shows(&app, "the server refused version 7 and has 10"),
        "{}",
        screen(&app, W, H)
    );
    for _ in 0..3 {
        assert!(
            enter(&mut app).is_empty(),
            "the refused version went out again"
        );
    }
    campaign_event(&mut app, 6, cmp1(9, CampaignState::Running));
    assert!(enter(&mut app).is_empty(), "9 is still older than 10");
    assert!(shows(&app, "Pause · locked"), "{}", screen(&app, W, H));
    campaign_event(&mut app, 7, cmp1(10, CampaignState::Running));
    assert!(
        shows(&app, "this now shows version 10 as it is"),
        "{}",
        screen(&app, W, H)
    );
    // Focus stayed on the button: the same Enter now sends the version shown.
    let second = one_send(enter(&mut app));
    assert_eq!(second.if_match, Some(10));
    assert_eq!(second.action.body(), json!({"reason": "hold for the dba"}));
    assert_ne!(second.idempotency_key, first.idempotency_key);
}

#[test]
fn after_a_412_the_dialog_shows_a_campaign_that_completed_and_sends_nothing() {
    let mut app = pause_dialog();
    tab(&mut app, 2);
    let first = one_send(enter(&mut app));
    // The campaign finished while the request was out; the server says so.
    campaign_event(&mut app, 6, cmp1(9, CampaignState::Completed));
    refused_412(&mut app, &first, Some(9));
    let s = screen(&app, W, H);
    assert!(
        s.contains("State         completed"),
        "refreshed for real: {s}"
    );
    assert!(
        s.contains("now: cmp-1 is completed: pause needs it running or"),
        "{s}"
    );
    assert!(s.contains("Pause · locked"), "{s}");
    for _ in 0..3 {
        assert!(
            enter(&mut app).is_empty(),
            "a completed campaign is not paused"
        );
    }
    // The same holds when the completion arrives while the dialog is open.
    let mut app = pause_dialog();
    campaign_event(&mut app, 6, cmp1(9, CampaignState::Completed));
    assert!(
        shows(&app, "State         completed"),
        "{}",
        screen(&app, W, H)
    );
    assert!(shows(&app, "Pause · locked"), "{}", screen(&app, W, H));
    // Enter in the reason field would go on to the button; it is locked, so it stays.
    assert!(enter(&mut app).is_empty());
    assert!(shows(&app, "▸ Reason (required)"), "{}", screen(&app, W, H));
}

#[test]
fn a_rollback_dialog_updates_its_blast_radius_while_open() {
    let mut app = app(W, H);
    typed(&mut app, "2jjR");
    assert!(shows(&app, "Roll back cmp-1"), "{}", screen(&app, W, H));
    assert!(
        shows(&app, "reverts 4 patched targets"),
        "{}",
        screen(&app, W, H)
    );
    let mut moved = cmp1(8, CampaignState::Running);
    moved.rings[2].targets[0].state = fleetdeck_api::TargetState::Patching;
    campaign_event(&mut app, 6, moved);
    assert!(
        shows(&app, "reverts 5 patched targets"),
        "{}",
        screen(&app, W, H)
    );
    tab(&mut app, 1);
    typed(&mut app, "error rate up");
    tab(&mut app, 1);
    typed(&mut app, "cmp-1");
    tab(&mut app, 2);
    let req = one_send(enter(&mut app));
    assert_eq!(req.if_match, Some(8));
    assert_eq!(req.action.path(), "/v1/campaigns/cmp-1/rollback");
}

#[test]
fn tab_visits_fields_that_need_input_first_and_skips_a_locked_button() {
    // Pause: Cancel → Reason (not the locked Pause button).
    let mut app = app(W, H);
    typed(&mut app, "2jjp");
    assert!(shows(&app, "» Cancel «"));
    tab(&mut app, 1);
    assert!(shows(&app, "▸ Reason (required)"), "{}", screen(&app, W, H));
    typed(&mut app, "x");
    tab(&mut app, 1);
    assert!(shows(&app, "» Cancel «"), "a filled field: on to Cancel");
    tab(&mut app, 1);
    assert!(
        shows(&app, "» Pause «"),
        "unlocked now: the button is a stop"
    );

    // A production rollback: reason, then the id, then Cancel; never the locked
    // button while either still needs input, and Shift-Tab skips it too.
    let mut app = ui_support::app(W, H);
    typed(&mut app, "2R");
    tab(&mut app, 1);
    assert!(shows(&app, "▸ Reason (required)"), "{}", screen(&app, W, H));
    typed(&mut app, "gate failed");
    tab(&mut app, 1);
    assert!(
        shows(&app, "▸ Type the campaign id"),
        "{}",
        screen(&app, W, H)
    );
    tab(&mut app, 1);
    assert!(shows(&app, "» Cancel «"), "{}", screen(&app, W, H));
    key(&mut app, KeyCode::BackTab);
    assert!(
        shows(&app, "▸ Type the campaign id"),
        "{}",
        screen(&app, W, H)
    );
    key(&mut app, KeyCode::BackTab);
    key(&mut app, KeyCode::BackTab);
    assert!(
        shows(&app, "» Cancel «"),
        "Shift-Tab from the reason wraps past the locked button to Cancel: {}",
        screen(&app, W, H)
    );
    for _ in 0..8 {
        tab(&mut app, 1);
        assert!(
            !shows(&app, "» Roll back · locked «"),
            "{}",
            screen(&app, W, H)
        );
    }
}

#[test]
fn typing_lands_only_in_the_field_drawn_with_focus() {
    let mut app = app(W, H);
    typed(&mut app, "2R");
    // Focus on Cancel: letters go nowhere, and the dialog says where they would.
    typed(&mut app, "oops");
    let s = screen(&app, W, H);
    assert!(!s.contains("oops"), "{s}");
    assert!(s.contains("nothing typed: focus is on a button"), "{s}");
    tab(&mut app, 1);
    typed(&mut app, "bad build");
    tab(&mut app, 1);
    typed(&mut app, "cmp-2");
    let s = screen(&app, W, H);
    let reason = s
        .lines()
        .position(|l| l.contains("Reason (required)"))
        .unwrap();
    let id = s
        .lines()
        .position(|l| l.contains("Type the campaign id"))
        .unwrap();
    let line = |n: usize| s.lines().nth(n).unwrap_or_default().to_string();
    assert!(line(reason + 2).contains("bad build"), "{s}");
    assert!(line(id + 2).contains("cmp-2"), "{s}");
    assert!(!line(reason + 2).contains("cmp-2"), "{s}");
    tab(&mut app, 2);
    let req = one_send(enter(&mut app));
    assert_eq!(
        req.action,
        Action::Rollback {
            campaign_id: "cmp-2".into(),
            reason: "bad build".into()
        }
    );
}

#[test]
fn in_a_short_terminal_the_focused_field_is_the_one_drawn() {
    let (w, h) = (80, 12);
    let mut app = app(w, h);
    typed(&mut app, "2R");
    tab(&mut app, 1);
    typed(&mut app, "bad build");
    tab(&mut app, 1);
    typed(&mut app, "cmp-2");
    let s = screen(&app, w, h);
    assert!(s.contains("▸ Type the campaign id"), "{s}");
    assert!(
        s.contains("│cmp-2"),
        "what is typed shows where it goes: {s}"
    );
    key(&mut app, KeyCode::BackTab);
    let s = screen(&app, w, h);
    assert!(s.contains("▸ Reason (required)"), "{s}");
    assert!(s.contains("│bad build"), "{s}");
    typed(&mut app, "!");
    assert!(
        screen(&app, w, h).contains("│bad build!"),
        "{}",
        screen(&app, w, h)
    );
}
