//! A drill's proof in its two columns: the small fields as one JSON object (`proof`),
//! the checks as a JSON array (`checks`), which fleet-wide evidence leaves out.

use fleetdeck_api::{DrillCheck, DrillProof};

use crate::DomainError;

/// The proof's columns: (`proof`, `checks`), NULL for what there is not.
pub(super) fn write(
    proof: Option<&DrillProof>,
) -> Result<(Option<String>, Option<String>), DomainError> {
    let Some(proof) = proof else {
        return Ok((None, None));
    };
    let checks = if proof.checks.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&proof.checks)?)
    };
    let small = DrillProof {
        checks: Vec::new(),
        ..proof.clone()
    };
    Ok((Some(serde_json::to_string(&small)?), checks))
}

/// The proof read back from its columns (see [`write`]); rows from before the proof
/// existed have neither.
pub(super) fn read(
    proof: Option<String>,
    checks: Option<String>,
) -> Result<Option<DrillProof>, DomainError> {
    let Some(proof) = proof else {
        return Ok(None);
    };
    let mut proof: DrillProof = serde_json::from_str(&proof)?;
    if let Some(checks) = checks {
        proof.checks = serde_json::from_str::<Vec<DrillCheck>>(&checks)?;
    }
    Ok(Some(proof))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use fleetdeck_api::{Drill, DrillState};

    use super::*;
    use crate::store::drills::{get, insert};
    use crate::store::testing::temp_store;

    fn drill(id: &str, proof: Option<DrillProof>) -> Drill {
        Drill {
            id: id.into(),
            database_id: "db".into(),
            state: DrillState::Failed,
            requested_by: "scheduler".into(),
            started_at: Utc::now(),
            finished_at: None,
            backup_id: None,
            recovery_point: None,
            restore_seconds: None,
            checksum_ok: Some(false),
            output: String::new(),
            proof,
        }
    }

    #[tokio::test]
    async fn a_proof_reads_back_whole_and_an_old_row_reads_without_one() {
        let (_dir, store) = temp_store().await;
        let mut conn = store.pool().acquire().await.unwrap();
        let proof = DrillProof {
            backup_label: Some("20260101-000000F".into()),
            timeline: Some(2),
            checks: vec![DrillCheck {
                name: "pg_checksums".into(),
                passed: false,
                detail: "checksum verification failed in file base/5/16384".into(),
            }],
            ..DrillProof::default()
        };
        let with = drill("with", Some(proof));
        insert(&mut conn, &with).await.unwrap();
        let back = get(&mut conn, "with").await.unwrap().unwrap();
        assert_eq!(back.proof, with.proof);
        // A row written before the proof columns existed: both NULL.
        sqlx::query(
            "INSERT INTO drills (id, database_id, state, requested_by, started_at) \
             VALUES ('old', 'db', 'succeeded', 'scheduler', '2026-01-01T00:00:00.000000Z')",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        let old = get(&mut conn, "old").await.unwrap().unwrap();
        assert_eq!(old.proof, None);
        assert_eq!(old.state, DrillState::Succeeded);
    }
}
