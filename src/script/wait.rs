//! `fleetdeck wait CAMPAIGN --until completed|paused|rolled-back --timeout 10m`: polls
//! the campaign until it is in that state (exit 0), can no longer reach it (exit 3), or
//! the time runs out (exit 4). A server that does not answer for a while is waited
//! out; a refusal (unknown campaign, refused token) ends the wait at once.

use std::time::Duration;

use fleetdeck_api::{Campaign, CampaignState};
use fleetdeck_console::message::ActionError;
use serde::Serialize;
use tokio::time::Instant;

use super::{Conn, failure, print_json};
use crate::cli_script::{Output, WaitArgs, WaitFor};
use crate::failure::Failure;

const POLL_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, Serialize)]
struct Waited<'a> {
    campaign: &'a str,
    state: &'a str,
    waited_seconds: f64,
}

fn wanted(until: WaitFor) -> CampaignState {
    match until {
        WaitFor::Completed => CampaignState::Completed,
        WaitFor::Paused => CampaignState::Paused,
        WaitFor::RolledBack => CampaignState::RolledBack,
    }
}

/// Whether a campaign in `state` can still get to `until`.
fn reachable(state: CampaignState, until: WaitFor) -> bool {
    if state == wanted(until) {
        return true;
    }
    match until {
        // A rollback never ends in completed, nor pauses.
        WaitFor::Completed | WaitFor::Paused => {
            !state.is_finished() && state != CampaignState::RollingBack
        }
        WaitFor::RolledBack => !state.is_finished(),
    }
}

pub async fn run(conn: &Conn, args: &WaitArgs) -> Result<(), Failure> {
    let what = format!(
        "wait {}",
        fleetdeck_api::text::sanitize_line(&args.campaign)
    );
    let started = Instant::now();
    let deadline = started + args.timeout;
    let mut last: Option<Campaign> = None;
    let mut last_error: Option<String>;
    loop {
        match conn.client.campaign(&args.campaign).await {
            Ok(c) => {
                if c.state == wanted(args.until) {
                    return done(&c, started, args.output.output);
                }
                if !reachable(c.state, args.until) {
                    return Err(Failure::refused(format!(
                        "{what}: the campaign is {}; it can no longer become {}",
                        c.state.as_str(),
                        wanted(args.until).as_str()
                    )));
                }
                last = Some(c);
                last_error = None;
            }
            Err(ActionError::Transport(t)) => last_error = Some(t),
            Err(e) => return Err(failure(&what, &e)),
        }
        let now = Instant::now();
        if now >= deadline {
            let state = match (&last, &last_error) {
                (_, Some(e)) => format!("the server last said: {e}"),
                (Some(c), None) => format!("the campaign is still {}", c.state.as_str()),
                (None, None) => "no answer yet".into(),
            };
            return Err(Failure::timed_out(
                fleetdeck_api::text::sanitize_line(&format!(
                    "{what}: timed out after {} s waiting for {}; {state}",
                    args.timeout.as_secs_f32(),
                    wanted(args.until).as_str()
                ))
                .into_owned(),
            ));
        }
        tokio::time::sleep(POLL_EVERY.min(deadline - now)).await;
    }
}

fn done(c: &Campaign, started: Instant, output: Output) -> Result<(), Failure> {
    let waited = started.elapsed().as_secs_f64();
    if output == Output::Json {
        print_json(&Waited {
            campaign: &c.id,
            state: c.state.as_str(),
            waited_seconds: (waited * 10.0).round() / 10.0,
        })
    } else {
        println!(
            "{}: {} after {:.1} s",
            fleetdeck_api::text::sanitize_line(&c.id),
            c.state.as_str(),
            waited
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_states_end_the_wait() {
        use CampaignState::*;
        assert!(reachable(Paused, WaitFor::Completed));
        assert!(!reachable(RollingBack, WaitFor::Completed));
        assert!(!reachable(RolledBack, WaitFor::Completed));
        assert!(!reachable(Completed, WaitFor::Paused));
        assert!(reachable(RollingBack, WaitFor::RolledBack));
        assert!(!reachable(Completed, WaitFor::RolledBack));
        assert!(reachable(Running, WaitFor::Paused));
    }
}
