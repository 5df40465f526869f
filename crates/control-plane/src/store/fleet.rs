//! The fleet inventory: one row per database, the wire type stored whole as JSON with
//! the columns the workflows filter on beside it.

use chrono::{DateTime, Utc};
use fleetdeck_api::{Change, Database, Drill, EventSubject, Health, HealthStatus, Level, kinds};
use futures_util::TryStreamExt;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::events::{NewEvent, append};
use super::{Tx, to_i64, to_u64};
use crate::DomainError;

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Database, DomainError> {
    let doc: String = row.try_get("doc")?;
    let mut db: Database = serde_json::from_str(&doc)?;
    db.version = to_u64(row.try_get("version")?, "database version")?;
    Ok(db)
}

/// Every database, by ring then id.
pub async fn list_databases(pool: &SqlitePool) -> Result<Vec<Database>, DomainError> {
    let mut conn = pool.acquire().await?;
    all(&mut conn).await
}

/// Every database, by ring then id, on a given connection (inside a transaction).
pub async fn all(conn: &mut SqliteConnection) -> Result<Vec<Database>, DomainError> {
    let mut out = Vec::new();
    for_each(conn, |db| {
        out.push(db);
        Ok(())
    })
    .await?;
    Ok(out)
}

/// Hands every database, by ring then id, to `each` as the rows arrive: the fleet is
/// never held whole.
pub async fn for_each(
    conn: &mut SqliteConnection,
    mut each: impl FnMut(Database) -> Result<(), DomainError>,
) -> Result<(), DomainError> {
    let mut rows = sqlx::query("SELECT doc, version FROM databases ORDER BY ring, id").fetch(conn);
    while let Some(row) = rows.try_next().await? {
        each(from_row(&row)?)?;
    }
    Ok(())
}

/// How many databases the inventory holds.
pub async fn count(pool: &SqlitePool) -> Result<u64, DomainError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM databases")
        .fetch_one(pool)
        .await?;
    to_u64(n, "database count")
}

pub async fn get_database(pool: &SqlitePool, id: &str) -> Result<Option<Database>, DomainError> {
    let mut conn = pool.acquire().await?;
    get(&mut conn, id).await
}

