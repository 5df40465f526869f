//! `fleetdeck` itself: find the control plane (a remote one, or the embedded demo),
//! sign in and load the first frame's data on the normal screen, then hand the terminal
//! to the console.

use std::path::Path;
use std::time::Duration;

use fleetdeck_api::text::sanitize_line;
use fleetdeck_api::{Snapshot, WhoAmI};
use fleetdeck_console::app::{App, AppConfig};
use fleetdeck_console::client::Client;
use fleetdeck_console::message::ActionError;
use fleetdeck_console::runtime::{self, RunOptions};

use crate::cli::ConsoleArgs;
use crate::embedded;
use crate::failure::Failure;
use crate::{appearance, logging, paths};

/// Log lines the console keeps in memory.
const LOG_CAP: usize = 10_000;
const TOKEN_VAR: &str = "FLEETDECK_TOKEN";
/// How long quitting waits for the embedded control plane to stop cleanly.
const EMBEDDED_SHUTDOWN: Duration = Duration::from_secs(2);

pub async fn run(args: ConsoleArgs) -> Result<(), Failure> {
    // Inputs first: a bad file is reported before anything starts.
    let keymap = appearance::keymap(args.keymap.as_deref())?;
    let theme = appearance::theme(args.theme.as_deref())?;
    let log_dir = paths::log_dir().map_err(Failure::usage)?;
    let (_log_guard, _) = logging::to_file(&log_dir).map_err(Failure::usage)?;

    let (client, context, embedded) = match &args.server {
        Some(url) => {
            let token = read_token(url, args.token_file.as_deref())?;
            let client = Client::new(url, &token)
                .map_err(|e| Failure::usage(format!("--server {}: {e}", sanitize_line(url))))?;
            (client, client_context(url), None)
        }
        None => {
            let state = paths::demo_state().map_err(Failure::usage)?;
            if args.demo_reset {
                embedded::reset(&state).map_err(Failure::runtime)?;
                tracing::info!(state = %state.display(), "demo state removed");
            }
            let size = args.demo_fleet.map_or(embedded::DEMO_FLEET, |n| n as usize);
            let demo = embedded::start(&state, size)
                .await
                .map_err(Failure::runtime)?;
            tracing::info!(url = %demo.base_url, state = %state.display(), "embedded control plane started");
            let client = Client::new(&demo.base_url, &demo.token)
                .map_err(|e| Failure::runtime(format!("embedded control plane: {e}")))?;
            (client, embedded::CONTEXT.to_string(), Some(demo.server))
        }
    };

    let loaded = preflight(&client).await.and_then(|(whoami, snapshot)| {
        if embedded.is_some() {
            check_demo_size(args.demo_fleet, snapshot.databases.len())?;
        }
        Ok((whoami, snapshot))
    });
    let outcome = match loaded {
        Ok((whoami, snapshot)) => {
            let config = AppConfig {
                context,
                keymap,
                theme,
                stale_after: Duration::from_secs(args.stale_after),
                log_cap: LOG_CAP,
            };
            console(client, config, whoami, snapshot).await
        }
        Err(failure) => Err(failure),
    };
    if let Some(server) = embedded {
        // The demo's in-flight simulated work resumes at the next start (every change is
        // one transaction), so a quitting user does not wait for it.
        if tokio::time::timeout(EMBEDDED_SHUTDOWN, server.shutdown())
            .await
            .is_err()
        {
            tracing::info!(
                "embedded control plane still busy after {EMBEDDED_SHUTDOWN:?}; leaving it to resume next time"
            );
        }
    }
    outcome
}

/// An existing demo keeps its fleet; asking for another size without `--demo-reset`
/// would silently show the old one.
fn check_demo_size(asked: Option<u32>, actual: usize) -> Result<(), Failure> {
    match asked {
        Some(n) if n as usize != actual => Err(Failure::usage(format!(
            "the existing demo has {actual} databases; to start one with {n}, add --demo-reset"
        ))),
        _ => Ok(()),
    }
}

/// The header's context for a remote server: its URL without credentials.
fn client_context(url: &str) -> String {
    sanitize_line(url.trim().trim_end_matches('/')).into_owned()
}

