//! A real control plane for the benchmarks: `server::start` on an ephemeral loopback
//! port with a real SQLite file, plus the numbers the reports need.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetdeck_api::{ApprovalKind, BlastRadius, Role};
use fleetdeck_control_plane::auth::{TokenEntry, hash_token};
use fleetdeck_control_plane::server::{self, RunningServer, ServeOptions, TokenSource};
use fleetdeck_control_plane::store::Store;
use fleetdeck_control_plane::store::approvals::{self, NewApproval};

pub const OPERATOR: &str = "bench-operator";
pub const APPROVER: &str = "bench-approver";

pub fn token(user: &str) -> String {
    format!("bench-token-for-{user}")
}

/// Where benchmark state goes: `PERF_DIR`, else the system temp dir. Durable-write
/// figures are only comparable on the same disk, so both sides of a comparison use it.
pub fn temp_dir() -> tempfile::TempDir {
    match std::env::var_os("PERF_DIR") {
        Some(dir) => tempfile::tempdir_in(dir).expect("PERF_DIR is writable"),
        None => tempfile::tempdir().expect("temp dir"),
    }
}

pub async fn start(state: &Path) -> RunningServer {
    let entries = [(OPERATOR, Role::Operator), (APPROVER, Role::Approver)]
        .into_iter()
        .map(|(user, role)| TokenEntry {
            sha256_hex: hash_token(&token(user)),
            user: user.to_string(),
            roles: vec![role],
        })
        .collect();
    server::start(ServeOptions {
        listen: "127.0.0.1:0".parse().expect("loopback"),
        state: state.to_path_buf(),
        tokens: TokenSource::Entries(entries),
        config: None,
        demo: None,
    })
    .await
    .expect("the control plane starts")
}

pub fn state_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("state.db")
}

/// Raises `n` pending approvals (one approver each) in one transaction; returns their ids.
pub async fn raise_approvals(store: &Store, n: usize) -> Vec<String> {
    let mut tx = store.begin().await.expect("begin");
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let a = approvals::insert(
            &mut tx,
            NewApproval {
                kind: ApprovalKind::PolicyException,
                subject: format!("pg-bench-{i:05} · stale evidence"),
                campaign_id: None,
                database_id: Some(format!("pg-bench-{i:05}")),
                ring: Some(1),
                requested_by: OPERATOR.into(),
                reason: "benchmark".into(),
                blast_radius: BlastRadius {
                    databases: 1,
                    prod: 0,
                    tier1: 0,
                },
                findings: Vec::new(),
                approvals_required: 1,
                expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
            },
            None,
        )
        .await
        .expect("insert approval");
        ids.push(a.id);
    }
    store.commit(tx).await.expect("commit");
    ids
}

pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Resident set size of process `pid` (`self` for this one), in bytes (Linux).
pub fn rss_bytes(pid: &str) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// CPU seconds (user + system) used so far by process `pid` (`self` for this one),
/// Linux; assumes the usual 100 clock ticks per second.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
