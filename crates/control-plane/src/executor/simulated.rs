//! The simulated fleet: the demo's executor and the workflows' test double.
//!
//! It behaves like a fleet seen through an executor: operations take time (tens of
//! simulated seconds for a patch, minutes for a restore drill, divided by `time_scale`),
//! print believable output as they go, and change an in-memory picture of each
//! database's actual version and health. Every random choice is drawn from a generator
//! seeded by (seed, database, operation, call number), so a run is repeatable however
//! the calls interleave. Scripted situations (failing patches, degraded health, lagging
//! replicas, failed drills, failed rollbacks) come from [`SimConfig`]: tests set them
//! directly, the demo takes [`SimConfig::scripted`].

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use fleetdeck_api::{Database, DbRole, Environment, Health, HealthStatus};
use tokio::time::Instant;

use super::sim_script::{self, DrillFacts, Step};
use super::{BoxFuture, DrillOutcome, ExecError, Executor, LogSink};

/// Simulated seconds over which a lag spike after a patch drains away.
pub const LAG_DRAIN_SIM_SECONDS: f64 = 600.0;

#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    /// Simulated seconds per real second: 1.0 is real time, 20.0 makes a demo move,
    /// 10 000 makes a test take milliseconds.
    pub time_scale: f64,
    /// Prechecks of these databases fail (disk nearly full).
    pub fail_precheck: HashSet<String>,
    /// Patches of these databases fail; the version stays.
    pub fail_patch: HashSet<String>,
    /// After a patch these databases report degraded health until rolled back.
    pub degrade_after_patch: HashSet<String>,
    /// After a patch these replicas lag by up to this many seconds, draining over
    /// [`LAG_DRAIN_SIM_SECONDS`] of simulated time.
    pub lag_after_patch: HashMap<String, f64>,
    /// Rollbacks of these databases fail; the new version stays (a reconcile mismatch).
    pub fail_rollback: HashSet<String>,
    /// Restore drills of these databases finish with a checksum mismatch.
    pub drill_fails: HashSet<String>,
    /// When set, every precheck, patch, rollback and drill call is appended to this
    /// file (`OPERATION DATABASE`, one line each, synced) before it starts, so a harness
    /// that kills and restarts the server can count calls across restarts ("no target
    /// was patched twice"); see [`read_call_log`]. Health and version reads are not
    /// recorded.
    pub call_log: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            time_scale: 1.0,
            fail_precheck: HashSet::new(),
            fail_patch: HashSet::new(),
            degrade_after_patch: HashSet::new(),
            lag_after_patch: HashMap::new(),
            fail_rollback: HashSet::new(),
            drill_fails: HashSet::new(),
            call_log: None,
        }
    }
}

