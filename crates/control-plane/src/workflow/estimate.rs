//! How long a plan may take, from the history of finished targets and bakes. Time spent
//! waiting for people (approvals) is not counted: nobody can say how long it is.

use fleetdeck_api::{GateSettings, PlanEstimate};
use sqlx::SqliteConnection;

use crate::DomainError;
use crate::store::history;

/// The middle of the samples (the mean of the two middle ones for an even count).
fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    Some(if xs.len().is_multiple_of(2) {
        (xs[mid - 1] + xs[mid]) / 2.0
    } else {
        xs[mid]
    })
}

/// The estimate for rings of `waves_per_ring` waves each, under `gate`.
pub async fn estimate(
    conn: &mut SqliteConnection,
    waves_per_ring: &[u32],
    gate: &GateSettings,
) -> Result<PlanEstimate, DomainError> {
    let targets = history::target_seconds(conn).await?;
    // A past bake against the bake its campaign asked for: the ratio carries the
    // server's time scale (and any slowness of the bake step) over to this gate.
    let ratios: Vec<f64> = history::bakes(conn)
        .await?
        .into_iter()
        .filter_map(|(ran, gate)| {
            let asked = serde_json::from_str::<GateSettings>(&gate)
                .ok()?
                .bake_seconds;
            (asked > 0).then(|| ran / asked as f64)
        })
        .collect();
    Ok(compute(targets, ratios, waves_per_ring, gate))
}

/// The estimate of a plan made to start at once, which nobody reads.
pub fn not_made(gate: &GateSettings) -> PlanEstimate {
    PlanEstimate {
        seconds: None,
        target_seconds: None,
        target_samples: 0,
        bake_seconds: gate.bake_seconds as f64,
        bake_samples: 0,
        basis: "not estimated: planned to start at once".into(),
    }
}

fn compute(
    targets: Vec<f64>,
    bake_ratios: Vec<f64>,
    waves_per_ring: &[u32],
    gate: &GateSettings,
) -> PlanEstimate {
    let target_samples = targets.len() as u32;
    let bake_samples = bake_ratios.len() as u32;
    let target = median(targets);
    let bake =
        median(bake_ratios).map_or(gate.bake_seconds as f64, |r| r * gate.bake_seconds as f64);
    let rings = waves_per_ring.len();
    let waves: u32 = waves_per_ring.iter().sum();
    let bake_words = if bake_samples == 0 {
        format!(
            "the gate's bake of {} s per ring (no bake has finished yet)",
            gate.bake_seconds
        )
    } else {
        format!("a bake of {bake:.0} s per ring as {bake_samples} past bake(s) ran")
    };
    let (seconds, basis) = match target {
        Some(t) => (
            Some((waves as f64 * t + rings as f64 * bake).round() as u64),
            format!(
                "{waves} wave(s) of targets at the median {t:.1} s of {target_samples} finished target(s), \
                 plus {bake_words}; waiting for approvals not included"
            ),
        ),
        None => (
            None,
            format!(
                "no history: no target has finished yet, so only the bakes are known: {bake_words}"
            ),
        ),
    };
    PlanEstimate {
        seconds,
        target_seconds: target,
        target_samples,
        bake_seconds: bake,
        bake_samples,
        basis,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_from_the_median_and_says_when_there_is_no_history() {
        let gate = GateSettings {
            bake_seconds: 300,
            ..GateSettings::default()
        };
        let e = compute(vec![10.0, 30.0, 20.0, 1000.0], vec![0.5], &[2, 1], &gate);
        assert_eq!(e.target_seconds, Some(25.0));
        assert_eq!(e.bake_seconds, 150.0);
        assert_eq!(e.seconds, Some(3 * 25 + 2 * 150));
        let none = compute(vec![], vec![], &[1], &gate);
        assert_eq!(none.seconds, None);
        assert!(none.basis.starts_with("no history"), "{}", none.basis);
        assert!(none.basis.contains("300 s"), "{}", none.basis);
    }
}
