//! The command executor against real shell scripts in a temp dir.

use std::path::Path;
use std::time::{Duration, Instant};

use fleetdeck_api::{BackupPolicy, Database, DbRole, Environment, Health, HealthStatus, Level};
use fleetdeck_control_plane::config::{CommandConfig, OperationCommand};
use fleetdeck_control_plane::executor::command::CommandExecutor;
use fleetdeck_control_plane::executor::template::Template;
use fleetdeck_control_plane::executor::{Executor, LogLine, LogSink};
use tokio::sync::mpsc::UnboundedReceiver;

fn db(id: &str) -> Database {
    Database {
        id: id.to_string(),
        engine: "postgres".into(),
        engine_version: "16.4".into(),
        environment: Environment::Staging,
        tier: 2,
        region: "eu-west-1".into(),
        owner_team: "orders".into(),
        role: DbRole::Primary,
        primary_id: None,
        ring: 1,
        host: "10.1.2.3".into(),
        tags: vec![],
        health: Health::default(),
        last_patched_at: None,
        backup_policy: BackupPolicy {
            schedule: "daily 02:00".into(),
            retention_days: 14,
        },
        drill_interval_days: 14,
        version: 1,
    }
}

fn op(command: &str, timeout: Duration) -> OperationCommand {
    OperationCommand {
        template: Template::parse(command).expect("valid template"),
        timeout,
    }
}

/// An executor whose every operation runs `script` (a file in `dir`) with the
/// operation's name and the placeholders as arguments.
fn executor(dir: &Path, script: &str, timeout: Duration) -> CommandExecutor {
    let path = dir.join("op.sh");
    std::fs::write(&path, script).unwrap();
    let cmd = |name: &str| {
        op(
            &format!("sh ./op.sh {name} {{id}} {{host}} {{from_version}} {{to_version}}"),
            timeout,
        )
    };
    CommandExecutor::new(CommandConfig {
        shell: "/bin/sh".into(),
        working_dir: Some(dir.to_path_buf()),
        precheck: Some(cmd("precheck")),
        patch: cmd("patch"),
        rollback: cmd("rollback"),
        health: cmd("health"),
        version: cmd("version"),
        drill: cmd("drill"),
    })
}

fn drain(rx: &mut UnboundedReceiver<LogLine>) -> Vec<LogLine> {
    let mut lines = Vec::new();
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    lines
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_successful_patch_streams_its_output_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(
        dir.path(),
        "echo \"$1 $2 on $3: $4 -> $5\"\necho installing\necho done\n",
        10 * SECOND,
    );
    let (log, mut rx) = LogSink::channel();
    exec.patch(&db("pg-orders-01"), "16.6", log)
        .await
        .expect("patch passes");
    let lines = drain(&mut rx);
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "patch pg-orders-01 on 10.1.2.3: 16.4 -> 16.6",
            "installing",
            "done"
        ]
    );
    assert!(lines.iter().all(|l| l.level == Level::Info));
}

