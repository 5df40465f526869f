//! The config file: fixtures in `tests/fixtures/config`. Each `bad-*.toml` starts with
//! `# expect: MESSAGE`, the exact one-line error it must produce.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetdeck_api::{DbRole, Environment, HealthStatus};
use fleetdeck_control_plane::config::{self, ExecutorConfig, SimSettings};
use fleetdeck_control_plane::executor;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

#[test]
fn a_complete_command_config_loads() {
    let cfg = config::load(&fixtures().join("valid-command.toml")).expect("valid config");
    assert_eq!(cfg.databases.len(), 3);
    let primary = &cfg.databases[0];
    assert_eq!(primary.id, "pg-orders-euw1-01");
    assert_eq!(primary.environment, Environment::Prod);
    assert_eq!(primary.role, DbRole::Primary);
    assert_eq!(primary.tags, ["pci", "ha"]);
    assert_eq!(primary.health.status, HealthStatus::Unknown);
    assert_eq!(primary.backup_policy.retention_days, 35);
    // tier 1 takes the policy's tier1_days; an explicit interval wins.
    assert_eq!(primary.drill_interval_days, 5);
    assert_eq!(cfg.databases[2].drill_interval_days, 21);
    let replica = &cfg.databases[1];
    assert_eq!(replica.role, DbRole::Replica);
    assert_eq!(replica.primary_id.as_deref(), Some("pg-orders-euw1-01"));

    assert_eq!(cfg.drills.tier1_days, 5);
    assert_eq!(cfg.drills.tier2_days, 14);
    assert_eq!(cfg.drills.max_concurrent, 3);
    assert_eq!(cfg.approvals.ttl, Duration::from_secs(120 * 60));

    let ExecutorConfig::Command(cmd) = &cfg.executor else {
        panic!("expected the command executor, got {:?}", cfg.executor);
    };
    assert_eq!(cmd.shell, Path::new("/bin/bash"));
    assert_eq!(cmd.working_dir.as_deref(), Some(Path::new("/opt/dbops")));
    assert_eq!(cmd.patch.timeout, Duration::from_secs(1800));
    assert_eq!(
        cmd.rollback.timeout,
        Duration::from_secs(3600),
        "default timeout"
    );
    assert!(cmd.precheck.is_some());
    assert!(
        cmd.patch
            .template
            .source()
            .starts_with("ansible-playbook patch.yml")
    );
    assert_eq!(executor::build(&cfg.executor).name(), "command");
}

#[test]
fn simulated_and_empty_configs_load() {
    let cfg = config::load(&fixtures().join("valid-simulated.toml")).unwrap();
    assert_eq!(
        cfg.executor,
        ExecutorConfig::Simulated(SimSettings {
            seed: 42,
            time_scale: 20.0,
            call_log: Some("/var/tmp/fleetdeck-sim-calls.log".into()),
        })
    );
    assert_eq!(executor::build(&cfg.executor).name(), "simulated");
    let cfg = config::load(&fixtures().join("valid-empty.toml")).unwrap();
    assert!(cfg.databases.is_empty());
    assert_eq!(cfg.drills.tier3_days, 30);
    assert_eq!(cfg, config::ServerConfig::default());
}

#[test]
fn every_invalid_fixture_fails_with_its_one_line_message() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("bad-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{name} has no '# expect:' line"));
        let err = config::load(&path).expect_err(&name).to_string();
        let want = format!("{}/{expect}", fixtures().display());
        if err != want || err.contains('\n') {
            wrong.push(format!("{name}:\n  got  {err}\n  want {want}"));
        }
        checked += 1;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked >= 10, "only {checked} invalid fixtures found");
}

#[test]
fn an_unreadable_file_names_the_file() {
    let path = fixtures().join("no-such-file.toml");
    let err = config::load(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: cannot read the config file:", path.display())),
        "{err}"
    );
}

/// The TOML blocks of `docs/control-plane.md`, in order.
fn documented_configs() -> Vec<String> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/control-plane.md");
    let text = std::fs::read_to_string(&doc).expect("docs/control-plane.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_documented_examples_load() {
    let blocks = documented_configs();
    assert!(blocks.len() >= 2, "found {} toml blocks", blocks.len());
    let doc = Path::new("docs/control-plane.md");
    let full = config::parse(&blocks[0], doc).expect("the complete example loads");
    assert_eq!(full.databases.len(), 3);
    assert!(matches!(full.executor, ExecutorConfig::Command(_)));
    for block in &blocks[1..] {
        config::parse(block, doc).unwrap_or_else(|e| panic!("{e}\n{block}"));
    }
}

#[tokio::test]
async fn a_simulated_executor_built_from_config_keeps_its_call_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let text = format!(
        "[executor]\nkind = \"simulated\"\ntime_scale = 10000.0\ncall_log = \"{}\"\n",
        log.display()
    );
    let cfg = config::parse(&text, Path::new("sim.toml")).unwrap();
    let exec = executor::build(&cfg.executor);
    let db = fleetdeck_control_plane::demo::generate(1, 1, chrono::Utc::now())
        .databases
        .remove(0);
    exec.patch(&db, "99.0", executor::LogSink::discard())
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("patch {}\n", db.id)
    );
}
