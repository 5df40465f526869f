//! The demo fleet: believable databases and a drill history, generated from a seed.
//!
//! Services are spread over regions and environments; each cluster is a primary with
//! 0–2 replicas that share its ring, so replicas can be patched before their primary
//! within one ring. Rings follow risk: dev 0, staging 1, prod tiers 2–3 ring 2, prod
//! tier 1 ring 3. The drill history mixes fresh, aging, stale, failed and missing
//! evidence so every freshness colour shows. Generation is one pass with one seeded
//! generator: the same seed gives the same fleet, and 100 000 databases take well
//! under a second.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use fleetdeck_api::{
    BackupPolicy, Database, DbRole, Drill, DrillState, Environment, Health, HealthStatus,
};

pub const DEFAULT_SIZE: usize = 240;

#[derive(Debug, Clone, PartialEq)]
pub struct DemoFleet {
    pub databases: Vec<Database>,
    /// Finished drills, oldest first.
    pub drills: Vec<Drill>,
}

/// (service, owner team, tags every database of it carries)
const SERVICES: [(&str, &str, &[&str]); 20] = [
    ("orders", "commerce", &[]),
    ("payments", "payments", &["pci"]),
    ("ledger", "payments", &["pci", "sox"]),
    ("billing", "finance-eng", &["sox"]),
    ("catalog", "commerce", &[]),
    ("inventory", "supply-chain", &[]),
    ("shipping", "supply-chain", &[]),
    ("identity", "identity", &["pii"]),
    ("sessions", "identity", &[]),
    ("search", "discovery", &[]),
    ("reviews", "discovery", &["pii"]),
    ("pricing", "commerce", &[]),
    ("fraud", "risk", &["pci"]),
    ("loyalty", "growth", &["pii"]),
    ("notify", "platform", &[]),
    ("audit", "security", &["sox"]),
    ("analytics", "data-platform", &[]),
    ("warehouse", "supply-chain", &[]),
    ("support", "customer-care", &["pii"]),
    ("flags", "platform", &[]),
];

/// (region, short form used in names)
const REGIONS: [(&str, &str); 5] = [
    ("eu-west-1", "euw1"),
    ("eu-central-1", "euc1"),
    ("us-east-1", "use1"),
    ("us-west-2", "usw2"),
    ("ap-southeast-1", "apse1"),
];

const PG_VERSIONS: [&str; 5] = ["16.4", "16.4", "16.3", "15.8", "15.7"];
const MYSQL_VERSIONS: [&str; 4] = ["8.0.39", "8.0.39", "8.0.38", "8.0.37"];

/// The drill interval of a tier, in days.
pub fn drill_interval_days(tier: u8) -> u32 {
    match tier {
        1 => 7,
        2 => 14,
        _ => 30,
    }
}

/// The ring a database belongs in by risk.
pub fn ring_for(environment: Environment, tier: u8) -> u8 {
    match (environment, tier) {
        (Environment::Dev, _) => 0,
        (Environment::Staging, _) => 1,
        (Environment::Prod, 1) => 3,
        _ => 2,
    }
}

fn backup_policy(tier: u8) -> BackupPolicy {
    match tier {
        1 => BackupPolicy {
            schedule: "continuous WAL, base daily 01:00".into(),
            retention_days: 35,
        },
        2 => BackupPolicy {
            schedule: "daily 02:00".into(),
            retention_days: 14,
        },
        _ => BackupPolicy {
            schedule: "daily 03:30".into(),
            retention_days: 7,
        },
    }
}

