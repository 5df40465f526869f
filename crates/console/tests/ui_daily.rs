//! Daily use: read-only sessions refusing every action, marks and bulk approval,
//! the mouse, the time zone toggle, and notifications for the terminal host.

mod ui_support;

use crossterm::event::{KeyCode, MouseButton, MouseEventKind};
use fleetdeck_api::*;
use fleetdeck_console::{App, Effect, HostRequest, Msg, Session};
use ui_support::*;

fn sends(effects: &[Effect]) -> Vec<fleetdeck_console::ActionRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn read_only_app(forced: bool) -> App {
    let session = Session {
        read_only: true,
        read_only_forced: forced,
        ..Session::default()
    };
    app_with(alice(), config(), session, 160, 48)
}

#[test]
fn read_only_refuses_every_action_and_says_why() {
    let mut app = read_only_app(true);
    assert!(screen(&app, 160, 48).contains("READ-ONLY"));
    let mut effects = Vec::new();
    // Every row of every table pane, every action key, in the pane and in the detail
    // view, then whatever a dialog would need to confirm; and each action as a command.
    for pane in ['1', '2', '3', '4'] {
        typed(&mut app, &pane.to_string());
        for _row in 0..8 {
            for k in ["a", "x", "p", "r", "R", "d"] {
                effects.extend(typed(&mut app, k));
                effects.extend(key(&mut app, KeyCode::Tab));
                effects.extend(key(&mut app, KeyCode::Enter));
                effects.extend(key(&mut app, KeyCode::Esc));
            }
            effects.extend(key(&mut app, KeyCode::Enter));
            for k in ["a", "x", "p", "r", "R", "d"] {
                effects.extend(typed(&mut app, k));
                effects.extend(key(&mut app, KeyCode::Tab));
                effects.extend(key(&mut app, KeyCode::Enter));
            }
            effects.extend(key(&mut app, KeyCode::Esc));
            for c in ["approve", "reject", "pause", "resume", "rollback", "drill"] {
                effects.extend(command(&mut app, c));
                effects.extend(key(&mut app, KeyCode::Tab));
                effects.extend(key(&mut app, KeyCode::Enter));
            }
            typed(&mut app, " j");
        }
    }
    // Bulk: marks exist, yet nothing is sent.
    typed(&mut app, "4");
    effects.extend(typed(&mut app, "a"));
    assert!(sends(&effects).is_empty(), "sent {:?}", sends(&effects));
    assert_eq!(app.requests_in_flight(), 0);
    typed(&mut app, "4a");
    let s = screen(&app, 160, 48);
    assert!(
        s.contains("READ-ONLY: this context is read-only, so approve is never sent"),
        "{s}"
    );
    // The footer offers no action keys.
    assert!(!s.contains("a approve"), "{s}");
    // A forced read-only session stays read-only.
    command(&mut app, "readonly");
    assert!(app.is_read_only());
    assert!(screen(&app, 160, 48).contains("cannot be turned off"));
}

#[test]
fn readonly_command_toggles_when_not_forced() {
    let mut app = app(80, 24);
    command(&mut app, "readonly");
    assert!(app.is_read_only());
    typed(&mut app, "4a");
    let s = screen(&app, 80, 24);
    assert!(s.contains("READ-ONLY: approve is not sent"), "{s}");
    command(&mut app, "readonly");
    assert!(!app.is_read_only());
    typed(&mut app, "a");
    assert!(screen(&app, 80, 24).contains("Approve apr-2"));
}

