//! Selections follow their item, not a row number, in every pane, through the real
//! `App`: whatever arrives, sorts or filters. A selected item that leaves is said so,
//! the cursor goes to a neighbour, and the key meant for the item that left opens
//! nothing. An open dialog never changes its subject. A re-sort shows the top rows.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::*;
use fleetdeck_console::{App, AppConfig, Msg, Session};
use ui_support::*;

const W: u16 = 120;
const H: u16 = 40;

fn send(app: &mut App, seq: u64, change: Change) {
    app.update(Msg::Server(Box::new(event(
        seq,
        Level::Info,
        "test.change",
        &format!("event {seq}"),
        Some(change),
    ))));
}

fn arrives(app: &mut App, seq: u64, a: Approval) {
    send(
        app,
        seq,
        Change::Approval {
            approval: Box::new(a),
        },
    );
}

fn decided(id: &str, by: &str) -> Approval {
    let mut a = approvals()
        .into_iter()
        .find(|a| a.id == id)
        .expect("fixture approval");
    a.state = ApprovalState::Approved;
    a.decisions.push(Decision {
        approver: by.into(),
        verdict: Verdict::Approve,
        comment: None,
        at: t0(),
    });
    a.version += 1;
    a
}

/// The highlighted row (the `›` marker) of the screen: of the one pane drawn, zoomed.
fn selected_row(app: &App) -> String {
    let s = screen(app, W, H);
    s.lines()
        .find(|l| l.contains('›'))
        .unwrap_or_default()
        .to_string()
}

fn footer(app: &App) -> String {
    screen(app, W, H)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn approvals_the_cursor_stays_on_its_approval_and_a_leaver_opens_nothing() {
    let mut app = app(W, H);
    // Expiry order: apr-2 (10m), apr-1 (45m), apr-9 (50m), apr-3 (4h).
    arrives(
        &mut app,
        6,
        approval("apr-9", ApprovalKind::PolicyException, "next", "erin", 50),
    );
    typed(&mut app, "4zj");
    assert!(
        selected_row(&app).contains("apr-1"),
        "{}",
        screen(&app, W, H)
    );
    // A new, more urgent approval arrives between `j` and `a`: it sorts above.
    arrives(
        &mut app,
        7,
        approval("apr-8", ApprovalKind::PolicyException, "urgent", "erin", 5),
    );
    typed(&mut app, "a");
    assert!(
        screen(&app, W, H).contains("Approve apr-1"),
        "{}",
        screen(&app, W, H)
    );
    key(&mut app, KeyCode::Esc);

    // The selected approval is decided elsewhere: said so, cursor on its neighbour.
    arrives(&mut app, 8, decided("apr-1", "dave"));
    assert!(
        selected_row(&app).contains("apr-9"),
        "{}",
        screen(&app, W, H)
    );
    assert!(
        footer(&app).contains("apr-1 left the queue (approved by dave): the cursor is on apr-9"),
        "{}",
        footer(&app)
    );
    // The `a` meant for apr-1 opens nothing, and says why.
    typed(&mut app, "a");
    let s = screen(&app, W, H);
    assert!(!s.contains("Approve apr-9"), "{s}");
    assert!(
        footer(&app).contains("apr-1 left Approvals before this key: nothing done"),
        "{s}"
    );
    // Pressed again, knowingly: it acts on the row the cursor is on.
    typed(&mut app, "a");
    assert!(
        screen(&app, W, H).contains("Approve apr-9"),
        "{}",
        screen(&app, W, H)
    );
}

#[test]
fn approvals_moving_after_a_leaver_settles_the_cursor() {
    let mut app = app(W, H);
    typed(&mut app, "4zj"); // apr-1
    arrives(&mut app, 6, decided("apr-1", "dave"));
    typed(&mut app, "k"); // the user moves: they see where they are
    typed(&mut app, "a");
    assert!(
        screen(&app, W, H).contains("Approve apr-2"),
        "{}",
        screen(&app, W, H)
    );
}

#[test]
fn an_open_dialog_keeps_its_subject_whatever_arrives_or_leaves() {
    let mut app = app(W, H);
    typed(&mut app, "4a"); // apr-2
    assert!(screen(&app, W, H).contains("Approve apr-2"));
    for (seq, n) in (6..).zip(1..=5) {
        arrives(
            &mut app,
            seq,
            approval(
                &format!("apr-{}", 20 + n),
                ApprovalKind::PolicyException,
                "new",
                "erin",
                1,
            ),
        );
    }
    let s = screen(&app, W, H);
    assert!(s.contains("Approve apr-2"), "{s}");
    arrives(&mut app, 20, decided("apr-2", "dave"));
    let s = screen(&app, W, H);
    assert!(
        s.contains("Approve apr-2"),
        "the subject never changes: {s}"
    );
    assert!(s.contains("apr-2 left the queue"), "{s}");
    assert!(s.contains("Approve · locked"), "{s}");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    let effects = key(&mut app, KeyCode::Enter);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, fleetdeck_console::Effect::Send(_))),
        "nothing is sent for an approval that left: {effects:?}"
    );
}