/// Generates `size` databases and their drill history as of `now`.
pub fn generate(size: usize, seed: u64, now: DateTime<Utc>) -> DemoFleet {
    let mut g = Generator {
        rng: fastrand::Rng::with_seed(seed),
        now,
        counters: HashMap::new(),
        databases: Vec::with_capacity(size),
        drills: Vec::with_capacity(size * 3),
    };
    while g.databases.len() < size {
        g.cluster(size);
    }
    g.drills.sort_by(|a, b| {
        a.started_at
            .cmp(&b.started_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    DemoFleet {
        databases: g.databases,
        drills: g.drills,
    }
}

struct Generator {
    rng: fastrand::Rng,
    now: DateTime<Utc>,
    counters: HashMap<(usize, usize, Environment, bool), u32>,
    databases: Vec<Database>,
    drills: Vec<Drill>,
}

impl Generator {
    /// One primary and its replicas (fewer if the fleet is full).
    fn cluster(&mut self, size: usize) {
        let rng = &mut self.rng;
        let environment = match rng.u32(0..100) {
            0..25 => Environment::Dev,
            25..45 => Environment::Staging,
            _ => Environment::Prod,
        };
        let tier = match (environment, rng.u32(0..100)) {
            (Environment::Prod, 0..30) => 1,
            (Environment::Prod, 30..70) => 2,
            (Environment::Prod, _) => 3,
            (_, 0..15) => 2,
            _ => 3,
        };
        let replicas = match environment {
            Environment::Prod if tier == 1 => 2,
            Environment::Prod => rng.usize(1..=2),
            Environment::Staging => rng.usize(0..=1),
            _ => 0,
        };
        let service = rng.usize(0..SERVICES.len());
        let region = rng.usize(0..REGIONS.len());
        let mysql = rng.u32(0..100) < 35;
        let version = if mysql {
            MYSQL_VERSIONS[rng.usize(0..MYSQL_VERSIONS.len())]
        } else {
            PG_VERSIONS[rng.usize(0..PG_VERSIONS.len())]
        };
        let n = self
            .counters
            .entry((service, region, environment, mysql))
            .or_insert(0);
        *n += 1;
        let env_part = match environment {
            Environment::Prod => "",
            Environment::Staging => "-stg",
            _ => "-dev",
        };
        let primary_id = format!(
            "{}-{}{env_part}-{}-{:02}",
            if mysql { "my" } else { "pg" },
            SERVICES[service].0,
            REGIONS[region].1,
            n
        );
        let last_patched = self.now - Duration::days(self.rng.i64(12..120));
        let base = Database {
            id: primary_id.clone(),
            engine: if mysql { "mysql" } else { "postgres" }.into(),
            engine_version: version.into(),
            environment,
            tier,
            region: REGIONS[region].0.into(),
            owner_team: SERVICES[service].1.into(),
            role: DbRole::Primary,
            primary_id: None,
            ring: ring_for(environment, tier),
            host: String::new(),
            tags: tags(SERVICES[service].2, region, replicas > 0),
            health: Health::default(),
            last_patched_at: Some(last_patched),
            backup_policy: backup_policy(tier),
            drill_interval_days: drill_interval_days(tier),
            version: 1,
        };
        for r in 0..=replicas {
            if self.databases.len() >= size {
                return;
            }
            let mut db = base.clone();
            if r > 0 {
                db.id = format!("{primary_id}-r{r}");
                db.role = DbRole::Replica;
                db.primary_id = Some(primary_id.clone());
            }
            db.host = format!("{}.db.{}.internal", db.id, db.region);
            db.health = self.health(&db);
            self.history(&db);
            self.databases.push(db);
        }
    }

    fn health(&mut self, db: &Database) -> Health {
        let rng = &mut self.rng;
        let connections = match db.tier {
            1 => rng.u32(180..420),
            2 => rng.u32(60..200),
            _ => rng.u32(8..60),
        };
        Health {
            status: HealthStatus::Healthy,
            replication_lag_s: (db.role == DbRole::Replica)
                .then(|| (rng.f64() * 90.0).round() / 100.0),
            connections,
            latency_ms: ((0.6 + rng.f64() * 4.0) * 10.0).round() / 10.0,
            checked_at: Some(self.now - Duration::seconds(rng.i64(5..90))),
            ..Health::default()
        }
    }

    /// The database's drills: the latest decides its freshness, older good ones show
    /// that the habit existed.
    fn history(&mut self, db: &Database) {
        let interval = i64::from(db.drill_interval_days) * 86_400;
        let roll = self.rng.u32(0..100);
        let (latest_age, latest_fails) = match roll {
            // never drilled
            0..4 => return,
            // fresh: within 75 % of the interval
            4..69 => (self.rng.i64(3_600..interval * 3 / 4), false),
            // aging: between 75 % and 100 %
            69..85 => (self.rng.i64(interval * 3 / 4 + 60..interval), false),
            // stale: past the interval, up to three intervals
            85..95 => (self.rng.i64(interval + 3_600..interval * 3), false),
            // failed: the latest drill did not verify
            _ => (self.rng.i64(3_600..interval), true),
        };
        let earlier = self.rng.u32(1..=3);
        for k in (0..=earlier).rev() {
            let jitter = self.rng.i64(0..interval / 10 + 1);
            let age = latest_age + i64::from(k) * interval * 4 / 5 + jitter * i64::from(k.min(1));
            let fails = k == 0 && latest_fails;
            let drill = self.drill(db, self.now - Duration::seconds(age), fails);
            self.drills.push(drill);
        }
    }

    fn drill(&mut self, db: &Database, started_at: DateTime<Utc>, fails: bool) -> Drill {
        let rng = &mut self.rng;
        let restore_seconds = match db.tier {
            1 => 1200.0 + rng.f64() * 1800.0,
            2 => 420.0 + rng.f64() * 900.0,
            _ => 90.0 + rng.f64() * 400.0,
        };
        let restore_seconds = (restore_seconds * 10.0).round() / 10.0;
        let finished_at = started_at + Duration::milliseconds((restore_seconds * 1000.0) as i64);
        let backup_at = started_at - Duration::minutes(rng.i64(30..20 * 60));
        let backup_id = format!(
            "bk-{}-{:04x}",
            backup_at.format("%Y%m%dT%H%MZ"),
            rng.u16(..)
        );
        let recovery_point = started_at - Duration::seconds(rng.i64(20..600));
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        let id = uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string();
        let relations = rng.u32(120..4000);
        let replay = if db.engine == "mysql" {
            "binlog"
        } else {
            "WAL"
        };
        let rp = recovery_point.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut output = format!(
            "drill {}: restored {backup_id} into an isolated instance\ndrill: replayed {replay} to {rp}\n",
            db.id
        );
        let (state, checksum_ok) = if fails && rng.bool() {
            output.push_str(&format!(
                "drill: CHECKSUM MISMATCH in 1 of {relations} relations (first: public.order_items, block 88123)"
            ));
            (DrillState::Failed, Some(false))
        } else if fails {
            output.push_str("drill: restore failed: WAL segment 00000001000000A2000000F3 is missing from the archive");
            (DrillState::Failed, None)
        } else {
            output.push_str(&format!(
                "drill: checksums verified on {relations} relations"
            ));
            (DrillState::Succeeded, Some(true))
        };
        let restored = checksum_ok.is_some();
        Drill {
            id,
            database_id: db.id.clone(),
            state,
            requested_by: "scheduler".into(),
            started_at,
            finished_at: Some(finished_at),
            backup_id: Some(backup_id),
            recovery_point: restored.then_some(recovery_point),
            restore_seconds: restored.then_some(restore_seconds),
            checksum_ok,
            output,
            proof: None,
        }
    }
}

fn tags(service_tags: &[&str], region: usize, replicated: bool) -> Vec<String> {
    let mut tags: Vec<String> = service_tags.iter().map(|t| t.to_string()).collect();
    if REGIONS[region].0.starts_with("eu-") {
        tags.push("gdpr".into());
    }
    if replicated {
        tags.push("ha".into());
    }
    tags
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use chrono::TimeZone;
    use fleetdeck_api::Freshness;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 22, 0, 0).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_fleet() {
        assert_eq!(generate(300, 7, now()), generate(300, 7, now()));
        assert_ne!(
            generate(300, 7, now()).databases,
            generate(300, 8, now()).databases
        );
        assert_eq!(
            generate(DEFAULT_SIZE, 1, now()).databases.len(),
            DEFAULT_SIZE
        );
        assert!(generate(0, 1, now()).databases.is_empty());
    }

    #[test]
    fn fleet_invariants_hold() {
        for seed in 0..20 {
            let fleet = generate(500, seed, now());
            let by_id: HashMap<&str, &Database> =
                fleet.databases.iter().map(|d| (d.id.as_str(), d)).collect();
            assert_eq!(by_id.len(), fleet.databases.len(), "ids are unique");
            for db in &fleet.databases {
                assert_eq!(db.ring, ring_for(db.environment, db.tier), "{}", db.id);
                assert!((1..=3).contains(&db.tier));
                assert_eq!(db.drill_interval_days, drill_interval_days(db.tier));
                assert!(db.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
                match db.role {
                    DbRole::Primary => assert!(db.primary_id.is_none()),
                    DbRole::Replica => {
                        let p = by_id[db.primary_id.as_deref().expect("replica names its primary")];
                        assert_eq!(p.role, DbRole::Primary, "{}", db.id);
                        assert!(p.ring >= db.ring, "{} is patched after its primary", db.id);
                        assert_eq!(p.engine_version, db.engine_version);
                        assert!(db.health.replication_lag_s.is_some());
                    }
                    DbRole::Unknown => panic!("unknown role"),
                }
            }
            let drill_ids: HashSet<&str> = fleet.drills.iter().map(|d| d.id.as_str()).collect();
            assert_eq!(drill_ids.len(), fleet.drills.len(), "drill ids are unique");
            assert!(
                fleet
                    .drills
                    .iter()
                    .all(|d| by_id.contains_key(d.database_id.as_str()))
            );
            assert!(
                fleet
                    .drills
                    .iter()
                    .all(|d| d.finished_at.is_some_and(|f| f <= now()))
            );
        }
    }

    #[test]
    fn the_fleet_covers_every_environment_ring_engine_and_role() {
        let fleet = generate(DEFAULT_SIZE, 1, now());
        let set = |f: fn(&Database) -> String| -> HashSet<String> {
            fleet.databases.iter().map(f).collect()
        };
        assert_eq!(set(|d| d.environment.as_str().into()).len(), 3);
        assert_eq!(set(|d| d.ring.to_string()).len(), 4);
        assert_eq!(set(|d| d.engine.clone()).len(), 2);
        assert_eq!(set(|d| d.role.as_str().into()).len(), 2);
        assert_eq!(set(|d| d.tier.to_string()).len(), 3);
    }

    #[test]
    fn evidence_has_the_whole_mix_of_freshness() {
        let fleet = generate(DEFAULT_SIZE, 1, now());
        let mut latest: HashMap<&str, &Drill> = HashMap::new();
        let mut last_good: HashMap<&str, DateTime<Utc>> = HashMap::new();
        for d in &fleet.drills {
            latest.insert(&d.database_id, d);
            if d.state == DrillState::Succeeded {
                last_good.insert(&d.database_id, d.finished_at.unwrap());
            }
        }
        let mut counts: HashMap<Freshness, usize> = HashMap::new();
        for db in &fleet.databases {
            let f = Freshness::judge(
                latest.get(db.id.as_str()).copied(),
                last_good.get(db.id.as_str()).copied(),
                db.drill_interval_days,
                now(),
            );
            *counts.entry(f).or_default() += 1;
        }
        let n = |f| counts.get(&f).copied().unwrap_or(0);
        let total = fleet.databases.len();
        assert!(
            n(Freshness::Fresh) * 2 > total,
            "most evidence is fresh: {counts:?}"
        );
        for f in [
            Freshness::Aging,
            Freshness::Stale,
            Freshness::Failed,
            Freshness::Never,
        ] {
            assert!(n(f) >= 3, "{f:?} is represented: {counts:?}");
            assert!(n(f) * 5 < total, "{f:?} is a minority: {counts:?}");
        }
    }

    #[test]
    fn a_hundred_thousand_databases_generate_quickly() {
        let start = std::time::Instant::now();
        let fleet = generate(100_000, 3, now());
        assert_eq!(fleet.databases.len(), 100_000);
        let ids: HashSet<&str> = fleet.databases.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids.len(), 100_000);
        // Unoptimised test builds are slow; this bounds a regression, not a benchmark.
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }
}
