//! `fleetdeck apply FILE [--plan-hash H] [--wait]`: starts the campaign of a campaign
//! file. The Idempotency-Key comes from the file's content, so applying one file twice
//! (a CI job run again) answers with the campaign the first apply started. With
//! `--plan-hash` the server plans again and refuses (412, exit 3) when the plan is no
//! longer the reviewed one, saying what changed.

use std::time::Duration;

use fleetdeck_api::text::sanitize_line;
use fleetdeck_console::message::ActionError;

use super::{Conn, campaign_file, failure, print_json, wait};
use crate::cli::ConnectArgs;
use crate::cli_script::{ApplyArgs, OutputArgs, WaitArgs, WaitFor};
use crate::failure::Failure;

/// Sends of the request when no answer comes back (the same key each time).
const ATTEMPTS: u32 = 3;
const RETRY_AFTER: Duration = Duration::from_millis(500);

pub async fn run(conn: &Conn, args: &ApplyArgs) -> Result<(), Failure> {
    let what = format!("apply {}", sanitize_line(&args.file.display().to_string()));
    let mut req = campaign_file::load(&args.file)?;
    if let Some(why) = &conn.read_only {
        return Err(Failure::refused(format!(
            "{what}: refused: {why}; no action is sent"
        )));
    }
    let key = campaign_file::idempotency_key(&req);
    req.plan_hash = args
        .plan_hash
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_string);
    let mut attempt = 1;
    let campaign = loop {
        match conn.client.create_campaign(&req, key).await {
            Ok(c) => break c,
            Err(ActionError::Transport(t)) if attempt < ATTEMPTS => {
                eprintln!(
                    "fleetdeck: {what}: no answer ({}); sending it again with the same Idempotency-Key",
                    sanitize_line(&t)
                );
                tokio::time::sleep(RETRY_AFTER * attempt).await;
                attempt += 1;
            }
            Err(e) => return Err(failure(&what, &e)),
        }
    };
    // A second apply is answered with the first one's stored answer (the campaign as it
    // was created): show it as it is now, when the server says.
    let campaign = conn.client.campaign(&campaign.id).await.unwrap_or(campaign);
    let output = args.output.output;
    if output == crate::cli_script::Output::Json {
        print_json(&campaign)?;
    } else {
        println!(
            "{}",
            sanitize_line(&format!(
                "{what}: campaign {} '{}' to {}: {} target(s) in {} ring(s), {} (Idempotency-Key {key}: applying this file again answers with this campaign)",
                campaign.id,
                campaign.title,
                campaign.target_version,
                campaign.target_count(),
                campaign.rings.len(),
                campaign.state.as_str()
            ))
        );
    }
    if !args.wait {
        return Ok(());
    }
    let waiting = WaitArgs {
        campaign: campaign.id,
        until: WaitFor::Completed,
        timeout: args.timeout,
        output: OutputArgs { output },
        connect: ConnectArgs::default(),
    };
    wait::run(conn, &waiting).await
}
