//! `fleetdeck` itself: read the config, find the control plane (a context, a URL, or
//! the embedded demo), sign in and load the first frame's data on the normal screen,
//! then hand the terminal to the console. `:ctx NAME` ends one run and starts the next
//! against the other control plane.

use std::io::Write as _;
use std::time::Duration;

use fleetdeck_api::text::sanitize_line;
use fleetdeck_api::{Snapshot, WhoAmI};
use fleetdeck_console::app::{App, AppConfig, Session};
use fleetdeck_console::client::Client;
use fleetdeck_console::message::ActionError;
use fleetdeck_console::runtime::{self, Exit, RunOptions};

use crate::appearance::{self, Appearance, Dirs, Flags};
use crate::cli::ConsoleArgs;
use crate::config::Config;
use crate::context::{self, Target};
use crate::embedded;
use crate::failure::Failure;
use crate::{logging, paths};

/// Log lines the console keeps in memory unless the config says otherwise.
const LOG_CAP: usize = 10_000;
/// Data age before actions are refused unless the flag or config says otherwise.
const STALE_AFTER: u64 = 30;
/// How long quitting waits for the embedded control plane to stop cleanly.
const EMBEDDED_SHUTDOWN: Duration = Duration::from_secs(2);

pub async fn run(args: ConsoleArgs) -> Result<(), Failure> {
    // Inputs first: a bad file is reported before anything starts.
    let config = context::load_config(args.connect.config_file.as_deref())?;
    let dirs = Dirs::standard().map_err(Failure::usage)?;
    let flags = Flags {
        theme: args.theme.as_deref(),
        keymap: args.keymap.as_deref(),
        no_color: std::env::var_os("NO_COLOR").is_some(),
    };
    let looks = appearance::load(flags, &config, &dirs)
        .map_err(|problems| Failure::usage(problems[0].to_string()))?;
    let mut target = context::choose(&args.connect, &config)?;
    if target != Target::Embedded && (args.demo_reset || args.demo_fleet.is_some()) {
        return Err(Failure::usage(
            "--demo-reset and --demo-fleet are for the embedded demo, not a context or server",
        ));
    }
    let log_dir = paths::log_dir().map_err(Failure::usage)?;
    let (_log_guard, _) =
        logging::to_file(&log_dir, config.log_level.as_deref()).map_err(Failure::usage)?;
    runtime::install_hooks().map_err(|e| Failure::runtime(format!("{e}")))?;
    let mut run = Run {
        first: true,
        mouse: config.mouse,
        notice: None,
    };
    // Where to go back to when a `:ctx` switch cannot connect, and why it could not.
    let mut previous: Option<(Target, String)> = None;
    let mut failed_switches: Vec<String> = Vec::new();
    let outcome = loop {
        let exit = match run_once(&args, &config, &looks, &target, &mut run).await {
            Ok(exit) => exit,
            Err(Stop::Connect(failure)) if previous.is_some() => {
                // The console stays usable: back to the control plane it was on, with
                // the reason on screen.
                tracing::warn!(error = %failure.message, "context switch failed");
                let (back, name) = previous.take().expect("checked");
                target = back;
                run.notice = Some(switch_failed(&name, &failure.message, &target));
                failed_switches.push(failure.message);
                continue;
            }
            Err(Stop::Connect(failure) | Stop::Console(failure)) => break Err(failure),
        };
        run.first = false;
        match exit {
            Exit::Quit => break Ok(()),
            Exit::SwitchContext(name) => {
                tracing::info!(context = %sanitize_line(&name), "switching context");
                match context::by_name(&config, &name) {
                    Ok(remote) => {
                        let back = std::mem::replace(&mut target, Target::Remote(remote));
                        previous = Some((back, name));
                    }
                    Err(failure) => {
                        run.notice = Some(switch_failed(&name, &failure.message, &target));
                        failed_switches.push(failure.message);
                    }
                }
            }
        }
    };
    // Said in the console too, but a notice is gone in seconds: keep a record on the
    // normal screen.
    // The terminal may be gone (a closed window sends SIGHUP): a failed write is not
    // worth a panic.
    let mut err = std::io::stderr().lock();
    for message in failed_switches {
        let _ = writeln!(err, "fleetdeck: could not switch context: {message}");
    }
    outcome
}

/// What carries over from one console run to the next (after `:ctx`).
struct Run {
    /// The program's first run: `--demo-reset` applies to it only.
    first: bool,
    /// Mouse capture, as `:mouse` last left it.
    mouse: bool,
    /// A refusal to show as soon as the console is back (a switch that failed).
    notice: Option<String>,
}

