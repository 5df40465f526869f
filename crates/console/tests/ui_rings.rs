//! The Rings pane: ring gauges line up whether a ring holds production databases or
//! not, and a click on any line of a campaign's card selects that campaign.

mod ui_support;

use crossterm::event::{KeyCode, MouseButton, MouseEventKind};
use fleetdeck_api::*;
use fleetdeck_console::{App, ConnState, Msg};
use ui_support::*;

/// The ring lines of a screen: the ones with a gauge's counts.
fn ring_lines(s: &str) -> impl Iterator<Item = &str> {
    s.lines().filter(|l| l.contains("✓ ") && l.contains("✗ /"))
}

/// The column where each ring line's gauge starts.
fn gauge_columns(s: &str) -> Vec<usize> {
    ring_lines(s)
        .map(|l| {
            l.chars()
                .position(|c| matches!(c, '█' | '▒' | '░'))
                .unwrap_or_else(|| panic!("no gauge in {l}"))
        })
        .collect()
}

#[test]
fn ring_gauges_line_up_prod_or_not() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut app = app(w, h);
        typed(&mut app, "2z");
        let s = screen(&app, w, h);
        let cols = gauge_columns(&s);
        // Seven rings over four campaigns, three of them holding production.
        assert_eq!(cols.len(), 7, "{s}");
        assert!(
            cols.iter().all(|c| *c == cols[0]),
            "{cols:?} at {w}x{h}:\n{s}"
        );
        assert_eq!(
            ring_lines(&s).filter(|l| l.contains(" prod ")).count(),
            3,
            "{s}"
        );
    }
}

#[test]
fn a_click_on_a_card_selects_its_campaign() {
    let (w, h) = (200, 50);
    let mut app = app(w, h);
    let down = MouseEventKind::Down(MouseButton::Left);
    // Select the running campaign by clicking its last ring line (R2, pending).
    let s = screen(&app, w, h);
    let (y, line) = s
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("○ pending"))
        .unwrap_or_else(|| panic!("no pending ring:\n{s}"));
    let x = line.chars().position(|c| c == '○').unwrap() as u16 - 1;
    mouse(&mut app, down, x, y as u16);
    let s = screen(&app, w, h);
    assert!(s.contains("┏ 2 Rings"), "the rings pane has focus: {s}");
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, w, h);
    assert!(s.contains("postgres 16.4 minor"), "cmp-1's detail: {s}");
    key(&mut app, KeyCode::Esc);
    // A click on another card's title line selects that one.
    let s = screen(&app, w, h);
    let (y, line) = s
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("✓ completed"))
        .unwrap();
    let x = line
        .find("cmp-0")
        .map(|b| line[..b].chars().count())
        .unwrap() as u16
        - 1;
    mouse(&mut app, down, x, y as u16);
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, w, h);
    assert!(s.contains("postgres 16.3 →") || s.contains("cmp-0"), "{s}");
    assert!(
        !s.contains("postgres 16.4 minor"),
        "cmp-0's detail, not cmp-1's: {s}"
    );
    key(&mut app, KeyCode::Esc);
    // A click below the last card (inside the pane) selects nothing new.
    let before = screen(&app, w, h);
    mouse(&mut app, down, x, y as u16 + 3);
    assert_eq!(screen(&app, w, h), before);
}

#[test]
fn one_campaign_is_counted_in_the_singular() {
    let mut app = app(120, 30);
    typed(&mut app, "2/state:paused");
    let s = screen(&app, 120, 30);
    assert!(s.contains("1 of 4 · 1 campaign ·"), "{s}");
}

/// A console that loaded the fixture with `campaigns` in place of its own.
fn app_showing(campaigns: Vec<Campaign>, w: u16, h: u16) -> App {
    let mut app = App::new(config());
    app.update(Msg::Resize(w, h));
    let mut snapshot = snapshot();
    snapshot.campaigns = campaigns;
    app.update(Msg::Loaded {
        whoami: alice(),
        snapshot: Box::new(snapshot),
    });
    app.update(Msg::Connection(ConnState::Connected {
        since: t0() - mins(10),
    }));
    app.update(Msg::Tick(t0()));
    app
}

fn reverted_target(db: &str, patch_state: TargetState, outcome: RevertOutcome) -> Target {
    let state = match outcome {
        RevertOutcome::Reverted => TargetState::RolledBack,
        RevertOutcome::RevertFailed => TargetState::Failed,
        _ => TargetState::Skipped,
    };
    Target {
        rollback: Some(TargetRollback {
            patch_state,
            outcome,
        }),
        ..target(db, state, None)
    }
}

