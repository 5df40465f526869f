//! The console on the lab (`scripts/pg-lab.sh`) in a real terminal: live health of real
//! PostgreSQL servers, and the evidence of a real restore drill.

mod pg_lab_support;
mod tmux;

use std::time::Duration;

use fleetdeck_api::{DrillState, Freshness};
use pg_lab_support::{Lab, until};

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_on_the_lab_shows_live_health_and_a_drills_evidence() {
    if tmux::skipped() || fleetdeck_pg_harness::skipped() {
        return;
    }
    let lab = Lab::up();
    lab.all_healthy(Duration::from_secs(120)).await;
    let drilled = until("a drill's evidence", Duration::from_secs(600), || async {
        let ev = lab.evidence().await?;
        ev.into_iter()
            .find(|e| {
                e.freshness == Freshness::Fresh
                    && e.latest
                        .as_ref()
                        .is_some_and(|d| d.state == DrillState::Succeeded)
            })
            .map(|e| e.database_id)
    })
    .await;

    let home = tempfile::tempdir().unwrap();
    let t = tmux::Tmux::connected(
        "pglab",
        (160, 48),
        home.path(),
        &lab.token,
        BIN,
        &lab.server,
        &[],
    );
    t.wait_for(
        "the lab's databases healthy",
        Duration::from_secs(60),
        |s| {
            ["pg-lab-a", "pg-lab-a-replica", "pg-lab-b"]
                .iter()
                .all(|id| {
                    s.lines()
                        .any(|l| l.contains(&format!(" {id} ")) && l.contains("healthy"))
                })
        },
    );
    t.keys(&["3"]);
    t.wait_for(
        "the drilled database's evidence fresh",
        Duration::from_secs(30),
        |s| {
            s.lines()
                .any(|l| l.contains(&format!(" {drilled} ")) && l.contains("fresh"))
        },
    );
    drop(t);
    lab.down();
}
