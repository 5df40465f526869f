//! Schema migrations, embedded in the binary so a server never runs against a schema it
//! does not know. Applied in order at start and tracked by sqlx in `_sqlx_migrations`;
//! an applied migration whose text changed is refused rather than silently re-run.

use std::borrow::Cow;

use sqlx::SqlitePool;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, sql), oldest first. A new file in `migrations/` gets a line here.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "core", include_str!("../../migrations/0001_core.sql")),
    (
        2,
        "workflows",
        include_str!("../../migrations/0002_workflows.sql"),
    ),
    (
        3,
        "evidence index",
        include_str!("../../migrations/0003_evidence_index.sql"),
    ),
    (
        4,
        "rollback outcomes",
        include_str!("../../migrations/0004_rollback_outcomes.sql"),
    ),
    (
        5,
        "campaign change_ref, done targets index",
        include_str!("../../migrations/0005_campaign_change_ref.sql"),
    ),
    (
        6,
        "campaign state version",
        include_str!("../../migrations/0006_campaign_state_version.sql"),
    ),
    (
        7,
        "drill proof",
        include_str!("../../migrations/0007_drill_proof.sql"),
    ),
];

fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sqlx::SqlSafeStr::into_sql_str(sql),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// Applies every migration not yet applied.
pub(crate) async fn run(pool: &SqlitePool) -> Result<(), String> {
    migrator().run(pool).await.map_err(|e| e.to_string())
}