impl SimConfig {
    /// The demo's situations, picked from `fleet` by `seed`. Trouble is concentrated
    /// on one engine, the one whose name sorts first (mysql in the generated fleet:
    /// the demo driver's first campaign patches it), so campaigns of that engine show
    /// a failed gate and what follows, and campaigns of the others run clean into the
    /// production rings and their approvals:
    /// - in its ring 1 (staging) one patch fails, two databases degrade after their
    ///   patch and one replica lags far past any sane limit, so its campaign fails the
    ///   ring-1 gate and pauses;
    /// - one of its ring-0 databases cannot be rolled back, so a rollback that follows
    ///   ends with a reconcile mismatch;
    /// - across engines, a few prod replicas lag visibly (below the default 30 s
    ///   limit) after a patch, and about one drill in twenty-five ends in a checksum
    ///   mismatch.
    pub fn scripted(seed: u64, time_scale: f64, fleet: &[Database]) -> SimConfig {
        let mut rng = fastrand::Rng::with_seed(mix(seed, 0x5c21_97ed));
        let mut cfg = SimConfig {
            seed,
            time_scale,
            ..SimConfig::default()
        };
        let troubled = fleet
            .iter()
            .map(|d| d.engine.as_str())
            .min()
            .unwrap_or_default();
        let is_troubled = |d: &&Database| d.engine == troubled;
        let pick = |rng: &mut fastrand::Rng, pool: Vec<&Database>, n: usize| -> Vec<String> {
            rng.choose_multiple(pool, n)
                .into_iter()
                .map(|d| d.id.clone())
                .collect()
        };

        let ring1: Vec<&Database> = fleet
            .iter()
            .filter(is_troubled)
            .filter(|d| d.ring == 1)
            .collect();
        let (replicas, primaries): (Vec<&Database>, Vec<&Database>) =
            ring1.into_iter().partition(|d| d.role == DbRole::Replica);
        let mut troubled = pick(&mut rng, primaries, 3).into_iter();
        cfg.fail_patch.extend(troubled.next());
        cfg.degrade_after_patch.extend(troubled);
        for id in pick(&mut rng, replicas, 1) {
            cfg.lag_after_patch.insert(id, 95.0);
        }

        let ring0: Vec<&Database> = fleet
            .iter()
            .filter(is_troubled)
            .filter(|d| d.ring == 0)
            .collect();
        cfg.fail_rollback.extend(pick(&mut rng, ring0, 1));

        let prod_replicas: Vec<&Database> = fleet
            .iter()
            .filter(|d| d.environment == Environment::Prod && d.role == DbRole::Replica)
            .collect();
        let n = (prod_replicas.len() / 10).clamp(1, 12);
        for id in pick(&mut rng, prod_replicas, n) {
            let peak = 8.0 + rng.f64() * 16.0;
            cfg.lag_after_patch.insert(id, peak);
        }

        let all: Vec<&Database> = fleet.iter().collect();
        let n = fleet.len().div_ceil(25);
        cfg.drill_fails.extend(pick(&mut rng, all, n));
        cfg
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Precheck,
    Patch,
    Rollback,
    Health,
    Drill,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Precheck => "precheck",
            Op::Patch => "patch",
            Op::Rollback => "rollback",
            Op::Health => "health",
            Op::Drill => "drill",
        }
    }

    fn salt(self) -> u64 {
        match self {
            Op::Precheck => 0x7072_6563,
            Op::Patch => 0x7061_7463,
            Op::Rollback => 0x726f_6c6c,
            Op::Health => 0x6865_616c,
            Op::Drill => 0x6472_696c,
        }
    }
}

/// What the simulation knows about one database beyond its declaration.
#[derive(Debug, Clone)]
struct SimDb {
    version: String,
    patched_at: Option<Instant>,
}

#[derive(Default)]
struct State {
    dbs: HashMap<String, SimDb>,
    calls: HashMap<(String, Op), u32>,
}

pub struct SimulatedExecutor {
    config: Mutex<SimConfig>,
    state: Mutex<State>,
}

impl SimulatedExecutor {
    pub fn new(config: SimConfig) -> SimulatedExecutor {
        SimulatedExecutor {
            config: Mutex::new(config),
            state: Mutex::new(State::default()),
        }
    }

    /// Changes the scripted situations of a running simulation (tests).
    pub fn update_config(&self, f: impl FnOnce(&mut SimConfig)) {
        f(&mut lock(&self.config));
    }

    pub fn config(&self) -> SimConfig {
        lock(&self.config).clone()
    }

    pub fn precheck_calls(&self, db_id: &str) -> u32 {
        self.calls(db_id, Op::Precheck)
    }

    pub fn patch_calls(&self, db_id: &str) -> u32 {
        self.calls(db_id, Op::Patch)
    }

    pub fn rollback_calls(&self, db_id: &str) -> u32 {
        self.calls(db_id, Op::Rollback)
    }

    pub fn drill_calls(&self, db_id: &str) -> u32 {
        self.calls(db_id, Op::Drill)
    }

    /// Makes the actual version drift from the declared one (tests of reconcile).
    pub fn force_version(&self, db_id: &str, version: &str) {
        lock(&self.state).dbs.insert(
            db_id.to_string(),
            SimDb {
                version: version.to_string(),
                patched_at: None,
            },
        );
    }

    fn calls(&self, db_id: &str, op: Op) -> u32 {
        let state = lock(&self.state);
        state
            .calls
            .get(&(db_id.to_string(), op))
            .copied()
            .unwrap_or(0)
    }

    /// Counts (and, with a call log, records) the call; returns its generator.
    fn begin(&self, db: &Database, op: Op) -> Result<fastrand::Rng, ExecError> {
        let call_log = lock(&self.config).call_log.clone();
        if let Some(path) = call_log.filter(|_| op != Op::Health) {
            record_call(&path, op, &db.id).map_err(|e| {
                ExecError::new(format!(
                    "cannot record the {} call in {}: {e}",
                    op.name(),
                    path.display()
                ))
            })?;
        }
        let n = {
            let mut state = lock(&self.state);
            let n = state.calls.entry((db.id.clone(), op)).or_insert(0);
            *n += 1;
            *n
        };
        let seed = lock(&self.config).seed;
        Ok(fastrand::Rng::with_seed(mix(
            mix(mix(seed, fnv1a(db.id.as_bytes())), op.salt()),
            u64::from(n),
        )))
    }