#[test]
fn fleet_a_filter_that_hides_the_selection_says_where_the_cursor_went() {
    let mut app = app(W, H);
    typed(&mut app, "1z");
    // my-prod-p1 sorts first by id.
    assert!(
        selected_row(&app).contains("my-prod-p1"),
        "{}",
        screen(&app, W, H)
    );
    typed(&mut app, "/pg-dev");
    key(&mut app, KeyCode::Enter);
    let row = selected_row(&app);
    assert!(row.contains("pg-dev-0"), "{}", screen(&app, W, H));
    assert!(
        footer(&app).contains("my-prod-p1 is hidden by the filter: the cursor is on pg-dev-0"),
        "{}",
        footer(&app)
    );
    // A filter is the user's own doing: the next key acts at once.
    let effects = typed(&mut app, "d");
    assert!(
        screen(&app, W, H).contains("Drill now pg-dev-0"),
        "{effects:?}"
    );
}

#[test]
fn evidence_and_rings_follow_their_item_when_an_event_moves_it() {
    let mut app = app(W, H);
    // Evidence, worst first: pg-prod-p1 (failed) is first; select pg-dev-02 (aging).
    typed(&mut app, "3z");
    for _ in 0..8 {
        if selected_row(&app).contains("pg-dev-02") {
            break;
        }
        typed(&mut app, "j");
    }
    assert!(
        selected_row(&app).contains("pg-dev-02"),
        "{}",
        screen(&app, W, H)
    );
    let mut worse = evidences()
        .into_iter()
        .find(|e| e.database_id == "pg-dev-02")
        .unwrap();
    worse.freshness = Freshness::Failed;
    send(
        &mut app,
        6,
        Change::Evidence {
            evidence: Box::new(worse),
        },
    );
    assert!(
        selected_row(&app).contains("pg-dev-02"),
        "{}",
        screen(&app, W, H)
    );
    assert!(
        selected_row(&app).contains("failed"),
        "{}",
        screen(&app, W, H)
    );
    typed(&mut app, "d");
    assert!(screen(&app, W, H).contains("Drill now pg-dev-02"));
    key(&mut app, KeyCode::Esc);

    // Rings: cmp-1 selected; cmp-2 resumes and sorts below it; cmp-1 stays selected.
    typed(&mut app, "z2jj");
    let mut resumed = campaigns().remove(1);
    resumed.state = CampaignState::Running;
    resumed.paused_reason = None;
    resumed.version = 8;
    send(
        &mut app,
        7,
        Change::Campaign {
            campaign: Box::new(resumed),
        },
    );
    typed(&mut app, "p");
    assert!(
        screen(&app, W, H).contains("Pause cmp-1"),
        "{}",
        screen(&app, W, H)
    );
}

#[test]
fn a_resort_shows_the_top_rows_not_the_old_page() {
    let mut app = app(W, 24);
    // Enough healthy databases that the list is several pages long.
    for n in 0..40u64 {
        let mut d = databases().remove(0);
        d.id = format!("pg-extra-{n:02}");
        send(
            &mut app,
            6 + n,
            Change::Database {
                database: Box::new(d),
            },
        );
    }
    typed(&mut app, "1zGkkkk"); // pg-prod-p1, near the end by id
    assert!(
        selected_row(&app).contains("pg-prod-p1"),
        "{}",
        screen(&app, W, 24)
    );
    command(&mut app, "sort health"); // worst first
    let s = screen(&app, W, 24);
    assert!(s.contains("HEALTH▲"), "{s}");
    // The worst rows show, and the cursor is on the first of them.
    assert!(s.contains("pg-dev-02") && s.contains("✗ down"), "{s}");
    assert!(selected_row(&app).contains("pg-dev-02"), "{s}");
    assert!(
        footer(&app).contains("sorted: the top rows show; the cursor is on pg-dev-02"),
        "{}",
        footer(&app)
    );
}

#[test]
fn log_a_held_line_that_falls_off_is_said_so_and_a_reload_keeps_it() {
    let config = AppConfig {
        log_cap: 8,
        ..config()
    };
    let mut app = app_with(alice(), config, Session::default(), W, H);
    typed(&mut app, "5zk"); // hold seq 4
    let held = selected_row(&app);
    assert!(held.contains("02:59:04"), "{}", screen(&app, W, H));
    // A reload (a reconnect) keeps the same line selected.
    app.update(Msg::Loaded {
        whoami: alice(),
        snapshot: Box::new(snapshot()),
    });
    assert!(
        selected_row(&app).contains("02:59:04"),
        "{}",
        screen(&app, W, H)
    );
    assert!(screen(&app, W, H).contains("not following"));
    // Lines arrive until seq 4 falls off the cap of 8.
    for seq in 6..=12 {
        app.update(Msg::Server(Box::new(event(
            seq,
            Level::Info,
            "test.line",
            &format!("line {seq}"),
            None,
        ))));
    }
    assert!(
        footer(&app).contains("the log line you were on fell off the log"),
        "{}",
        screen(&app, W, H)
    );
}

#[test]
fn an_item_the_user_took_away_themselves_moves_the_cursor_quietly() {
    let mut app = app(W, H);
    typed(&mut app, "4zj"); // apr-1
    let mut gone = event(
        6,
        Level::Info,
        "approval.approved",
        "alice approved apr-1",
        Some(Change::Approval {
            approval: Box::new(decided("apr-1", "alice")),
        }),
    );
    gone.actor = "alice".into();
    app.update(Msg::Server(Box::new(gone)));
    assert!(
        selected_row(&app).contains("apr-3"),
        "{}",
        screen(&app, W, H)
    );
    assert!(!footer(&app).contains("left the queue"), "{}", footer(&app));
    typed(&mut app, "x");
    assert!(
        !footer(&app).contains("before this key"),
        "their own approval is no surprise: {}",
        footer(&app)
    );
}