async fn console(
    client: Client,
    config: AppConfig,
    whoami: WhoAmI,
    snapshot: Snapshot,
) -> Result<(), Failure> {
    runtime::install_hooks().map_err(|e| Failure::runtime(format!("{e}")))?;
    let app = App::new(config);
    debug_panic_after_start();
    // The terminal is restored before this returns, so the error prints on the normal
    // screen.
    runtime::run(app, client, whoami, snapshot, RunOptions::default())
        .await
        .map_err(|e| Failure::runtime(format!("{e:#}")))
}

/// Debug builds only: `FLEETDECK_DEBUG_PANIC=MS` panics a task MS milliseconds after
/// the console starts, so the end-to-end tests can prove the terminal is restored and
/// the report printed on a panic. Release builds have no such switch.
fn debug_panic_after_start() {
    if !cfg!(debug_assertions) {
        return;
    }
    let Some(ms) = std::env::var("FLEETDECK_DEBUG_PANIC")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        panic!("deliberate panic (FLEETDECK_DEBUG_PANIC={ms})");
    });
}

/// Signs in and loads the first frame, so a refused token or an unreachable server is a
/// one-line message instead of a half-drawn screen.
async fn preflight(client: &Client) -> Result<(WhoAmI, Snapshot), Failure> {
    let server = client.base_url().to_string();
    let whoami = client
        .whoami()
        .await
        .map_err(|e| connect_failure(&server, &e))?;
    let snapshot = client
        .snapshot()
        .await
        .map_err(|e| connect_failure(&server, &e))?;
    tracing::info!(
        user = %sanitize_line(&whoami.user),
        last_seq = snapshot.last_seq,
        databases = snapshot.databases.len(),
        "signed in and loaded"
    );
    Ok((whoami, snapshot))
}

fn connect_failure(server: &str, e: &ActionError) -> Failure {
    let message = match e {
        ActionError::Refused(p) if p.status == 401 => {
            format!("the server at {server} refused the token: {p}")
        }
        ActionError::Refused(p) if p.status == 403 => {
            format!("the server at {server} does not let this token read: {p}")
        }
        ActionError::Refused(p) => format!("the server at {server} refused: {p}"),
        ActionError::Transport(t) => t.clone(),
    };
    Failure::runtime(sanitize_line(&message).into_owned())
}

/// The token from `--token-file`, else `FLEETDECK_TOKEN`.
fn read_token(server: &str, file: Option<&Path>) -> Result<String, Failure> {
    let token = match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| {
                Failure::usage(format!(
                    "token file {}: cannot read it: {e}",
                    path.display()
                ))
            })?
            .trim()
            .to_string(),
        None => std::env::var(TOKEN_VAR)
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    if token.is_empty() {
        return Err(Failure::usage(match file {
            Some(path) => format!("token file {}: it is empty", path.display()),
            None => format!(
                "no token for {}: pass --token-file FILE or set {TOKEN_VAR}",
                sanitize_line(server)
            ),
        }));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_token_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n  \n").unwrap();
        let f = read_token("http://x", Some(&empty)).unwrap_err();
        assert_eq!(f.code, crate::failure::USAGE);
        assert!(f.message.ends_with("it is empty"), "{}", f.message);
        let missing = dir.path().join("missing");
        let f = read_token("http://x", Some(&missing)).unwrap_err();
        assert!(f.message.starts_with("token file ") && f.message.contains("cannot read"));
        let good = dir.path().join("good");
        std::fs::write(&good, "fdk_abc\n").unwrap();
        assert_eq!(read_token("http://x", Some(&good)).unwrap(), "fdk_abc");
    }

    #[test]
    fn a_demo_of_another_size_needs_a_reset() {
        assert!(check_demo_size(None, 240).is_ok());
        assert!(check_demo_size(Some(240), 240).is_ok());
        let f = check_demo_size(Some(50), 240).unwrap_err();
        assert_eq!(f.code, crate::failure::USAGE);
        assert!(f.message.contains("--demo-reset"), "{}", f.message);
    }

    #[test]
    fn refusals_are_one_inert_line() {
        let p = fleetdeck_api::Problem::new(401, "Unauthorized", "unknown \u{1b}[31mtoken");
        let f = connect_failure("http://x", &ActionError::Refused(p));
        assert_eq!(f.code, crate::failure::RUNTIME);
        assert!(
            f.message
                .starts_with("the server at http://x refused the token")
        );
        assert!(!f.message.contains('\u{1b}') && !f.message.contains('\n'));
    }
}