/// The footer's words for a `:ctx` switch that could not connect.
fn switch_failed(name: &str, why: &str, still_on: &Target) -> String {
    let on = match still_on {
        Target::Embedded => embedded::CONTEXT,
        Target::Remote(remote) => remote.label.as_str(),
    };
    // Where the console is comes first: a narrow footer cuts the end.
    format!("could not switch to {name}; still on {on}: {why}")
}

/// Why one run ended early: before the console was on screen (the target could not be
/// reached or signed in to), or while it ran.
enum Stop {
    Connect(Failure),
    Console(Failure),
}

/// One console run against one control plane.
async fn run_once(
    args: &ConsoleArgs,
    config: &Config,
    looks: &Appearance,
    target: &Target,
    run: &mut Run,
) -> Result<Exit, Stop> {
    let (client, label, embedded, remote) = match target {
        Target::Remote(remote) => (
            remote.client().map_err(Stop::Connect)?,
            remote.label.clone(),
            None,
            Some(remote),
        ),
        Target::Embedded => {
            let state = paths::demo_state().map_err(|e| Stop::Connect(Failure::usage(e)))?;
            let size = args.demo_fleet.map_or(embedded::DEMO_FLEET, |n| n as usize);
            let demo = embedded::open(embedded::Demo {
                state: &state,
                fleet_size: size,
                reset: args.demo_reset && run.first,
            })
            .await
            .map_err(|e| Stop::Connect(Failure::runtime(e)))?;
            match &demo.joined {
                Some(host) => {
                    tracing::info!(url = %demo.base_url, state = %state.display(), %host, "joined the embedded control plane of another console")
                }
                None => {
                    tracing::info!(url = %demo.base_url, state = %state.display(), "embedded control plane started")
                }
            }
            let client = Client::new(&demo.base_url, &demo.token).map_err(|e| {
                Stop::Connect(Failure::runtime(format!("embedded control plane: {e}")))
            })?;
            (client, embedded::CONTEXT.to_string(), Some(demo), None)
        }
    };
    // Connecting may take seconds (a `:ctx` switch to a far or dead server): a stop
    // signal then ends the program too, as it does while the console runs.
    let loaded = tokio::select! {
        loaded = preflight(&client) => loaded.map(Some),
        signal = runtime::sources::stop_signal() => {
            tracing::info!(signal, "stopping on a signal while connecting");
            Ok(None)
        }
    };
    let loaded = loaded.and_then(|found| {
        if let (Some((_, snapshot)), Some(_)) = (&found, &embedded) {
            check_demo_size(args.demo_fleet, snapshot.databases.len())?;
        }
        Ok(found)
    });
    let outcome = match loaded {
        Ok(None) => Ok(Exit::Quit),
        Ok(Some((whoami, snapshot))) => {
            let app_config = AppConfig {
                context: label,
                keymap: looks.keymap.clone(),
                theme: looks.theme.clone(),
                stale_after: Duration::from_secs(
                    args.stale_after
                        .or(config.stale_after)
                        .unwrap_or(STALE_AFTER),
                ),
                log_cap: config.log_lines.unwrap_or(LOG_CAP),
            };
            let session = Session {
                read_only: args.connect.readonly,
                read_only_forced: remote.is_some_and(|r| r.read_only),
                production: remote.is_some_and(|r| r.production),
                contexts: config.context_names(),
                themes: looks.user_themes.clone(),
                no_color: looks.no_color,
                notify_bell: config.notify_bell,
                notify_title: config.notify_title,
                local_time: config.local_time,
                mouse: run.mouse,
            };
            let mut app = App::new(app_config).with_session(session);
            if let Some(notice) = run.notice.take() {
                app.report_refused(notice);
            }
            let mut opts = RunOptions {
                mouse_capture: run.mouse,
                ..RunOptions::default()
            };
            debug_panic_after_start();
            // The terminal is restored before this returns, so an error prints on the
            // normal screen.
            let exit = runtime::run(app, client, whoami, snapshot, &mut opts)
                .await
                .map_err(|e| Stop::Console(Failure::runtime(format!("{e:#}"))));
            run.mouse = opts.mouse_capture;
            exit
        }
        Err(failure) => Err(Stop::Connect(failure)),
    };
    if let Some(demo) = embedded {
        // The demo's in-flight simulated work resumes at the next start (every change is
        // one transaction), so a quitting user does not wait for it.
        demo.stop(EMBEDDED_SHUTDOWN).await;
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

pub fn connect_failure(server: &str, e: &ActionError) -> Failure {
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

#[cfg(test)]
mod tests {
    use super::*;

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
