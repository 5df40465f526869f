//! The fleet store: registering a declared fleet, seeding a generated one.

mod flow_support;

use fleetdeck_api::{Environment, kinds};
use fleetdeck_control_plane::DomainError;
use fleetdeck_control_plane::store::{Store, events, fleet};
use flow_support::{db, good_drill};

#[tokio::test]
async fn upsert_registers_changes_and_keeps_what_was_observed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    let a = db("pg-a", 0, Environment::Dev, 3);
    let upsert = |d: fleetdeck_api::Database| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            fleet::upsert_database(&mut tx, &d).await.unwrap();
            store.commit(tx).await.unwrap();
        }
    };
    upsert(a.clone()).await;
    let first = fleet::get_database(store.pool(), "pg-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.version, 1);
    let registered = events::after(store.pool(), 0, 100).await.unwrap();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].kind, kinds::DATABASE_REGISTERED);

    // A restart with the same config changes nothing and says nothing.
    upsert(a.clone()).await;
    assert_eq!(events::after(store.pool(), 0, 100).await.unwrap().len(), 1);

    // The control plane patched it since; the config still names the old version.
    let mut tx = store.begin().await.unwrap();
    let patched = fleetdeck_api::Database {
        engine_version: "16.3".into(),
        ..first.clone()
    };
    let ev = fleetdeck_control_plane::store::events::NewEvent::new(
        "runner",
        kinds::DATABASE_PATCHED,
        fleetdeck_api::Level::Info,
        "patched",
    );
    fleet::save(&mut tx, patched, ev).await.unwrap();
    store.commit(tx).await.unwrap();
    upsert(a.clone()).await;
    let now = fleet::get_database(store.pool(), "pg-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        now.engine_version, "16.3",
        "a restart does not undo a patch"
    );
    assert_eq!(now.version, 2);

    // A real config change is applied, with an event.
    upsert(fleetdeck_api::Database {
        owner_team: "ledger".into(),
        ..a
    })
    .await;
    let now = fleet::get_database(store.pool(), "pg-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.owner_team, "ledger");
    assert_eq!(now.engine_version, "16.3");
    assert_eq!(now.version, 3);
    let last = events::recent(store.pool(), 1).await.unwrap();
    assert!(last[0].message.contains("configuration updated"));
}

#[tokio::test]
async fn a_fleet_is_seeded_only_into_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    let dbs = vec![
        db("pg-a", 0, Environment::Dev, 3),
        db("pg-b", 3, Environment::Prod, 1),
    ];
    let drills = vec![good_drill("pg-a", 2)];
    let mut tx = store.begin().await.unwrap();
    fleet::seed(&mut tx, &dbs, &drills).await.unwrap();
    store.commit(tx).await.unwrap();
    let listed = fleet::list_databases(store.pool()).await.unwrap();
    assert_eq!(
        listed.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["pg-a", "pg-b"]
    );
    let log = events::after(store.pool(), 0, 100).await.unwrap();
    assert_eq!(log.len(), 1, "one summary event, not one per database");
    assert!(
        log[0]
            .message
            .contains("2 databases (1 in prod), 1 past drills")
    );
    let mut tx = store.begin().await.unwrap();
    let again = fleet::seed(&mut tx, &dbs, &[]).await.unwrap_err();
    assert!(matches!(again, DomainError::Conflict(_)));
    assert!(
        fleet::get_database(store.pool(), "pg-zz")
            .await
            .unwrap()
            .is_none()
    );
}
