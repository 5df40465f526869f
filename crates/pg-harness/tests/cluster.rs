//! The harness itself: a cluster and its replica start, stream, stop and leave nothing.

use std::time::Duration;

use fleetdeck_pg_harness::{Cluster, skipped};

#[test]
fn a_primary_and_its_replica_stream_and_leave_nothing_behind() {
    if skipped() {
        return;
    }
    let primary = Cluster::start_new();
    assert_eq!(primary.sql("postgres", "SELECT pg_is_in_recovery()"), "f");
    assert_eq!(primary.sql("postgres", "SHOW data_checksums"), "on");
    let replica = primary.replica();
    assert_eq!(replica.sql("postgres", "SELECT pg_is_in_recovery()"), "t");
    primary.sql("postgres", "CREATE TABLE t AS SELECT 42 AS x");
    replica.wait_for("postgres", "SELECT x FROM t", "42", Duration::from_secs(20));
    primary.wait_for(
        "postgres",
        "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
        "1",
        Duration::from_secs(20),
    );

    primary.stop();
    assert!(!primary.is_running());
    assert!(primary.try_sql("postgres", "SELECT 1").is_err());
    primary.start();
    assert_eq!(primary.sql("postgres", "SELECT x FROM t"), "42");

    let dirs = [primary.root().to_path_buf(), replica.root().to_path_buf()];
    drop(replica);
    drop(primary);
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}