#[test]
fn bulk_approval_needs_the_count_typed_and_sends_one_request_each() {
    let mut app = app(160, 48);
    // apr-2 and apr-1 (soonest expiry first); Space marks and moves down.
    typed(&mut app, "4  ");
    let s = screen(&app, 160, 48);
    assert!(s.contains("✓2 marked"), "{s}");
    typed(&mut app, "a");
    let s = screen(&app, 160, 48);
    assert!(s.contains("Approve 2 marked approvals"), "{s}");
    assert!(
        s.contains("apr-2 · patch pg-prod-p2 on stale evidence · 1 db · 1 prod"),
        "{s}"
    );
    assert!(
        s.contains("apr-1 · campaign cmp-3 · ring 1 · 3 db · 3 prod · 2 tier 1"),
        "{s}"
    );
    // Tab goes to the count it needs, not to the locked button; Enter there sends
    // nothing.
    key(&mut app, KeyCode::Tab);
    assert!(sends(&key(&mut app, KeyCode::Enter)).is_empty());
    assert!(screen(&app, 160, 48).contains("type 2 (the number of approvals) to enable Approve"));
    // The wrong count: refused.
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "3");
    key(&mut app, KeyCode::Enter);
    assert!(sends(&key(&mut app, KeyCode::Enter)).is_empty());
    // The right count: one request per approval, each with its own key and If-Match.
    ctrl(&mut app, 'u');
    typed(&mut app, "2");
    key(&mut app, KeyCode::Enter);
    let sent = sends(&key(&mut app, KeyCode::Enter));
    assert_eq!(sent.len(), 2, "{sent:?}");
    let paths: Vec<String> = sent.iter().map(|r| r.action.path()).collect();
    assert!(paths.contains(&"/v1/approvals/apr-1/approve".to_string()));
    assert!(paths.contains(&"/v1/approvals/apr-2/approve".to_string()));
    assert_ne!(sent[0].idempotency_key, sent[1].idempotency_key);
    assert!(sent.iter().all(|r| r.if_match == Some(4)));
    // A second Enter sends nothing.
    assert!(sends(&key(&mut app, KeyCode::Enter)).is_empty());
    app.update(Msg::ActionDone {
        request_id: sent[0].id,
        result: Ok(()),
    });
    app.update(Msg::ActionDone {
        request_id: sent[1].id,
        result: Err(fleetdeck_console::message::ActionError::Transport(
            "timed out".into(),
        )),
    });
    let s = screen(&app, 160, 48);
    assert!(s.contains("approved 1 of 2; ✗ apr-"), "{s}");
    assert!(!s.contains("marked"), "marks are spent: {s}");
}

#[test]
fn marks_show_in_every_table_pane() {
    let mut app = app(160, 48);
    typed(&mut app, "2 ");
    let s = screen(&app, 160, 48);
    assert!(
        s.contains("✓1 marked") && s.contains("✓‖ paused  cmp-2"),
        "{s}"
    );
    typed(&mut app, "1  ");
    let s = screen(&app, 160, 48);
    assert!(s.contains("✓2 marked") && s.contains("✓ my-prod-p1"), "{s}");
    // Space on a marked row unmarks it.
    typed(&mut app, "k ");
    assert!(screen(&app, 160, 48).contains("✓1 marked"));
}

#[test]
fn bulk_refuses_an_approval_the_user_may_not_decide() {
    let mut app = app(160, 48);
    typed(&mut app, "4   ");
    typed(&mut app, "a");
    let s = screen(&app, 160, 48);
    assert!(
        s.contains("can't decide apr-3") && s.contains("unmark it first"),
        "{s}"
    );
}

#[test]
fn marks_on_items_that_change_underneath_are_dropped() {
    let mut app = app(160, 48);
    typed(&mut app, "4  ");
    assert!(screen(&app, 160, 48).contains("✓2 marked"));
    let mut changed = approvals()[0].clone(); // apr-1, now with a new decision
    changed.version = 5;
    app.update(Msg::Server(Box::new(event(
        6,
        Level::Info,
        "approval.decided",
        "dave approved",
        Some(Change::Approval {
            approval: Box::new(changed),
        }),
    ))));
    let s = screen(&app, 160, 48);
    assert!(
        s.contains("mark on apr-1 dropped: it changed since you marked it; 1 still marked"),
        "{s}"
    );
    assert!(s.contains("✓1 marked"), "{s}");
    // An unchanged item keeps its mark through an event about another one.
    let mut gone = approvals()[1].clone();
    gone.state = ApprovalState::Expired;
    app.update(Msg::Server(Box::new(event(
        7,
        Level::Info,
        "approval.expired",
        "expired",
        Some(Change::Approval {
            approval: Box::new(gone),
        }),
    ))));
    let s = screen(&app, 160, 48);
    assert!(s.contains("mark on apr-2 dropped: it left the pane"), "{s}");
    // Esc clears marks and filter.
    typed(&mut app, " ");
    assert!(screen(&app, 160, 48).contains("✓1 marked"));
    key(&mut app, KeyCode::Esc);
    assert!(!screen(&app, 160, 48).contains("marked"));
}

/// Where `text` first appears on screen: (column, row).
fn find(app: &App, w: u16, h: u16, text: &str) -> (u16, u16) {
    let terminal = render(app, w, h);
    let buf = terminal.backend().buffer();
    for y in 0..h {
        let row: Vec<String> = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
        let line: String = row.concat();
        if let Some(byte) = line.find(text) {
            let col = line[..byte].chars().count() as u16;
            return (col, y);
        }
    }
    panic!("{text} not on screen:\n{}", screen(app, w, h));
}