pub async fn get(conn: &mut SqliteConnection, id: &str) -> Result<Option<Database>, DomainError> {
    let row = sqlx::query("SELECT doc, version FROM databases WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes `db` as given (its `version` included), without an event. The only writer
/// of the table: the document and the `version` column come from the same `db`, so the
/// document is exactly the wire [`Database`], which the snapshot sends as stored
/// (`drills::for_each_database_json`).
async fn write(conn: &mut SqliteConnection, db: &Database) -> Result<(), DomainError> {
    sqlx::query(
        "INSERT INTO databases (id, doc, ring, environment, tier, version) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, ring = excluded.ring, \
         environment = excluded.environment, tier = excluded.tier, version = excluded.version",
    )
    .bind(&db.id)
    .bind(serde_json::to_string(db)?)
    .bind(i64::from(db.ring))
    .bind(db.environment.as_str())
    .bind(i64::from(db.tier))
    .bind(to_i64(db.version))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The version a database's next write gets.
async fn next_version(tx: &mut Tx<'_>, id: &str) -> Result<u64, DomainError> {
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM databases WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(current.map_or(Ok(0), |v| to_u64(v, "database version"))? + 1)
}

/// Saves a change to a known database: bumps its version and appends `event` carrying
/// the new state. Returns the saved database.
pub async fn save(
    tx: &mut Tx<'_>,
    mut db: Database,
    event: NewEvent,
) -> Result<Database, DomainError> {
    db.version = next_version(tx, &db.id).await?;
    write(tx, &db).await?;
    append(
        tx,
        event
            .subject(EventSubject {
                database_id: Some(db.id.clone()),
                ..EventSubject::default()
            })
            .change(Change::Database {
                database: Box::new(db.clone()),
            }),
    )
    .await?;
    Ok(db)
}

/// What recording a health observation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthRecorded {
    /// No such database, or it holds a newer observation.
    Ignored,
    /// Same status and findings: the figures were updated without an event.
    Quiet,
    /// The status or the findings changed: saved with a `database.health` event.
    Changed { from: HealthStatus },
}

/// Records an observation of a database's health as its one health record, whoever
/// made it (the poller, a patch's verification, a bake, a rollback's repair), so the
/// inventory always shows the latest the control plane saw. A change of status or of
/// findings is an event with the reason; new figures alone (lag, connections, latency)
/// update the record quietly, so polling does not flood the log. An observation older
/// than the recorded one is dropped.
pub async fn record_health(
    tx: &mut Tx<'_>,
    id: &str,
    mut health: Health,
    actor: &str,
) -> Result<HealthRecorded, DomainError> {
    let Some(mut db) = get(tx, id).await? else {
        return Ok(HealthRecorded::Ignored);
    };
    let old = std::mem::take(&mut db.health);
    let at = *health.checked_at.get_or_insert_with(Utc::now);
    if old.checked_at.is_some_and(|prev| prev > at) {
        return Ok(HealthRecorded::Ignored);
    }
    let changed = old.status != health.status || old.findings != health.findings;
    health.since = if old.status == health.status {
        old.since.or(old.checked_at).or(Some(at))
    } else {
        Some(at)
    };
    db.health = health;
    if !changed {
        save_quietly(tx, db).await?;
        return Ok(HealthRecorded::Quiet);
    }
    let (level, message) = health_message(&db.id, &old, &db.health);
    save(
        tx,
        db,
        NewEvent::new(actor, kinds::DATABASE_HEALTH, level, message),
    )
    .await?;
    Ok(HealthRecorded::Changed { from: old.status })
}

/// The event of a health change: the new status with its reason, and what it was.
fn health_message(id: &str, old: &Health, new: &Health) -> (Level, String) {
    let level = match new.status {
        HealthStatus::Healthy => Level::Info,
        HealthStatus::Down => Level::Error,
        _ => Level::Warn,
    };
    let status = new.status.as_str();
    let reason = if new.findings.is_empty() {
        String::new()
    } else {
        format!(": {}", new.findings.join("; "))
    };
    let message = if old.status == new.status {
        if new.findings.is_empty() {
            format!("{id} is {status}; its findings cleared")
        } else {
            format!("{id} is still {status}{reason}")
        }
    } else if old.status == HealthStatus::Unknown && old.checked_at.is_none() {
        format!("{id} is {status}{reason}")
    } else {
        let again = if new.status == HealthStatus::Healthy {
            " again"
        } else {
            ""
        };
        format!(
            "{id} is {status}{again}{reason} (was {})",
            old.status.as_str()
        )
    };
    (level, message)
}

/// Marks `id` unknown since its last reading when that is older than `before`: a
/// reading the control plane could not renew is not the database's health any more.
/// Returns whether it did.
pub async fn expire_health(
    tx: &mut Tx<'_>,
    id: &str,
    before: DateTime<Utc>,
    actor: &str,
    why: &str,
) -> Result<bool, DomainError> {
    let Some(db) = get(tx, id).await? else {
        return Ok(false);
    };
    let h = &db.health;
    if h.status == HealthStatus::Unknown || h.checked_at.is_some_and(|at| at >= before) {
        return Ok(false);
    }
    let last = h.checked_at;
    let message = format!(
        "{} health is unknown: {why}; its last reading ({}) is no longer current",
        db.id,
        h.status.as_str()
    );
    let db = Database {
        health: Health {
            status: HealthStatus::Unknown,
            checked_at: last,
            since: last,
            checked_by: Some(actor.to_string()),
            findings: vec![why.to_string()],
            ..Health::default()
        },
        ..db
    };
    save(
        tx,
        db,
        NewEvent::new(actor, kinds::DATABASE_HEALTH, Level::Warn, message),
    )
    .await?;
    Ok(true)
}

/// Saves `db` with its version bumped and no event (see [`record_health`]).
async fn save_quietly(tx: &mut Tx<'_>, mut db: Database) -> Result<(), DomainError> {
    db.version = next_version(tx, &db.id).await?;
    write(tx, &db).await
}

/// Registers a database from the config, or updates it when the config changed. An
/// unchanged database is left alone (no event, no version bump), so restarting a server
/// does not flood the log.
pub async fn upsert_database(tx: &mut Tx<'_>, db: &Database) -> Result<(), DomainError> {
    let existing = get(tx, &db.id).await?;
    match existing {
        Some(old) if same_config(&old, db) => Ok(()),
        Some(old) => {
            // Observed state (health, version, last patch) stays as the control plane saw
            // it: the config's version is where a database starts, and a campaign that
            // patched it since must not be undone by a restart.
            let merged = Database {
                engine_version: old.engine_version.clone(),
                health: old.health.clone(),
                last_patched_at: old.last_patched_at,
                ..db.clone()
            };
            let msg = format!("{} configuration updated", db.id);
            save(
                tx,
                merged,
                NewEvent::new("config", kinds::DATABASE_REGISTERED, Level::Info, msg),
            )
            .await
            .map(drop)
        }
        None => {
            let msg = format!(
                "{} registered: {} {} {} tier {} ring {}",
                db.id,
                db.engine,
                db.engine_version,
                db.environment.as_str(),
                db.tier,
                db.ring
            );
            save(
                tx,
                db.clone(),
                NewEvent::new("config", kinds::DATABASE_REGISTERED, Level::Info, msg),
            )
            .await
            .map(drop)
        }
    }
}

/// Whether two databases declare the same thing (observed state ignored).
fn same_config(old: &Database, new: &Database) -> bool {
    let strip = |d: &Database| Database {
        engine_version: String::new(),
        health: Default::default(),
        last_patched_at: None,
        version: 0,
        ..d.clone()
    };
    strip(old) == strip(new)
}

/// Loads a generated fleet and its drill history into an empty store: one summary event,
/// not one per database (a demo fleet is hundreds).
pub async fn seed(tx: &mut Tx<'_>, dbs: &[Database], drills: &[Drill]) -> Result<(), DomainError> {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM databases")
        .fetch_one(&mut **tx)
        .await?;
    if count > 0 {
        return Err(DomainError::Conflict(format!(
            "the store already holds {count} databases; a fleet is seeded only into an empty store"
        )));
    }
    for db in dbs {
        write(
            tx,
            &Database {
                version: 1,
                ..db.clone()
            },
        )
        .await?;
    }
    for drill in drills {
        super::drills::insert(tx, drill).await?;
    }
    let prod = dbs
        .iter()
        .filter(|d| d.environment == fleetdeck_api::Environment::Prod)
        .count();
    append(
        tx,
        NewEvent::new(
            "config",
            kinds::DATABASE_REGISTERED,
            Level::Info,
            format!(
                "fleet seeded: {} databases ({prod} in prod), {} past drills",
                dbs.len(),
                drills.len()
            ),
        ),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use fleetdeck_api::HealthStatus;

    use super::*;
    use crate::demo::fleet::generate;
    use crate::store::testing::temp_store;

    /// The snapshot sends the stored documents as they are: after every kind of write
    /// (seeded, saved with a bumped version, re-registered from a changed config) each
    /// must be exactly the database the decoding path reads.
    #[tokio::test]
    async fn stored_documents_are_the_wire_databases_after_every_kind_of_write() {
        let (_dir, store) = temp_store().await;
        let fleet = generate(40, 5, chrono::Utc::now());
        let mut tx = store.begin().await.unwrap();
        seed(&mut tx, &fleet.databases, &fleet.drills)
            .await
            .unwrap();
        store.commit(tx).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let mut changed = get(&mut tx, &fleet.databases[3].id).await.unwrap().unwrap();
        changed.health.status = HealthStatus::Down;
        changed.tags.push("ünïcødé \"quoted\"\n".into());
        let event = || NewEvent::new("t", kinds::DATABASE_REGISTERED, Level::Info, "x");
        let saved = save(&mut tx, changed.clone(), event()).await.unwrap();
        let saved = save(&mut tx, saved, event()).await.unwrap();
        assert_eq!(saved.version, 3);
        let reconfigured = Database {
            owner_team: "other".into(),
            ..fleet.databases[7].clone()
        };
        upsert_database(&mut tx, &reconfigured).await.unwrap();
        store.commit(tx).await.unwrap();

        let mut conn = store.pool().acquire().await.unwrap();
        let decoded = all(&mut conn).await.unwrap();
        let stored: Vec<String> = sqlx::query_scalar("SELECT doc FROM databases ORDER BY ring, id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let docs: Vec<Database> = stored
            .iter()
            .map(|doc| serde_json::from_str(doc).unwrap())
            .collect();
        assert_eq!(docs, decoded);
        let version_of = |id: &str| docs.iter().find(|d| d.id == id).unwrap().version;
        assert_eq!(version_of(&saved.id), 3);
        assert_eq!(version_of(&reconfigured.id), 2);
        assert_eq!(version_of(&fleet.databases[0].id), 1);
    }
}
