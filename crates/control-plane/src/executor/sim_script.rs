//! What the simulated fleet prints: believable output for each operation, per engine,
//! with the share of the operation's duration after which each line appears.

use fleetdeck_api::{Database, DbRole, Level};

/// One line of narration: it appears once `at` (0..=1) of the operation has elapsed.
pub(crate) struct Step {
    pub at: f64,
    pub level: Level,
    pub text: String,
}

fn step(at: f64, text: impl Into<String>) -> Step {
    Step {
        at,
        level: Level::Info,
        text: text.into(),
    }
}

fn warn(at: f64, text: impl Into<String>) -> Step {
    Step {
        at,
        level: Level::Warn,
        text: text.into(),
    }
}

fn major(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

fn is_mysql(db: &Database) -> bool {
    db.engine.eq_ignore_ascii_case("mysql")
}

pub(crate) fn precheck(db: &Database, actual: &str, to: &str, disk_free: u32) -> Vec<Step> {
    let data_dir = if is_mysql(db) {
        "/var/lib/mysql".to_string()
    } else {
        format!("/var/lib/postgresql/{}/main", major(actual))
    };
    let mut steps = vec![
        step(
            0.05,
            format!("precheck: connecting to {} as fleetdeck", db.host),
        ),
        step(
            0.25,
            format!("precheck: running {} {actual}, target {to}", db.engine),
        ),
        step(
            0.45,
            format!("precheck: disk free {disk_free}% on {data_dir}"),
        ),
    ];
    if db.role == DbRole::Replica {
        steps.push(step(
            0.65,
            "precheck: replica streaming, receive and replay positions within 1 MiB",
        ));
    } else {
        steps.push(step(
            0.65,
            "precheck: no long-running transactions (longest 0.4 s)",
        ));
    }
    steps.push(step(0.85, "precheck: last base backup within RPO"));
    if actual == to {
        steps.push(warn(
            0.95,
            format!("precheck: already at {to}; the patch will be a no-op"),
        ));
    }
    steps
}

pub(crate) fn precheck_failure(disk_free: u32) -> String {
    format!("disk free {disk_free}% on the data volume; the patch needs at least 15%")
}

pub(crate) fn patch(db: &Database, from: &str, to: &str) -> Vec<Step> {
    let mut steps = vec![step(
        0.0,
        format!("patch {}: {from} -> {to} on {}", db.id, db.host),
    )];
    if is_mysql(db) {
        steps.extend(mysql_patch(db, from, to));
    } else if major(from) != major(to) {
        steps.extend(pg_upgrade(from, to));
    } else {
        steps.extend(pg_minor(db, from, to));
    }
    steps.push(step(
        1.0,
        format!("patch {}: now running {} {to}", db.id, db.engine),
    ));
    steps
}

fn pg_minor(db: &Database, from: &str, to: &str) -> Vec<Step> {
    let m = major(to);
    let mut steps = Vec::new();
    if db.role == DbRole::Replica {
        steps.push(step(0.05, "replica: pausing WAL replay"));
    } else {
        steps.push(step(0.05, "primary: CHECKPOINT before restart"));
    }
    steps.extend([
        step(
            0.15,
            format!("apt-get install -y postgresql-{m}={to}-1.pgdg22.04+1"),
        ),
        step(
            0.35,
            format!(
                "Unpacking postgresql-{m} ({to}-1.pgdg22.04+1) over ({from}-1.pgdg22.04+1) ..."
            ),
        ),
        step(
            0.5,
            format!("Setting up postgresql-{m} ({to}-1.pgdg22.04+1) ..."),
        ),
        step(0.6, format!("pg_ctlcluster {m} main stop -m fast")),
        step(0.7, "waiting for server to shut down.... done"),
        step(0.78, format!("pg_ctlcluster {m} main start")),
        step(0.9, "waiting for server to start.... done"),
        step(
            0.95,
            format!("SELECT version(): PostgreSQL {to} on x86_64-pc-linux-gnu"),
        ),
    ]);
    if db.role == DbRole::Replica {
        steps.push(step(0.97, "replica: WAL replay resumed"));
    }
    steps
}

fn pg_upgrade(from: &str, to: &str) -> Vec<Step> {
    let (old, new) = (major(from), major(to));
    vec![
        step(0.05, format!("apt-get install -y postgresql-{new}")),
        step(0.15, format!("pg_ctlcluster {old} main stop -m fast")),
        step(0.2, "pg_upgrade: Performing Consistency Checks"),
        step(
            0.25,
            "pg_upgrade: Checking cluster versions                                   ok",
        ),
        step(
            0.3,
            "pg_upgrade: Checking database user is the install user               ok",
        ),
        step(
            0.35,
            "pg_upgrade: Checking for prepared transactions                       ok",
        ),
        step(
            0.4,
            "pg_upgrade: Checking for incompatible polymorphic functions           ok",
        ),
        step(0.5, "pg_upgrade: Performing Upgrade"),
        step(0.6, "pg_upgrade: Linking user relation files"),
        step(
            0.75,
            "pg_upgrade: Setting next OID for new cluster                         ok",
        ),
        step(0.8, "pg_upgrade: Upgrade Complete"),
        step(0.85, format!("pg_ctlcluster {new} main start")),
        step(0.9, "vacuumdb --all --analyze-in-stages"),
        step(
            0.95,
            format!("SELECT version(): PostgreSQL {to} on x86_64-pc-linux-gnu"),
        ),
    ]
}

fn mysql_patch(db: &Database, from: &str, to: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    if db.role == DbRole::Replica {
        steps.push(step(0.05, "mysql> STOP REPLICA SQL_THREAD;"));
    } else {
        steps.push(step(0.05, "mysql> SET GLOBAL innodb_fast_shutdown = 0;"));
    }
    let compact = |v: &str| v.split('.').map(|p| format!("{p:0>2}")).collect::<String>();
    steps.extend([
        step(0.15, "systemctl stop mysqld"),
        step(0.3, format!("dnf install -y mysql-community-server-{to}")),
        step(
            0.45,
            format!("Upgrading: mysql-community-server {from} -> {to}"),
        ),
        step(0.6, "systemctl start mysqld"),
        step(
            0.75,
            format!(
                "[System] [MY-013381] [Server] Server upgrade from '{}' to '{}' started.",
                compact(from),
                compact(to)
            ),
        ),
        step(
            0.88,
            format!(
                "[System] [MY-013381] [Server] Server upgrade from '{}' to '{}' completed.",
                compact(from),
                compact(to)
            ),
        ),
        step(
            0.95,
            format!("mysqld: ready for connections. Version: '{to}'  port: 3306"),
        ),
    ]);
    if db.role == DbRole::Replica {
        steps.push(step(0.97, "mysql> START REPLICA SQL_THREAD;"));
    }
    steps
}

/// The failure a scripted patch ends in, and the lines leading to it.
pub(crate) fn patch_failure(db: &Database, to: &str) -> (Vec<Step>, String) {
    if is_mysql(db) {
        (
            vec![
                step(0.1, "systemctl stop mysqld"),
                step(0.3, format!("dnf install -y mysql-community-server-{to}")),
                step(0.5, "systemctl start mysqld"),
                warn(0.7, "[ERROR] [MY-012526] [InnoDB] Upgrade after a crash is not supported."),
                warn(0.8, "[ERROR] [MY-010119] [Server] Aborting"),
            ],
            "mysqld did not start after the upgrade (InnoDB: upgrade after a crash is not supported)".into(),
        )
    } else {
        let m = major(to);
        (
            vec![
                step(
                    0.1,
                    format!("apt-get install -y postgresql-{m}={to}-1.pgdg22.04+1"),
                ),
                step(0.4, format!("pg_ctlcluster {m} main restart")),
                warn(
                    0.6,
                    "FATAL:  could not load library \"/usr/lib/postgresql/lib/pg_stat_statements.so\": undefined symbol",
                ),
                warn(0.7, "pg_ctl: could not start server"),
            ],
            "postgres did not start after the upgrade (pg_stat_statements does not load)".into(),
        )
    }
}

pub(crate) fn rollback(db: &Database, from: &str, to: &str) -> Vec<Step> {
    let mut steps = vec![step(
        0.0,
        format!("rollback {}: {from} -> {to} on {}", db.id, db.host),
    )];
    if is_mysql(db) {
        steps.extend([
            step(0.2, "systemctl stop mysqld"),
            step(0.4, format!("dnf downgrade -y mysql-community-server-{to}")),
            step(0.7, "systemctl start mysqld"),
            step(
                0.9,
                format!("mysqld: ready for connections. Version: '{to}'  port: 3306"),
            ),
        ]);
    } else {
        let m = major(to);
        steps.extend([
            step(0.2, format!("pg_ctlcluster {m} main stop -m fast")),
            step(
                0.4,
                format!("apt-get install -y --allow-downgrades postgresql-{m}={to}-1.pgdg22.04+1"),
            ),
            step(0.7, format!("pg_ctlcluster {m} main start")),
            step(
                0.9,
                format!("SELECT version(): PostgreSQL {to} on x86_64-pc-linux-gnu"),
            ),
        ]);
    }
    steps.push(step(
        1.0,
        format!("rollback {}: now running {} {to}", db.id, db.engine),
    ));
    steps
}

pub(crate) fn rollback_failure(db: &Database) -> (Vec<Step>, String) {
    (
        vec![
            step(0.2, "package manager: downgrade requested"),
            warn(
                0.6,
                "package manager: the previous package is no longer in the mirror",
            ),
        ],
        format!(
            "the previous {} package is not available; {} still runs the new version",
            db.engine, db.id
        ),
    )
}

pub(crate) struct DrillFacts<'a> {
    pub sandbox: &'a str,
    pub backup_id: &'a str,
    pub size_gib: f64,
    pub recovery_point: &'a str,
    pub relations: u32,
    pub checksum_ok: bool,
}

pub(crate) fn drill(db: &Database, f: &DrillFacts<'_>) -> Vec<Step> {
    let replay = if is_mysql(db) { "binlog" } else { "WAL" };
    let mut steps = vec![
        step(
            0.0,
            format!(
                "drill {}: provisioning isolated instance {}",
                db.id, f.sandbox
            ),
        ),
        step(
            0.08,
            format!(
                "drill: fetching base backup {} ({:.1} GiB)",
                f.backup_id, f.size_gib
            ),
        ),
        step(0.45, "drill: base backup restored"),
        step(
            0.75,
            format!("drill: replaying {replay} to {}", f.recovery_point),
        ),
        step(0.85, "drill: instance started, running verification"),
    ];
    if f.checksum_ok {
        steps.push(step(
            0.97,
            format!("drill: checksums verified on {} relations", f.relations),
        ));
    } else {
        steps.push(warn(
            0.97,
            format!(
                "drill: CHECKSUM MISMATCH in {} of {} relations (first: public.order_items, block 88123)",
                1 + f.relations % 3,
                f.relations
            ),
        ));
    }
    steps.push(step(1.0, format!("drill: tearing down {}", f.sandbox)));
    steps
}