    fn sim(&self, db: &Database) -> SimDb {
        lock(&self.state)
            .dbs
            .get(&db.id)
            .cloned()
            .unwrap_or_else(|| SimDb {
                version: db.engine_version.clone(),
                patched_at: None,
            })
    }

    fn set_sim(&self, db: &Database, version: &str, patched_at: Option<Instant>) {
        lock(&self.state).dbs.insert(
            db.id.clone(),
            SimDb {
                version: version.to_string(),
                patched_at,
            },
        );
    }

    fn scripted(&self, f: impl FnOnce(&SimConfig) -> bool) -> bool {
        f(&lock(&self.config))
    }

    fn real(&self, sim_seconds: f64) -> Duration {
        let scale = lock(&self.config).time_scale;
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        Duration::from_secs_f64((sim_seconds / scale).max(0.0))
    }

    /// Prints `steps` to `log` as the operation's `sim_seconds` elapse.
    async fn narrate(&self, log: &LogSink, steps: &[Step], sim_seconds: f64) -> Vec<String> {
        let start = Instant::now();
        let total = self.real(sim_seconds);
        let mut printed = Vec::with_capacity(steps.len());
        for s in steps {
            tokio::time::sleep_until(start + total.mul_f64(s.at.clamp(0.0, 1.0))).await;
            log.line(s.level, &s.text);
            printed.push(s.text.clone());
        }
        tokio::time::sleep_until(start + total).await;
        printed
    }

    fn lag(&self, db: &Database, sim: &SimDb, rng: &mut fastrand::Rng) -> Option<f64> {
        if db.role != DbRole::Replica {
            return None;
        }
        let base = 0.05 + rng.f64() * 0.9;
        let peak = lock(&self.config).lag_after_patch.get(&db.id).copied();
        let spike = match (peak, sim.patched_at) {
            (Some(peak), Some(at)) => {
                let scale = lock(&self.config).time_scale.max(f64::MIN_POSITIVE);
                let elapsed_sim = at.elapsed().as_secs_f64() * scale;
                peak * (1.0 - elapsed_sim / LAG_DRAIN_SIM_SECONDS).max(0.0)
            }
            _ => 0.0,
        };
        Some(((base + spike) * 100.0).round() / 100.0)
    }
}

fn record_call(path: &Path, op: Op, db_id: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // One write per line: appends from concurrent calls do not interleave.
    file.write_all(format!("{} {db_id}\n", op.name()).as_bytes())?;
    file.sync_data()
}

