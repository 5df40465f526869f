//! A drill that succeeded but missed its tier's recovery objectives is flagged in the
//! Evidence pane and named in the database detail.

mod ui_support;

use crossterm::event::KeyCode;
use fleetdeck_api::*;
use fleetdeck_console::Msg;
use ui_support::*;

fn missed_rto(db: &str) -> Evidence {
    let mut ev = evidence(db, Freshness::Fresh, Some(1), None);
    let proof = DrillProof {
        // The fixture's drills restore in 252 s.
        rto_objective_s: Some(60.0),
        ..DrillProof::default()
    };
    for d in [&mut ev.last_good, &mut ev.latest].into_iter().flatten() {
        d.proof = Some(proof.clone());
    }
    ev
}

#[test]
fn a_missed_objective_is_flagged_in_the_pane_and_named_in_the_detail() {
    let mut app = app(120, 30);
    app.update(Msg::Server(Box::new(event(
        6,
        Level::Warn,
        kinds::DRILL_FINISHED,
        "drill finished",
        Some(Change::Evidence {
            evidence: Box::new(missed_rto("pg-dev-01")),
        }),
    ))));
    typed(&mut app, "3");
    let s = screen(&app, 120, 30);
    let row = s.lines().find(|l| l.contains("pg-dev-01")).unwrap();
    assert!(row.contains("fresh ⚑"), "{s}");
    let other = s.lines().find(|l| l.contains("pg-dev-02")).unwrap();
    assert!(!other.contains('⚑'), "{s}");

    // Worst first puts pg-dev-01 elsewhere: select it by filtering.
    typed(&mut app, "/pg-dev-01");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, 120, 30);
    assert!(
        s.contains("Objectives") && s.contains("RTO missed: restore took 4m, objective 1m"),
        "{s}"
    );
}
