//! The integrity checks on the restored copy (`pg_amcheck` while it runs,
//! `pg_checksums --check` once it is stopped) and the team's SQL checks.

use std::ffi::OsStr;

use sqlx::postgres::PgRow;
use sqlx::{Connection as _, Row as _};

use super::config::{DrillConfig, Expect, SqlCheck};
use super::copy::Copy;
use super::report::Report;
use super::restore::program;
use super::scratch::Scratch;
use super::source::{Endpoint, sql_error};

/// `pg_amcheck` (heap and B-tree checks) on every database of the copy where the
/// `amcheck` extension can be installed; the others are named in the detail.
pub async fn amcheck(report: &mut Report, cfg: &DrillConfig, copy: &Copy<'_>, first_db: &str) {
    const NAME: &str = "pg_amcheck";
    let databases: Vec<String> = match copy.connect(first_db).await {
        Ok(mut conn) => {
            let r = sqlx::query_scalar(
                "SELECT datname::text FROM pg_database WHERE datallowconn ORDER BY datname",
            )
            .fetch_all(&mut conn)
            .await;
            let _ = conn.close().await;
            match r {
                Ok(d) => d,
                Err(e) => return report.fail(NAME, sql_error(&e)),
            }
        }
        Err(e) => return report.fail(NAME, e),
    };
    let mut checked = Vec::new();
    let mut skipped = Vec::new();
    for db in &databases {
        let installed = match copy.connect(db).await {
            Ok(mut conn) => {
                let r = sqlx::query("CREATE EXTENSION IF NOT EXISTS amcheck")
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
                r.map(|_| ()).map_err(|e| sql_error(&e))
            }
            Err(e) => Err(e),
        };
        if let Err(why) = installed {
            skipped.push(format!("{db} ({why})"));
            continue;
        }
        let mut args = copy.socket_args();
        args.push(db.clone());
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        if let Err(why) = program(report, &cfg.bin_dir, NAME, &args, &[], cfg.timeout).await {
            return report.fail(NAME, format!("database {db}: {why}"));
        }
        checked.push(db.clone());
    }
    if checked.is_empty() {
        return report.fail(
            NAME,
            format!(
                "amcheck could not be installed in any database: {}",
                skipped.join(", ")
            ),
        );
    }
    let mut detail = format!("no corruption in {}", checked.join(", "));
    if !skipped.is_empty() {
        detail.push_str(&format!("; not checked: {}", skipped.join(", ")));
    }
    report.pass(NAME, detail);
}

/// `pg_checksums --check` on the stopped copy, when it has data checksums.
pub async fn checksums(report: &mut Report, cfg: &DrillConfig, scratch: &Scratch, enabled: bool) {
    const NAME: &str = "pg_checksums";
    if !enabled {
        return report.pass(
            NAME,
            "skipped: the cluster has no data checksums (initdb --data-checksums)",
        );
    }
    let data = scratch.data_dir();
    let args = [OsStr::new("--check"), OsStr::new("-D"), data.as_os_str()];
    match program(report, &cfg.bin_dir, NAME, &args, &[], cfg.timeout).await {
        Ok(out) => {
            let scanned = out
                .stdout
                .iter()
                .find(|l| l.contains("Blocks scanned"))
                .map(|l| l.trim().to_string())
                .unwrap_or_else(|| "checksums verified".into());
            report.pass(NAME, scanned)
        }
        Err(why) => report.fail(NAME, why),
    }
}

/// Runs each SQL check of the config on the copy (and, to compare, on `source`).
pub async fn sql(report: &mut Report, checks: &[SqlCheck], copy: &Copy<'_>, source: &Endpoint) {
    for check in checks {
        let name = format!("sql: {}", check.name);
        match sql_check(check, copy, source).await {
            Ok(detail) => report.pass(&name, detail),
            Err(why) => report.fail(&name, why),
        }
    }
}

async fn sql_check(check: &SqlCheck, copy: &Copy<'_>, source: &Endpoint) -> Result<String, String> {
    let db = check.database.as_deref().unwrap_or(&source.database);
    let mut conn = copy.connect(db).await?;
    let got = value(&mut conn, &check.sql)
        .await
        .map_err(|e| format!("on the copy: {e}"))?;
    let _ = conn.close().await;
    match &check.expect {
        Expect::Equals(want) if &got == want => Ok(got),
        Expect::Equals(want) => Err(format!("the copy gave {got}, expected {want}")),
        Expect::Source { tolerance } => {
            let mut conn = source.connect(Some(db)).await.map_err(|e| e.message)?;
            let there = value(&mut conn, &check.sql)
                .await
                .map_err(|e| format!("on the source: {e}"))?;
            let _ = conn.close().await;
            let (a, b) = match (got.parse::<f64>(), there.parse::<f64>()) {
                (Ok(a), Ok(b)) => (a, b),
                _ => return Err(format!("copy {got} and source {there} are not numbers")),
            };
            let allowed = tolerance * b.abs();
            if (a - b).abs() <= allowed {
                Ok(format!(
                    "copy {got}, source {there} (tolerance {:.1} %)",
                    tolerance * 100.0
                ))
            } else {
                Err(format!(
                    "copy {got}, source {there}: more than {:.1} % apart",
                    tolerance * 100.0
                ))
            }
        }
    }
}

/// The single value `sql` returns, as text.
async fn value(conn: &mut sqlx::PgConnection, sql: &str) -> Result<String, String> {
    let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| sql_error(&e))?
        .ok_or("the query returned no row")?;
    text_of(&row)
}

fn text_of(row: &PgRow) -> Result<String, String> {
    if let Ok(v) = row.try_get::<Option<String>, _>(0) {
        return Ok(v.unwrap_or_else(|| "NULL".into()));
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(0) {
        return Ok(v.map_or("NULL".into(), |v| v.to_string()));
    }
    if let Ok(v) = row.try_get::<Option<i32>, _>(0) {
        return Ok(v.map_or("NULL".into(), |v| v.to_string()));
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(0) {
        return Ok(v.map_or("NULL".into(), |v| v.to_string()));
    }
    if let Ok(v) = row.try_get::<Option<bool>, _>(0) {
        return Ok(v.map_or("NULL".into(), |v| v.to_string()));
    }
    Err("its first column is of a type the check cannot read: cast it to text or bigint".into())
}
