//! `scripts/pg-lab.sh` on the built binary: `up` gives a control plane with live health
//! on real PostgreSQL servers; a drill interrupted by killing that control plane leaves
//! nothing once it starts again; `down` stops every process and removes the directory.

mod pg_lab_support;

use std::path::PathBuf;
use std::time::Duration;

use fleetdeck_api::DrillState;
use pg_lab_support::{Lab, alive, processes_in, until};

/// The copy of a drill in progress: its directory and its postmaster's pid.
fn running_copy(lab: &Lab) -> Option<(PathBuf, i32)> {
    let drills = std::fs::read_dir(lab.dir.join("drills")).ok()?;
    drills.flatten().find_map(|d| {
        let pid = std::fs::read_to_string(d.path().join("data/postmaster.pid")).ok()?;
        let pid: i32 = pid.lines().next()?.trim().parse().ok()?;
        alive(pid).then(|| (d.path(), pid))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_serves_live_health_cleans_up_a_killed_drill_and_goes_down_leaving_nothing() {
    if fleetdeck_pg_harness::skipped() {
        return;
    }
    let lab = Lab::up();
    // The scheduler drills the never-drilled databases at once; kill the control plane
    // while a copy runs.
    let (copy_dir, copy_pid) = until(
        "a drill's copy running",
        Duration::from_secs(300),
        || async { running_copy(&lab) },
    )
    .await;
    let serve = lab.serve_pid();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &serve.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    until(
        "the killed control plane gone",
        Duration::from_secs(30),
        || async { (!alive(serve)).then_some(()) },
    )
    .await;
    assert!(
        copy_dir.exists() && alive(copy_pid),
        "a crash leaves the copy behind"
    );

    lab.restart_serve();
    until(
        "the interrupted drill's copy removed",
        Duration::from_secs(60),
        || async { (!copy_dir.exists() && !alive(copy_pid)).then_some(()) },
    )
    .await;
    // The drill left running is run again, and this time finishes.
    let evidence = until(
        "a drill finished after the restart",
        Duration::from_secs(600),
        || async {
            let ev = lab.evidence().await?;
            ev.into_iter().find(|e| {
                e.latest
                    .as_ref()
                    .is_some_and(|d| d.state == DrillState::Succeeded)
            })
        },
    )
    .await;
    let drill = evidence.latest.unwrap();
    let proof = drill.proof.expect("the built-in drill records its proof");
    assert!(
        proof.backup_label.is_some() && proof.timeline.is_some(),
        "{proof:?}"
    );
    assert!(drill.recovery_point.is_some());

    let dbs = lab.all_healthy(Duration::from_secs(120)).await;
    let ids: Vec<&str> = dbs.iter().map(|d| d.id.as_str()).collect();
    for id in ["pg-lab-a", "pg-lab-a-replica", "pg-lab-b"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    let config = std::fs::read_to_string(lab.dir.join("fleet.toml")).unwrap();
    let password = std::fs::read_to_string(lab.dir.join("secrets/pg-password")).unwrap();
    assert!(
        !config.contains(password.trim()),
        "the password is in the config"
    );

    let serve = lab.serve_pid();
    lab.down();
    assert!(!lab.dir.exists(), "down left {}", lab.dir.display());
    assert!(!alive(serve), "fleetdeck serve survived down");
    let left = processes_in(&lab.dir);
    assert!(left.is_empty(), "down left processes: {left:?}");
}
