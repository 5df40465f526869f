//! Campaign files: TOML whose keys are the create body's (`title`, `target_version`,
//! `engine`, `rings`, `databases`, `environments`, `tiers`, `tags`, `exclude`,
//! `change_ref`, `[gate]`), reviewed in git and planned or applied by the CLI. A
//! `[gate]` may set only some of its keys; the others keep their defaults.

use std::path::Path;

use fleetdeck_api::{CreateCampaign, Environment, GateSettings};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::failure::Failure;

/// Largest campaign file read: a campaign names databases, not a fleet dump.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignFile {
    title: String,
    target_version: String,
    databases: Option<Vec<String>>,
    rings: Option<Vec<u8>>,
    engine: Option<String>,
    environments: Option<Vec<Environment>>,
    tiers: Option<Vec<u8>>,
    tags: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
    change_ref: Option<String>,
    gate: Option<GateFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateFile {
    failure_budget: Option<u32>,
    bake_seconds: Option<u64>,
    max_replication_lag_s: Option<f64>,
    concurrency: Option<u32>,
}

impl GateFile {
    fn settings(self) -> GateSettings {
        let d = GateSettings::default();
        GateSettings {
            failure_budget: self.failure_budget.unwrap_or(d.failure_budget),
            bake_seconds: self.bake_seconds.unwrap_or(d.bake_seconds),
            max_replication_lag_s: self
                .max_replication_lag_s
                .unwrap_or(d.max_replication_lag_s),
            concurrency: self.concurrency.unwrap_or(d.concurrency),
        }
    }
}

/// The create body a campaign file describes (without `plan_hash`).
pub fn load(path: &Path) -> Result<CreateCampaign, Failure> {
    let shown = fleetdeck_api::text::sanitize_line(&path.display().to_string()).into_owned();
    let unreadable = |e: &dyn std::fmt::Display| {
        Failure::usage(format!("campaign file {shown}: cannot read it: {e}"))
    };
    let len = std::fs::metadata(path).map_err(|e| unreadable(&e))?.len();
    if len > MAX_FILE_BYTES {
        return Err(Failure::usage(format!(
            "campaign file {shown}: {len} bytes; the limit is {MAX_FILE_BYTES}"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(&e))?;
    parse(&text).map_err(|e| Failure::usage(format!("campaign file {shown}: {e}")))
}

fn parse(text: &str) -> Result<CreateCampaign, String> {
    let f: CampaignFile = toml::from_str(text).map_err(|e| {
        // toml's message spans lines (a caret under the spot); one line for stderr.
        let one = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        fleetdeck_api::text::sanitize_line(&one).into_owned()
    })?;
    Ok(CreateCampaign {
        title: f.title,
        target_version: f.target_version,
        databases: f.databases,
        rings: f.rings,
        engine: f.engine,
        gate: f.gate.map(GateFile::settings),
        environments: f.environments,
        tiers: f.tiers,
        tags: f.tags,
        exclude: f.exclude,
        change_ref: f.change_ref,
        plan_hash: None,
    })
}

/// The Idempotency-Key of applying `req`: derived from what the file says (not from its
/// comments or layout), so applying one file twice, by one person or one CI job, starts
/// one campaign. A UUID of version 8 (custom).
pub fn idempotency_key(req: &CreateCampaign) -> Uuid {
    let body = CreateCampaign {
        plan_hash: None,
        ..req.clone()
    };
    let mut hash = Sha256::new();
    hash.update(b"fleetdeck apply v1\n");
    hash.update(serde_json::to_vec(&body).unwrap_or_default());
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
# Reviewed in PR 42.
title = "postgres 16.4 security patch"
target_version = "16.4"
change_ref = "CHG-2291"
engine = "postgres"
environments = ["staging", "prod"]
exclude = ["pg-prod-07"]

[gate]
concurrency = 2
"#;

    #[test]
    fn a_file_is_the_create_body_and_a_partial_gate_keeps_the_defaults() {
        let req = parse(FILE).unwrap();
        assert_eq!(req.title, "postgres 16.4 security patch");
        assert_eq!(
            req.environments,
            Some(vec![Environment::Staging, Environment::Prod])
        );
        let gate = req.gate.unwrap();
        assert_eq!(gate.concurrency, 2);
        assert_eq!(gate.failure_budget, GateSettings::default().failure_budget);
        let typo = parse("title = \"t\"\ntarget_version = \"1\"\nrigns = [1]\n").unwrap_err();
        assert!(typo.contains("rigns"), "{typo}");
        assert!(!typo.contains('\n'));
        assert!(parse("title = \"t\"\ntarget_version = \"1\"\nplan_hash = \"x\"\n").is_err());
    }

    #[test]
    fn the_key_follows_the_content_not_the_layout() {
        let a = parse(FILE).unwrap();
        let relaid = FILE
            .replace("# Reviewed in PR 42.\n", "")
            .replace(" = ", "=");
        let b = parse(&relaid).unwrap();
        assert_eq!(idempotency_key(&a), idempotency_key(&b));
        let pinned = CreateCampaign {
            plan_hash: Some("abc".into()),
            ..a.clone()
        };
        assert_eq!(idempotency_key(&a), idempotency_key(&pinned));
        let other = CreateCampaign {
            target_version: "16.5".into(),
            ..a.clone()
        };
        assert_ne!(idempotency_key(&a), idempotency_key(&other));
        assert_eq!(idempotency_key(&a).get_version_num(), 8);
    }
}