/// Counts the calls in a [`SimConfig::call_log`] file: `(operation, database) -> calls`.
pub fn read_call_log(path: &Path) -> std::io::Result<HashMap<(String, String), u32>> {
    let text = std::fs::read_to_string(path)?;
    let mut counts = HashMap::new();
    for line in text.lines() {
        if let Some((op, id)) = line.split_once(' ') {
            *counts.entry((op.to_string(), id.to_string())).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps half-updated in a way that
    // matters more than stopping the simulation would.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// splitmix64 finaliser over a combination: a stable mixing function.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b
        .wrapping_add(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(a << 6)
        .wrapping_add(a >> 2);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a: a hash of a database id that does not change between Rust releases.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Executor for SimulatedExecutor {
    fn name(&self) -> &str {
        "simulated"
    }

    fn precheck<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            let mut rng = self.begin(db, Op::Precheck)?;
            let fails = self.scripted(|c| c.fail_precheck.contains(&db.id));
            let disk_free = if fails {
                rng.u32(3..8)
            } else {
                rng.u32(24..71)
            };
            let actual = self.sim(db).version;
            let steps = sim_script::precheck(db, &actual, to_version, disk_free);
            self.narrate(&log, &steps, 4.0 + rng.f64() * 8.0).await;
            if fails {
                let message = sim_script::precheck_failure(disk_free);
                log.error(format!("precheck: {message}"));
                return Err(ExecError::new(message));
            }
            log.info("precheck: ok");
            Ok(())
        })
    }

    fn patch<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            let mut rng = self.begin(db, Op::Patch)?;
            let from = self.sim(db).version;
            let seconds = 25.0 + rng.f64() * 50.0 + f64::from(3 - db.tier.min(3)) * 10.0;
            if self.scripted(|c| c.fail_patch.contains(&db.id)) {
                let (steps, message) = sim_script::patch_failure(db, to_version);
                self.narrate(&log, &steps, seconds * 0.7).await;
                log.error(format!("patch: {message}"));
                return Err(ExecError::new(message));
            }
            let steps = sim_script::patch(db, &from, to_version);
            self.narrate(&log, &steps, seconds).await;
            self.set_sim(db, to_version, Some(Instant::now()));
            Ok(())
        })
    }

    fn rollback<'a>(
        &'a self,
        db: &'a Database,
        to_version: &'a str,
        log: LogSink,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            let mut rng = self.begin(db, Op::Rollback)?;
            let from = self.sim(db).version;
            let seconds = 20.0 + rng.f64() * 40.0;
            if self.scripted(|c| c.fail_rollback.contains(&db.id)) {
                let (steps, message) = sim_script::rollback_failure(db);
                self.narrate(&log, &steps, seconds * 0.5).await;
                log.error(format!("rollback: {message}"));
                return Err(ExecError::new(message));
            }
            let steps = sim_script::rollback(db, &from, to_version);
            self.narrate(&log, &steps, seconds).await;
            self.set_sim(db, to_version, None);
            Ok(())
        })
    }

    fn health<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<Health, ExecError>> {
        Box::pin(async move {
            let mut rng = self.begin(db, Op::Health)?;
            tokio::time::sleep(self.real(0.05 + rng.f64() * 0.2)).await;
            let sim = self.sim(db);
            let degraded = sim.patched_at.is_some()
                && self.scripted(|c| c.degrade_after_patch.contains(&db.id));
            let busy = match db.tier {
                1 => 180..420,
                2 => 60..200,
                _ => 8..60,
            };
            let (status, latency_ms) = if degraded {
                (HealthStatus::Degraded, 250.0 + rng.f64() * 650.0)
            } else {
                (HealthStatus::Healthy, 0.6 + rng.f64() * 4.0)
            };
            Ok(Health {
                status,
                replication_lag_s: self.lag(db, &sim, &mut rng),
                connections: rng.u32(busy),
                latency_ms: (latency_ms * 10.0).round() / 10.0,
                checked_at: Some(Utc::now()),
                ..Health::default()
            })
        })
    }

    fn actual_version<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, Result<String, ExecError>> {
        Box::pin(async move { Ok(self.sim(db).version) })
    }

    fn restore_drill<'a>(
        &'a self,
        db: &'a Database,
        log: LogSink,
    ) -> BoxFuture<'a, Result<DrillOutcome, ExecError>> {
        Box::pin(async move {
            let mut rng = self.begin(db, Op::Drill)?;
            let n = self.drill_calls(&db.id);
            let (size_gib, restore_seconds) = match db.tier {
                1 => (300.0 + rng.f64() * 900.0, 1200.0 + rng.f64() * 1800.0),
                2 => (60.0 + rng.f64() * 300.0, 420.0 + rng.f64() * 900.0),
                _ => (5.0 + rng.f64() * 60.0, 90.0 + rng.f64() * 400.0),
            };
            let restore_seconds = (restore_seconds * 10.0).round() / 10.0;
            let now = Utc::now();
            let backup_at = now - chrono::Duration::minutes(rng.i64(30..20 * 60));
            let recovery_point = now - chrono::Duration::seconds(rng.i64(20..600));
            let backup_id = format!(
                "bk-{}-{:04x}",
                backup_at.format("%Y%m%dT%H%MZ"),
                rng.u16(..)
            );
            let checksum_ok = !self.scripted(|c| c.drill_fails.contains(&db.id));
            let sandbox = format!("drill-{}-{n}", db.id);
            let rp = recovery_point.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let facts = DrillFacts {
                sandbox: &sandbox,
                backup_id: &backup_id,
                size_gib,
                recovery_point: &rp,
                relations: rng.u32(120..4000),
                checksum_ok,
            };
            let steps = sim_script::drill(db, &facts);
            let printed = self.narrate(&log, &steps, restore_seconds).await;
            Ok(DrillOutcome {
                backup_id,
                recovery_point: Some(recovery_point),
                restore_seconds,
                checksum_ok,
                output: printed.join("\n"),
                proof: fleetdeck_api::DrillProof::default(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixing_is_stable() {
        assert_eq!(fnv1a(b"pg-orders-euw1-01"), fnv1a(b"pg-orders-euw1-01"));
        assert_ne!(mix(1, 2), mix(2, 1));
    }
}
