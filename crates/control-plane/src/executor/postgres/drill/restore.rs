//! Getting a backup into the scratch directory: `pg_basebackup` (then
//! `pg_verifybackup`) or `pgbackrest restore`, run as the copy's owner.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::config::{BackupSource, DrillConfig};
use super::owner;
use super::report::Report;
use super::scratch::Scratch;
use super::source::{Endpoint, RestorePoint};
use crate::executor::process::{self, Output};

/// The backup a drill restored.
#[derive(Debug, Clone)]
pub struct Backup {
    /// Short: the drill's `backup_id`.
    pub id: String,
    /// What its tool says it is.
    pub label: String,
}

/// Runs one program of the drill; its output goes to the log as it runs and into the
/// report. `Err` is why it failed, one line.
pub async fn program(
    report: &mut Report,
    bin_dir: &Path,
    name: impl AsRef<Path>,
    args: &[&OsStr],
    env: &[(&'static str, String)],
    timeout: Duration,
) -> Result<Output, String> {
    let name = name.as_ref();
    let shown = name.display().to_string();
    let mut cmd = owner::command(bin_dir, name).map_err(|e| e.message)?;
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let sink = report.sink();
    let out = process::run_program(cmd, &shown, timeout, &sink, |e| {
        crate::executor::ExecError::new(if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "{shown} is not installed (looked in {} and on PATH)",
                bin_dir.display()
            )
        } else {
            format!("cannot start {shown}: {e}")
        })
    })
    .await;
    match out {
        Ok(out) => {
            report.printed(&out.all);
            Ok(out)
        }
        Err(e) => Err(format!("{shown} {}", e.message)),
    }
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// `pg_basebackup` from `from` into the copy's data directory, then `pg_verifybackup`
/// on it; each is a check. `None` when the backup could not be taken or did not verify.
pub async fn base_backup(
    report: &mut Report,
    cfg: &DrillConfig,
    scratch: &Scratch,
    from: &Endpoint,
    drill_name: &str,
) -> Option<Backup> {
    let data = scratch.data_dir();
    let conninfo = format!(
        "host={} port={} user={} dbname={} application_name=fleetdeck-drill",
        quote(&from.host),
        from.port,
        quote(&from.user),
        quote(&from.database)
    );
    let args = [
        os("-d"),
        os(&conninfo),
        os("-D"),
        data.as_os_str(),
        os("-X"),
        os("stream"),
        os("-c"),
        os("fast"),
        os("--no-sync"),
        os("-l"),
        os(drill_name),
    ];
    let env = from.libpq_env();
    if let Err(why) = program(
        report,
        &cfg.bin_dir,
        "pg_basebackup",
        &args,
        &env,
        cfg.timeout,
    )
    .await
    {
        report.fail("pg_basebackup", why);
        return None;
    }
    let label = backup_label(&data).unwrap_or_else(|| drill_name.to_string());
    report.pass("pg_basebackup", format!("from {}: {label}", from.label()));
    let verify = [data.as_os_str()];
    match program(
        report,
        &cfg.bin_dir,
        "pg_verifybackup",
        &verify,
        &[],
        cfg.timeout,
    )
    .await
    {
        Ok(out) => report.pass(
            "pg_verifybackup",
            out.last_stdout_line()
                .unwrap_or("backup verified")
                .to_string(),
        ),
        Err(why) => {
            report.fail("pg_verifybackup", why);
            return None;
        }
    }
    Some(Backup {
        id: format!("pg_basebackup:{drill_name}"),
        label,
    })
}

/// `START WAL LOCATION` and `START TIME` of a base backup's `backup_label`.
fn backup_label(data: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data.join("backup_label")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let lsn = field("START WAL LOCATION:")?;
    let lsn = lsn
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    Some(format!(
        "base backup started {} at {lsn}",
        field("START TIME:")?
    ))
}

/// Quotes a libpq connection-string value.
fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[derive(Deserialize)]
struct StanzaInfo {
    #[serde(default)]
    backup: Vec<SetInfo>,
}

#[derive(Deserialize)]
struct SetInfo {
    label: String,
    #[serde(rename = "type")]
    kind: String,
    timestamp: SetTimes,
}

#[derive(Deserialize)]
struct SetTimes {
    stop: i64,
}

/// `pgbackrest restore` of the configured set (the latest unless one is named) into
/// the copy's data directory, told to replay the archive to `point` and promote there,
/// with archiving off in the copy. A check; `None` when it failed.
pub async fn pgbackrest(
    report: &mut Report,
    cfg: &DrillConfig,
    scratch: &Scratch,
    point: &RestorePoint,
    db: &fleetdeck_api::Database,
) -> Option<Backup> {
    let BackupSource::PgBackRest {
        stanza,
        set,
        config,
        program: exe,
    } = &cfg.source
    else {
        unreachable!("called for a pgBackRest source only");
    };
    let stanza = stanza_of(stanza, db);
    let mut common: Vec<String> = Vec::new();
    if let Some(c) = config {
        common.push(format!("--config={}", c.display()));
    }
    common.push(format!("--stanza={stanza}"));
    common.push("--log-level-file=off".into());
    let info_args: Vec<String> = common
        .iter()
        .cloned()
        .chain(["--output=json".into(), "info".into()])
        .collect();
    let info_args: Vec<&OsStr> = info_args.iter().map(OsStr::new).collect();
    let set_info = match program(report, &cfg.bin_dir, exe, &info_args, &[], cfg.timeout).await {
        Ok(out) => choose_set(&out.stdout.join("\n"), set.as_deref()),
        Err(why) => Err(why),
    };
    let set_info = match set_info {
        Ok(s) => s,
        Err(why) => {
            report.fail("pgbackrest restore", why);
            return None;
        }
    };
    let stopped = chrono::DateTime::from_timestamp(set_info.timestamp.stop, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    let label = format!("{} ({}, stopped {stopped})", set_info.label, set_info.kind);
    let mut args = common;
    args.extend([
        format!("--pg1-path={}", scratch.data_dir().display()),
        format!("--set={}", set_info.label),
        "--archive-mode=off".into(),
        "--type=name".into(),
        format!("--target={}", point.name),
        "--target-action=promote".into(),
        "--log-level-console=info".into(),
        "restore".into(),
    ]);
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    if let Err(why) = program(report, &cfg.bin_dir, exe, &args, &[], cfg.timeout).await {
        report.fail("pgbackrest restore", why);
        return None;
    }
    report.pass(
        "pgbackrest restore",
        format!("stanza {stanza}, set {label}"),
    );
    Some(Backup {
        id: set_info.label.clone(),
        label,
    })
}

/// The stanza for `db`: `{id}` is its id, `{primary}` its primary's (its own for a
/// primary), so one setting serves a fleet whose stanzas are named after databases.
pub fn stanza_of(stanza: &str, db: &fleetdeck_api::Database) -> String {
    let primary = db.primary_id.as_deref().unwrap_or(&db.id);
    stanza.replace("{id}", &db.id).replace("{primary}", primary)
}

/// The set to restore from `pgbackrest info --output=json`: `wanted`, or the latest.
fn choose_set(json: &str, wanted: Option<&str>) -> Result<SetInfo, String> {
    let stanzas: Vec<StanzaInfo> = serde_json::from_str(json)
        .map_err(|e| format!("pgbackrest info did not answer in JSON: {e}"))?;
    let sets = stanzas.into_iter().flat_map(|s| s.backup);
    let found = match wanted {
        Some(w) => sets.into_iter().find(|s| s.label == w),
        None => sets.last(),
    };
    found.ok_or_else(|| match wanted {
        Some(w) => format!("the repository has no backup set {w}"),
        None => "the repository has no backup of this stanza".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_set_or_the_named_one_is_chosen() {
        let json = r#"[{"name":"main","backup":[
            {"label":"20260101-010000F","type":"full","timestamp":{"start":1,"stop":2}},
            {"label":"20260102-010000F_20260102-020000I","type":"incr","timestamp":{"start":3,"stop":4}}
        ]}]"#;
        assert_eq!(
            choose_set(json, None).unwrap().label,
            "20260102-010000F_20260102-020000I"
        );
        assert_eq!(
            choose_set(json, Some("20260101-010000F")).unwrap().kind,
            "full"
        );
        let e = choose_set(json, Some("nope")).err().unwrap();
        assert!(e.contains("no backup set nope"), "{e}");
        let e = choose_set(r#"[{"name":"main","backup":[]}]"#, None)
            .err()
            .unwrap();
        assert!(e.contains("no backup"), "{e}");
    }
}
