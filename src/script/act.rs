//! `fleetdeck approve|reject|pause|resume|rollback|drill`: read the item, then send the
//! action with a fresh Idempotency-Key and If-Match set to the version just read, as
//! the console does. A request that gets no answer is sent again with the same key,
//! so it takes effect at most once.
//!
//! A script has shown nobody the version it read, so a 412 (the campaign moved on a
//! step between the read and the send, which a running campaign does every few
//! seconds) is not a human's stale view: the item is read again and the action sent
//! again under a new key, a few times. The server still refuses an action the new
//! state does not allow (409), so this never acts on something it should not.

use std::time::Duration;

use fleetdeck_console::message::{Action, ActionError, ActionRequest};
use serde::Serialize;
use uuid::Uuid;

use super::{Conn, failure, print_json};
use crate::cli::{Command, ConnectArgs};
use crate::cli_script::Output;
use crate::failure::Failure;

/// Sends of one request when no answer comes back (the same Idempotency-Key each time).
const ATTEMPTS: u32 = 3;
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Reads and sends when the item keeps changing underneath (412 each time).
const PRECONDITION_ATTEMPTS: u32 = 3;

/// What `--output json` prints for an accepted action.
#[derive(Debug, Serialize)]
struct Accepted<'a> {
    action: &'a str,
    id: &'a str,
    status: &'static str,
    idempotency_key: String,
    if_match: Option<u64>,
}

/// The action a subcommand asks for, its connection flags and output format.
pub fn plan(command: Command) -> Result<(Action, ConnectArgs, Output), Failure> {
    Ok(match command {
        Command::Approve(a) => (
            Action::Approve {
                approval_id: a.id,
                comment: a.comment.filter(|c| !c.trim().is_empty()),
            },
            a.connect,
            a.output.output,
        ),
        Command::Reject(a) => (
            Action::Reject {
                approval_id: a.id,
                comment: a.comment,
            },
            a.connect,
            a.output.output,
        ),
        Command::Pause(a) => (
            Action::Pause {
                campaign_id: a.campaign,
                reason: a.reason,
            },
            a.connect,
            a.output.output,
        ),
        Command::Resume(a) => (
            Action::Resume {
                campaign_id: a.campaign,
                reason: a.reason.filter(|r| !r.trim().is_empty()),
            },
            a.connect,
            a.output.output,
        ),
        Command::Rollback(a) => (
            Action::Rollback {
                campaign_id: a.campaign,
                reason: a.reason,
            },
            a.connect,
            a.output.output,
        ),
        Command::Drill(a) => (
            Action::Drill {
                database_id: a.database,
            },
            a.connect,
            a.output.output,
        ),
        _ => return Err(Failure::runtime("not a scripting action")),
    })
}

fn subject(action: &Action) -> &str {
    match action {
        Action::Approve { approval_id, .. } | Action::Reject { approval_id, .. } => approval_id,
        Action::Pause { campaign_id, .. }
        | Action::Resume { campaign_id, .. }
        | Action::Rollback { campaign_id, .. } => campaign_id,
        Action::Drill { database_id } => database_id,
    }
}

/// Words every reason and comment needs: the server refuses blank ones too, but a
/// script author learns it here without a round trip.
fn check_text(action: &Action) -> Result<(), Failure> {
    let blank = match action {
        Action::Reject { comment, .. } => comment.trim().is_empty().then_some("--comment"),
        Action::Pause { reason, .. } | Action::Rollback { reason, .. } => {
            reason.trim().is_empty().then_some("--reason")
        }
        _ => None,
    };
    match blank {
        Some(flag) => Err(Failure::usage(format!(
            "{}: {flag} must say something",
            action.verb()
        ))),
        None => Ok(()),
    }
}

pub async fn run(conn: &Conn, action: Action, output: Output) -> Result<(), Failure> {
    let id = subject(&action).to_string();
    let what = format!(
        "{} {}",
        action.verb(),
        fleetdeck_api::text::sanitize_line(&id)
    );
    check_text(&action)?;
    if let Some(why) = &conn.read_only {
        return Err(Failure::refused(format!(
            "{what}: refused: {why}; no action is sent"
        )));
    }
    let mut request = ActionRequest {
        id: 1,
        action,
        idempotency_key: Uuid::new_v4(),
        if_match: None,
    };
    let mut attempt = 1;
    loop {
        request.if_match = Some(current_version(conn, &request.action, &what).await?);
        match send(conn, &request, &what).await {
            Ok(()) => break,
            Err(Changed(_)) if attempt < PRECONDITION_ATTEMPTS => {
                request.idempotency_key = Uuid::new_v4();
                attempt += 1;
            }
            Err(Changed(e)) => return Err(failure(&what, &e)),
            Err(Other(f)) => return Err(f),
        }
    }
    if output == Output::Json {
        print_json(&Accepted {
            action: request.action.verb(),
            id: &id,
            status: "accepted",
            idempotency_key: request.idempotency_key.to_string(),
            if_match: request.if_match,
        })
    } else {
        println!("{what}: accepted by {}", conn.label);
        Ok(())
    }
}

/// The version of the item as it is now: what If-Match will carry.
async fn current_version(conn: &Conn, action: &Action, what: &str) -> Result<u64, Failure> {
    let c = &conn.client;
    let read = |e: ActionError| failure(what, &e);
    match action {
        Action::Approve { approval_id, .. } | Action::Reject { approval_id, .. } => {
            let all = c.approvals("all").await.map_err(read)?;
            all.iter()
                .find(|a| a.id == *approval_id)
                .map(|a| a.version)
                .ok_or_else(|| Failure::runtime(format!("{what}: no such approval")))
        }
        Action::Pause { campaign_id, .. }
        | Action::Resume { campaign_id, .. }
        | Action::Rollback { campaign_id, .. } => {
            Ok(c.campaign(campaign_id).await.map_err(read)?.version)
        }
        Action::Drill { database_id } => Ok(c
            .database(database_id)
            .await
            .map_err(read)?
            .database
            .version),
    }
}

/// Why a send did not succeed: the item changed since it was read (412), or anything else.
enum SendError {
    Changed(ActionError),
    Other(Failure),
}
use SendError::{Changed, Other};

async fn send(conn: &Conn, request: &ActionRequest, what: &str) -> Result<(), SendError> {
    let mut attempt = 1;
    loop {
        match conn.client.send(request).await {
            Ok(()) => return Ok(()),
            Err(ActionError::Refused(p)) if p.status == 412 => {
                return Err(Changed(ActionError::Refused(p)));
            }
            Err(ActionError::Transport(t)) if attempt < ATTEMPTS => {
                eprintln!(
                    "fleetdeck: {what}: no answer ({}); sending it again with the same Idempotency-Key",
                    fleetdeck_api::text::sanitize_line(&t)
                );
                tokio::time::sleep(RETRY_AFTER * attempt).await;
                attempt += 1;
            }
            Err(e) => return Err(Other(failure(what, &e))),
        }
    }
}