#[tokio::test]
async fn a_failing_command_reports_its_exit_code_and_last_words() {
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(
        dir.path(),
        "echo stopping\necho 'E: disk full on /var/lib/postgresql' >&2\nexit 3\n",
        10 * SECOND,
    );
    let (log, mut rx) = LogSink::channel();
    let err = exec.patch(&db("pg-a"), "16.6", log).await.unwrap_err();
    assert!(!err.timed_out);
    assert_eq!(
        err.message,
        "exited with code 3: E: disk full on /var/lib/postgresql"
    );
    let lines = drain(&mut rx);
    assert!(
        lines
            .iter()
            .any(|l| l.level == Level::Warn && l.text.contains("disk full"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.level == Level::Info && l.text == "stopping")
    );
}

fn alive(pid: i32) -> bool {
    // Signal 0 checks for existence; a zombie still exists, so look at its state too.
    let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = status.split_whitespace().nth(2) == Some("Z");
    unsafe { libc::kill(pid, 0) == 0 && !zombie }
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(
        dir.path(),
        "echo started\nsleep 60 &\necho $! > child.pid\nwait\n",
        SECOND,
    );
    let (log, mut rx) = LogSink::channel();
    let start = Instant::now();
    let err = exec.rollback(&db("pg-a"), "16.4", log).await.unwrap_err();
    let took = start.elapsed();
    assert!(err.timed_out, "{err}");
    assert!(err.message.contains("still running after 1 s"), "{err}");
    assert!(took < 5 * SECOND, "returned after {took:?}");
    let pid: i32 = std::fs::read_to_string(dir.path().join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let gone_by = Instant::now() + 3 * SECOND;
    while alive(pid) && Instant::now() < gone_by {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !alive(pid),
        "the background sleep {pid} survived the timeout"
    );
    let lines = drain(&mut rx);
    assert_eq!(lines.first().map(|l| l.text.as_str()), Some("started"));
    assert!(lines.last().is_some_and(|l| l.level == Level::Error
        && l.text == "rollback: still running after 1 s; its process group was killed"));
}

#[tokio::test]
async fn lines_arrive_while_the_command_is_still_running() {
    let dir = tempfile::tempdir().unwrap();
    // The script waits for the test to answer its first line: the test can only answer
    // if that line reached it before the script ended.
    let exec = executor(
        dir.path(),
        "echo first\nwhile [ ! -e go ]; do sleep 0.02; done\necho second\n",
        20 * SECOND,
    );
    let (log, mut rx) = LogSink::channel();
    let d = db("pg-a");
    let patch = exec.patch(&d, "16.6", log);
    tokio::pin!(patch);
    let first = tokio::select! {
        line = rx.recv() => line.expect("a line"),
        r = &mut patch => panic!("the patch ended before its first line arrived: {r:?}"),
        _ = tokio::time::sleep(10 * SECOND) => panic!("no line within 10 s"),
    };
    assert_eq!(first.text, "first");
    std::fs::write(dir.path().join("go"), "").unwrap();
    patch.await.expect("patch passes");
    assert_eq!(rx.recv().await.map(|l| l.text), Some("second".into()));
}

#[tokio::test]
async fn placeholders_are_quoted_against_a_hostile_database_id() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "x'; touch pwned1; echo '$(touch pwned2)`touch pwned3` \"; touch pwned4";
    let exec = CommandExecutor::new(CommandConfig {
        shell: "/bin/sh".into(),
        working_dir: Some(dir.path().to_path_buf()),
        precheck: None,
        patch: op(
            "printf '%s\\n' {id} > seen-arg; printf '%s\\n' \"$FLEETDECK_ID\" > seen-env",
            10 * SECOND,
        ),
        rollback: op("true", SECOND),
        health: op("true", SECOND),
        version: op("true", SECOND),
        drill: op("true", SECOND),
    });
    exec.patch(&db(hostile), "16.6", LogSink::discard())
        .await
        .expect("patch passes");
    for file in ["seen-arg", "seen-env"] {
        let seen = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert_eq!(seen, format!("{hostile}\n"), "{file}");
    }
    for n in 1..=4 {
        assert!(
            !dir.path().join(format!("pwned{n}")).exists(),
            "pwned{n} was created"
        );
    }
}

#[tokio::test]
async fn health_version_and_drill_parse_their_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
case "$1" in
  health) echo "checking $2"; echo '{"status":"degraded","replication_lag_s":4.5,"connections":37,"latency_ms":12.5}' ;;
  version) echo "connecting"; echo "16.6"; echo "" ;;
  drill) echo "restoring base backup"; echo "verifying" >&2;
         echo '{"backup_id":"bk-42","recovery_point":"2026-11-21T20:15:00Z","checksum_ok":false,"restore_seconds":812.5}' ;;
esac
"#;
    let exec = executor(dir.path(), script, 10 * SECOND);
    let d = db("pg-a");
    let health = exec.health(&d).await.expect("health parses");
    assert_eq!(health.status, HealthStatus::Degraded);
    assert_eq!(health.replication_lag_s, Some(4.5));
    assert_eq!(health.connections, 37);
    assert_eq!(health.latency_ms, 12.5);
    assert!(health.checked_at.is_some());

    assert_eq!(exec.actual_version(&d).await.unwrap(), "16.6");

    let (log, mut rx) = LogSink::channel();
    let drill = exec.restore_drill(&d, log).await.expect("drill parses");
    assert_eq!(drill.backup_id, "bk-42");
    assert_eq!(
        drill.recovery_point.unwrap().to_rfc3339(),
        "2026-11-21T20:15:00+00:00"
    );
    assert!(!drill.checksum_ok);
    assert_eq!(drill.restore_seconds, 812.5);
    // stdout and stderr are two pipes: their lines may interleave either way.
    for line in ["restoring base backup", "verifying", "\"bk-42\""] {
        assert!(drill.output.contains(line), "{line:?} in {}", drill.output);
    }
    assert_eq!(drain(&mut rx).len(), 3);
}