#[test]
fn clicks_focus_panes_and_select_rows_and_the_wheel_scrolls() {
    let mut app = app(160, 48);
    let down = MouseEventKind::Down(MouseButton::Left);
    let (x, y) = find(&app, 160, 48, "cmp-2");
    mouse(&mut app, down, x, y);
    assert!(screen(&app, 160, 48).contains("┏ 2 Rings"));
    let (x, y) = find(&app, 160, 48, "pg-prod-r1");
    mouse(&mut app, down, x, y);
    let s = screen(&app, 160, 48);
    assert!(s.contains("› pg-prod-r1"), "{s}");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app, 160, 48).contains("pg-prod-r1.db.internal"));
    key(&mut app, KeyCode::Esc);
    // The wheel over the approvals pane focuses it and moves its selection.
    let (x, y) = find(&app, 160, 48, "apr-1 promotion");
    mouse(&mut app, MouseEventKind::ScrollDown, x, y);
    mouse(&mut app, MouseEventKind::ScrollDown, x, y);
    let s = screen(&app, 160, 48);
    assert!(s.contains("› apr-3"), "{s}");
    // A click on a heading or border selects nothing new.
    let (x, y) = find(&app, 160, 48, "DATABASE");
    mouse(&mut app, down, x, y);
    assert!(screen(&app, 160, 48).contains("› pg-prod-r1"));
    // Small screen: the tabs are clickable.
    let mut small = ui_support::app(80, 24);
    let (x, y) = find(&small, 80, 24, "4 Approvals");
    mouse(&mut small, down, x + 2, y);
    assert!(
        screen(&small, 80, 24).contains("[4 Approvals"),
        "{}",
        screen(&small, 80, 24)
    );
}

#[test]
fn time_toggles_between_utc_and_local() {
    let mut app = app(160, 48);
    assert!(screen(&app, 160, 48).contains("03:00:00Z"));
    typed(&mut app, "t");
    let local = t0()
        .with_timezone(&chrono::Local)
        .format("%H:%M:%S%:z")
        .to_string();
    let s = screen(&app, 160, 48);
    assert!(s.contains(&local), "{local} in {s}");
    assert!(s.contains("times shown in local time"));
    typed(&mut app, "t");
    assert!(screen(&app, 160, 48).contains("03:00:00Z"));
}

fn new_approval(seq: u64) -> Msg {
    let mut a = approvals()[0].clone();
    a.id = "apr-9".into();
    Msg::Server(Box::new(event(
        seq,
        Level::Info,
        "approval.requested",
        "ring 2 waits",
        Some(Change::Approval {
            approval: Box::new(a),
        }),
    )))
}

fn paused_by(seq: u64, actor: &str) -> Msg {
    let mut c = campaigns()[0].clone();
    c.state = CampaignState::Paused;
    c.paused_reason = Some("gate failed".into());
    let mut e = event(
        seq,
        Level::Warn,
        "campaign.paused",
        "paused",
        Some(Change::Campaign {
            campaign: Box::new(c),
        }),
    );
    e.actor = actor.into();
    Msg::Server(Box::new(e))
}

#[test]
fn notifications_are_off_by_default_and_asked_of_the_host_when_on() {
    let mut quiet = app(80, 24);
    quiet.update(new_approval(6));
    assert!(quiet.take_host_requests().is_empty());

    let session = Session {
        notify_bell: true,
        notify_title: true,
        ..Session::default()
    };
    let mut app = app_with(alice(), config(), session, 80, 24);
    app.update(new_approval(6));
    assert_eq!(
        app.take_host_requests(),
        vec![
            HostRequest::Bell,
            HostRequest::SetTitle("fleetdeck · ⧗4 to approve · ‖1 paused".into())
        ]
    );
    // The same approval again (a decision) is not new.
    app.update(new_approval(7));
    assert!(app.take_host_requests().is_empty());
    // A pause this user asked for is no news; one by the runner is.
    app.update(paused_by(8, "alice"));
    assert!(app.take_host_requests().is_empty());
    let mut other = app_with(
        alice(),
        config(),
        Session {
            notify_bell: true,
            ..Session::default()
        },
        80,
        24,
    );
    other.update(paused_by(6, "runner"));
    assert_eq!(other.take_host_requests(), vec![HostRequest::Bell]);
}
