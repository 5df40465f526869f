//! A shutdown while restore drills run: the server stops them at once and records each
//! as interrupted, with the reason (a `drill.interrupted` event, the drill's output);
//! the next start says it runs them again from the beginning (`drill.resumed`). A
//! server that stops without shutting down (dropped, as by a crash) records nothing,
//! and the next start says that too.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fleetdeck_api::{DrillState, Event, kinds};
use fleetdeck_control_plane::auth::{TokenEntry, hash_token};
use fleetdeck_control_plane::server::{self, RunningServer, ServeOptions, TokenSource};
use fleetdeck_control_plane::store::{Store, drills, events};

/// The test fleet with drills at real speed: a tier-3 restore takes minutes.
fn slow_config() -> String {
    common::fleet_config().replace("time_scale = 1000.0", "time_scale = 1.0")
}

async fn start(dir: &tempfile::TempDir) -> RunningServer {
    let entries = common::USERS
        .iter()
        .map(|(user, roles)| TokenEntry {
            sha256_hex: hash_token(&common::token(user)),
            user: (*user).to_string(),
            roles: roles.to_vec(),
        })
        .collect();
    server::start(ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        state: common::state_path(dir),
        tokens: TokenSource::Entries(entries),
        config: Some(dir.path().join("fleet.toml")),
        demo: None,
    })
    .await
    .expect("server starts")
}

async fn all_events(store: &Store) -> Vec<Event> {
    events::after(store.pool(), 0, 100_000).await.unwrap()
}

fn of_kind<'a>(events: &'a [Event], kind: &str) -> Vec<&'a Event> {
    events.iter().filter(|e| e.kind == kind).collect()
}

fn drill_ids(events: &[&Event]) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|e| e.subject.drill_id.clone())
        .collect()
}

/// Waits until `drills` (the ones started, when `None`) have printed output after event
/// `after`: they are under way.
async fn under_way(
    server: &RunningServer,
    after: u64,
    drills: Option<&BTreeSet<String>>,
) -> BTreeSet<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = all_events(server.store()).await;
        let wanted = match drills {
            Some(d) => d.clone(),
            None => drill_ids(&of_kind(&events, kinds::DRILL_STARTED)),
        };
        let recent: Vec<Event> = events.iter().filter(|e| e.seq > after).cloned().collect();
        let printing = drill_ids(&of_kind(&recent, kinds::EXECUTOR_OUTPUT));
        if !wanted.is_empty() && wanted.is_subset(&printing) {
            assert!(of_kind(&events, kinds::DRILL_FINISHED).is_empty());
            return wanted;
        }
        assert!(Instant::now() < deadline, "no drill under way: {events:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn last_seq(events: &[Event]) -> u64 {
    events.last().map_or(0, |e| e.seq)
}

#[tokio::test]
async fn a_shutdown_records_running_drills_as_interrupted_and_the_next_start_runs_them_again() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fleet.toml"), slow_config()).unwrap();
    let server = start(&dir).await;
    let running = under_way(&server, 0, None).await;

    server.shutdown().await;
    let store = Store::open(&common::state_path(&dir)).await.unwrap();
    let events = all_events(&store).await;
    let interrupted = of_kind(&events, kinds::DRILL_INTERRUPTED);
    assert_eq!(drill_ids(&interrupted), running, "{interrupted:#?}");
    for e in &interrupted {
        assert!(
            e.message.contains("the control plane was shutting down")
                && e.message
                    .contains("the next start runs it again from the beginning"),
            "{}",
            e.message
        );
    }
    let mut conn = store.pool().acquire().await.unwrap();
    for id in &running {
        let d = drills::get(&mut conn, id).await.unwrap().unwrap();
        // Owed, not failed: the evidence is not judged on a drill that did not finish.
        assert_eq!(d.state, DrillState::Running);
        assert!(
            d.output.starts_with("interrupted at ")
                && d.output.contains("the control plane was shutting down"),
            "{}",
            d.output
        );
    }
    drop(conn);
    store.close().await;

    // The next start says what it runs again, and why it had stopped.
    let server = start(&dir).await;
    let events = all_events(server.store()).await;
    let resumed = of_kind(&events, kinds::DRILL_RESUMED);
    assert_eq!(drill_ids(&resumed), running, "{resumed:#?}");
    for e in &resumed {
        assert!(
            e.message.contains("runs again from the beginning")
                && e.message.contains("it was interrupted at ")
                && e.message.contains("the control plane was shutting down"),
            "{}",
            e.message
        );
    }
    // Then it runs them: each is under way again.
    under_way(&server, last_seq(&events), Some(&running)).await;

    // Dropped without a shutdown, as by a crash: nothing recorded, and the next start
    // says so.
    drop(server);
    let server = start(&dir).await;
    let events = all_events(server.store()).await;
    let resumed = of_kind(&events, kinds::DRILL_RESUMED);
    let crashed: Vec<&Event> = resumed
        .into_iter()
        .filter(|e| {
            e.message
                .contains("stopped without recording why (killed or crashed)")
        })
        .collect();
    assert_eq!(drill_ids(&crashed), running, "{crashed:#?}");
    server.shutdown().await;
}