/// Rolled back after ring 1 went 20✓ 3✗: the three failed patches and nineteen good
/// ones reverted, one good one failed to revert (and still runs the new version); ring
/// 2 was never entered.
fn rolled_back() -> Campaign {
    use RevertOutcome as O;
    use TargetState as S;
    let mut r1: Vec<Target> = (1..=19)
        .map(|i| reverted_target(&format!("pg-stg-{i:02}"), S::Done, O::Reverted))
        .collect();
    r1.extend(
        (20..=22).map(|i| reverted_target(&format!("pg-stg-{i:02}"), S::Failed, O::Reverted)),
    );
    r1.push(reverted_target("pg-stg-23", S::Done, O::RevertFailed));
    let r2 = vec![
        reverted_target("pg-prod-r1", S::Pending, O::NotPatched),
        reverted_target("pg-prod-p1", S::Pending, O::NotPatched),
    ];
    let mut c = campaign(
        "cmp-9",
        "postgres 16.4 staging",
        CampaignState::RolledBack,
        vec![
            ring(1, RingState::RolledBack, false, 3, r1),
            ring(2, RingState::Pending, true, 0, r2),
        ],
    );
    c.current_ring = Some(1);
    c.rollback = Some(RollbackStatus {
        stage: RollbackStage::Done,
        reason: "errors in staging".into(),
        requested_by: "olga".into(),
        started_at: t0() - mins(20),
        finished_at: Some(t0() - mins(5)),
        mismatches: vec![Mismatch {
            database_id: "pg-stg-23".into(),
            declared_version: "16.3".into(),
            actual_version: "16.4".into(),
        }],
    });
    c
}

#[test]
fn a_rolled_back_ring_shows_its_patch_results_and_what_the_rollback_did() {
    let (w, h) = (160, 48);
    let mut app = app_showing(vec![rolled_back()], w, h);
    typed(&mut app, "2z");
    let s = screen(&app, w, h);
    let ring = |r: &str| {
        ring_lines(&s)
            .find(|l| l.contains(r))
            .unwrap_or_else(|| panic!("no {r}:\n{s}"))
    };
    let r1 = ring("R1 ");
    assert!(
        r1.contains("20✓  3✗ /23"),
        "the patches' results stay: {r1}"
    );
    assert!(
        r1.contains("22 reverted · ✗ 1 not reverted"),
        "what the rollback did: {r1}"
    );
    let r2 = ring("R2 ");
    assert!(r2.contains("2 never patched"), "{r2}");
    assert!(
        s.contains("↺ rollback finished · ✗ 1 mismatched: pg-stg-23 runs 16.4, declared 16.3"),
        "{s}"
    );
    assert!(!s.contains("done stage"), "{s}");

    // The campaign's detail names each target's outcome and its mismatch.
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, w, h);
    assert!(s.contains("Rollback"), "{s}");
    assert!(s.contains("finished 5m ago · requested by olga"), "{s}");
    assert!(!s.contains("done stage"), "{s}");
    let line = |id: &str| {
        s.lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("no {id}:\n{s}"))
            .to_string()
    };
    assert!(
        line("pg-stg-20").contains("patch failed · ↺ reverted"),
        "{s}"
    );
    let failed = line("pg-stg-23 ");
    assert!(failed.contains("patched · ✗ revert failed"), "{failed}");
    assert!(failed.contains("✗ runs 16.4, declared 16.3"), "{failed}");
    assert!(s.contains("✗ mismatch"), "the reconcile report: {s}");
}

#[test]
fn a_paused_campaign_says_what_resume_will_do_not_what_it_waited_for() {
    let (w, h) = (160, 48);
    let mut c = campaigns().remove(1);
    c.paused_reason = Some("policy exception apr-1 for pg-dev-01 expired undecided".into());
    // What a server before `on_resume` left behind: a wait for an expired approval.
    c.waiting_for = Some("policy exceptions for pg-dev-01 (apr-1)".into());
    c.on_resume = Some("requests the policy exception for pg-dev-01 again (apr-1 expired)".into());
    let mut app = app_showing(vec![c], w, h);
    typed(&mut app, "2z");
    let s = screen(&app, w, h);
    assert!(!s.contains("waits for"), "{s}");
    assert!(
        s.contains(
            "▶ on resume: requests the policy exception for pg-dev-01 again (apr-1 expired)"
        ),
        "{s}"
    );
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, w, h);
    assert!(!s.contains("Waits for"), "{s}");
    assert!(s.contains("On resume"), "{s}");
    assert!(s.contains("(apr-1 expired)"), "{s}");
}

#[test]
fn rolled_back_card_and_detail() {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = app_showing(vec![rolled_back()], w, h);
        typed(&mut app, "2");
        insta::assert_snapshot!(
            format!("rolled_back_card_{w}x{h}"),
            render(&app, w, h).backend()
        );
        key(&mut app, KeyCode::Enter);
        insta::assert_snapshot!(
            format!("rolled_back_detail_{w}x{h}"),
            render(&app, w, h).backend()
        );
    }
}
