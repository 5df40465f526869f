//! `[executor] kind = "postgres"` and `[health]` in the config file: a complete example
//! loads into what the executor and the poller use (the refusals are the `bad-pg-*`,
//! `bad-connection-*` and `bad-health-*` fixtures of `exec_config`).

use std::path::PathBuf;
use std::time::Duration;

use fleetdeck_control_plane::config::postgres::{DeclaredReplica, PasswordSource, SslMode};
use fleetdeck_control_plane::config::{self, ExecutorConfig};
use fleetdeck_control_plane::executor;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

#[test]
fn a_complete_postgres_config_resolves_each_database_over_the_template() {
    let cfg = config::load(&fixture("valid-postgres.toml")).unwrap();
    let ExecutorConfig::Postgres(pg) = &cfg.executor else {
        panic!("{:?}", cfg.executor);
    };
    assert_eq!(executor::build(&cfg.executor).name(), "postgres");
    assert_eq!(pg.patch.timeout, Duration::from_secs(1800));
    assert!(pg.precheck.is_some());
    assert_eq!(pg.limits.max_transaction_age, Duration::from_secs(120));
    assert_eq!(pg.limits.max_replication_lag_s, 10.5);
    assert_eq!(pg.limits.restart_timeout, Duration::from_secs(600));

    let primary = pg.connection_for(&cfg.databases[0]);
    assert_eq!(
        (
            primary.host.as_str(),
            primary.port,
            primary.user.as_str(),
            primary.database.as_str()
        ),
        ("10.0.0.5", 5432, "fleetdeck", "postgres")
    );
    assert_eq!(primary.sslmode, SslMode::VerifyFull);
    assert_eq!(
        primary.ca_file,
        Some(PathBuf::from("/etc/fleetdeck/pg-ca.pem"))
    );
    assert_eq!(
        primary.password,
        Some(PasswordSource::File(
            "/etc/fleetdeck/pg/pg-a.password".into()
        ))
    );
    // The replica's own settings win, key by key.
    let replica = pg.connection_for(&cfg.databases[1]);
    assert_eq!((replica.host.as_str(), replica.port), ("10.0.0.6", 5433));
    assert_eq!(
        replica.password,
        Some(PasswordSource::Env("PG_A_R1_PASSWORD".into()))
    );
    assert_eq!(replica.sslmode, SslMode::VerifyFull);
    assert_eq!(
        pg.replicas.get("pg-a"),
        Some(&vec![DeclaredReplica {
            id: "pg-a-r1".into(),
            replication_name: "walrcv-a1".into(),
        }])
    );

    let h = &cfg.health;
    assert_eq!(h.interval, Duration::from_secs(15));
    assert_eq!((h.max_concurrent, h.timeout), (8, Duration::from_secs(5)));
    assert_eq!(h.jitter, 0.2);
    assert_eq!(h.stale_after(), Duration::from_secs(45));
}

#[test]
fn health_polling_has_defaults() {
    let cfg = config::load(&fixture("valid-empty.toml")).unwrap();
    assert_eq!(cfg.health.interval, Duration::from_secs(30));
    assert_eq!(cfg.health.stale_after(), Duration::from_secs(90));
}