#[tokio::test]
async fn malformed_answers_are_errors_that_say_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
case "$1" in
  health) echo '{"status":"fine"}' ;;
  version) echo "PostgreSQL 16.6 on x86_64" ;;
  drill) echo "all good" ;;
esac
"#;
    let exec = executor(dir.path(), script, 10 * SECOND);
    let d = db("pg-a");
    let err = exec.health(&d).await.unwrap_err();
    assert!(err.message.contains("status must be"), "{err}");
    let err = exec.actual_version(&d).await.unwrap_err();
    assert!(err.message.contains("bare version"), "{err}");
    let err = exec
        .restore_drill(&d, LogSink::discard())
        .await
        .unwrap_err();
    assert!(err.message.contains("not the expected drill JSON"), "{err}");
    assert!(err.message.contains("all good"), "{err}");
}

#[tokio::test]
async fn output_is_sanitised_before_it_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(
        dir.path(),
        "printf 'ok \\033]52;c;aGk=\\007 \\033[2J done\\n'\nprintf 'bad\\377byte\\n'\n",
        10 * SECOND,
    );
    let (log, mut rx) = LogSink::channel();
    exec.patch(&db("pg-a"), "16.6", log).await.unwrap();
    let lines = drain(&mut rx);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].text, "ok \u{FFFD} \u{FFFD} done");
    assert_eq!(lines[1].text, "bad\u{FFFD}byte");
}

#[tokio::test]
async fn a_missing_precheck_passes_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let exec = CommandExecutor::new(CommandConfig {
        shell: "/bin/sh".into(),
        working_dir: Some(dir.path().to_path_buf()),
        precheck: None,
        patch: op("true", SECOND),
        rollback: op("true", SECOND),
        health: op("true", SECOND),
        version: op("true", SECOND),
        drill: op("true", SECOND),
    });
    let (log, mut rx) = LogSink::channel();
    exec.precheck(&db("pg-a"), "16.6", log).await.unwrap();
    assert!(drain(&mut rx)[0].text.contains("no precheck command"));
    // `true` prints nothing: a health answer is required.
    let err = exec.health(&db("pg-a")).await.unwrap_err();
    assert!(err.message.contains("printed nothing"), "{err}");
}

#[tokio::test]
async fn a_shell_that_cannot_start_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut exec_cfg = CommandConfig {
        shell: dir.path().join("no-such-shell"),
        working_dir: None,
        precheck: None,
        patch: op("true", SECOND),
        rollback: op("true", SECOND),
        health: op("true", SECOND),
        version: op("true", SECOND),
        drill: op("true", SECOND),
    };
    let err = CommandExecutor::new(exec_cfg.clone())
        .patch(&db("pg-a"), "16.6", LogSink::discard())
        .await
        .unwrap_err();
    assert!(err.message.contains("cannot start"), "{err}");
    exec_cfg.shell = "/bin/sh".into();
    exec_cfg.working_dir = Some(dir.path().join("no-such-dir"));
    let err = CommandExecutor::new(exec_cfg.clone())
        .patch(&db("pg-a"), "16.6", LogSink::discard())
        .await
        .unwrap_err();
    assert!(
        err.message.contains("no-such-dir is not a directory"),
        "{err}"
    );
    exec_cfg.working_dir = None;
    exec_cfg.shell = "/bin/sh".into();
    exec_cfg.patch = op("kill -9 $$", SECOND);
    let err = CommandExecutor::new(exec_cfg)
        .patch(&db("pg-a"), "16.6", LogSink::discard())
        .await
        .unwrap_err();
    assert!(err.message.contains("killed by a signal"), "{err}");
}

#[tokio::test]
async fn a_flood_of_output_is_read_to_the_end_but_logged_with_a_bound() {
    let dir = tempfile::tempdir().unwrap();
    // 20 000 lines: more than the log takes, and more than a pipe buffer holds, so the
    // command only finishes if it is read to the end.
    let exec = executor(
        dir.path(),
        "i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; i=$((i+1)); done\necho '16.6'\n",
        30 * SECOND,
    );
    let (log, mut rx) = LogSink::channel();
    exec.patch(&db("pg-a"), "16.6", log).await.unwrap();
    let lines = drain(&mut rx);
    assert_eq!(lines.len(), 5001);
    assert_eq!(lines[4999].text, "line 4999");
    assert_eq!(
        lines[5000].text,
        "15001 more output lines were not logged (at most 5000 per operation)"
    );
    assert_eq!(lines[5000].level, Level::Warn);
    // The answer on the last line is still seen.
    assert_eq!(exec.actual_version(&db("pg-a")).await.unwrap(), "16.6");
}
