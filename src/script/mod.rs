//! The scripting CLI: the console's reads and actions without the TUI. Same contexts,
//! tokens, idempotency and refusal rules as the console; output as aligned, sanitised
//! tables or stable JSON (docs/cli.md); exit codes 0 ok, 1 error, 2 usage, 3 refused by
//! policy or state, 4 timed out.

mod act;
mod apply;
mod campaign;
mod campaign_file;
mod get;
mod json;
mod plan;
mod table;
mod wait;

use fleetdeck_api::text::sanitize_line;
use fleetdeck_console::client::Client;
use fleetdeck_console::message::ActionError;
use serde::Serialize;

use crate::cli::{Command, ConnectArgs};
use crate::context::{self, Target};
use crate::failure::Failure;

/// A signed-in scripting session.
pub struct Conn {
    pub client: Client,
    /// Where it points, for messages.
    pub label: String,
    /// Why actions are refused before they are sent, if they are.
    pub read_only: Option<String>,
}

/// Runs one scripting subcommand; `outer` holds the flags given before it.
pub async fn run(command: Command, outer: &ConnectArgs) -> Result<(), Failure> {
    match command {
        Command::Get(args) => {
            let conn = connect(args.connect.clone().or(outer)).await?;
            get::run(&conn, &args).await
        }
        Command::Wait(args) => {
            let conn = connect(args.connect.clone().or(outer)).await?;
            wait::run(&conn, &args).await
        }
        Command::Plan(args) => {
            let conn = connect(args.connect.clone().or(outer)).await?;
            plan::run(&conn, &args).await
        }
        Command::Apply(args) => {
            let conn = connect(args.connect.clone().or(outer)).await?;
            apply::run(&conn, &args).await
        }
        other => {
            let (action, connect_args, output) = act::plan(other)?;
            let conn = connect(connect_args.or(outer)).await?;
            act::run(&conn, action, output).await
        }
    }
}

/// Resolves the context like the console does; the embedded demo is not a target for
/// scripts (it would start a simulation just to read it).
async fn connect(args: ConnectArgs) -> Result<Conn, Failure> {
    let config = context::load_config(args.config_file.as_deref())?;
    let remote = match context::choose(&args, &config)? {
        Target::Remote(remote) => remote,
        Target::Embedded => {
            return Err(Failure::usage(
                "no control plane: pass --context NAME or --server URL, or set \
                 default_context in config.toml",
            ));
        }
    };
    let client = remote.client()?;
    let read_only = if remote.read_only {
        Some(format!("context '{}' is read-only", remote.label))
    } else if args.readonly {
        Some("--readonly is set".to_string())
    } else {
        None
    };
    Ok(Conn {
        client,
        label: remote.label,
        read_only,
    })
}

/// An answer from the server as an exit code and one line: refusals by policy or
/// state are 3, a request the server found malformed is 2, anything else 1.
pub fn failure(what: &str, e: &ActionError) -> Failure {
    let line = |s: String| sanitize_line(&s).into_owned();
    match e {
        ActionError::Refused(p) => {
            let message = line(format!("{what}: refused: {p}"));
            match p.status {
                403 | 409 | 412 => Failure::refused(message),
                400 | 413 | 422 => Failure::usage(message),
                _ => Failure::runtime(message),
            }
        }
        ActionError::Transport(t) => Failure::runtime(line(format!("{what}: {t}"))),
    }
}

/// Prints one JSON document on its own line, inert to a terminal (see [`json`]).
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let text =
        json::to_string(value).map_err(|e| Failure::runtime(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetdeck_api::Problem;

    #[test]
    fn refusals_map_to_their_exit_codes() {
        let code = |status| {
            failure(
                "pause c-1",
                &ActionError::Refused(Problem::new(status, "t", "d")),
            )
            .code
        };
        assert_eq!(code(403), crate::failure::REFUSED);
        assert_eq!(code(409), crate::failure::REFUSED);
        assert_eq!(code(412), crate::failure::REFUSED);
        assert_eq!(code(400), crate::failure::USAGE);
        assert_eq!(code(404), crate::failure::RUNTIME);
        assert_eq!(code(401), crate::failure::RUNTIME);
        let f = failure("x", &ActionError::Transport("gone\u{1b}[2J".into()));
        assert_eq!(f.code, crate::failure::RUNTIME);
        assert!(!f.message.contains('\u{1b}'));
    }
}
