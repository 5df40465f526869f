//! The message sources besides the server: terminal input and the clock, each in its
//! own task sending only [`Msg`]s (none touches the screen); and the signals that stop
//! the console.

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::message::Msg;

/// Translates one terminal event; `None` for what the app does not need.
pub fn translate(event: TermEvent) -> Option<Msg> {
    match event {
        // Terminals that report releases (kitty protocol, Windows) would otherwise
        // act twice per key press.
        TermEvent::Key(key) if key.kind == KeyEventKind::Release => None,
        TermEvent::Key(key) => Some(Msg::Key(key)),
        TermEvent::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        TermEvent::Paste(text) => Some(Msg::Paste(text)),
        TermEvent::Resize(w, h) => Some(Msg::Resize(w, h)),
        TermEvent::FocusGained | TermEvent::FocusLost => None,
    }
}

/// Reads the terminal until it closes or the app stops listening.
pub fn spawn_input(tx: mpsc::Sender<Msg>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => {
                    if let Some(msg) = translate(event)
                        && tx.send(msg).await.is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "terminal input failed");
                    return;
                }
            }
        }
    })
}

/// Sends [`Msg::Tick`] every `every`; a late tick is skipped, never bunched.
pub fn spawn_ticks(tx: mpsc::Sender<Msg>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            if tx.send(Msg::Tick(Utc::now())).await.is_err() {
                return;
            }
        }
    })
}

/// Resolves with the signal's name when the process is asked to stop: SIGTERM (a
/// supervisor, `kill`) or SIGHUP (the terminal went away). Without it either would end
/// the process on the spot, leaving the terminal raw and on the alternate screen. If
/// the handlers cannot be installed it never resolves (and says so in the log).
#[cfg(unix)]
pub async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(mut term), Ok(mut hup)) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
        },
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "cannot watch for SIGTERM and SIGHUP");
            std::future::pending().await
        }
    }
}

/// Elsewhere the console stops only when asked from inside.
#[cfg(not(unix))]
pub async fn stop_signal() -> &'static str {
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn key_releases_and_focus_changes_are_dropped() {
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert!(translate(TermEvent::Key(release)).is_none());
        assert!(translate(TermEvent::FocusLost).is_none());
        let press = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert!(matches!(translate(TermEvent::Key(press)), Some(Msg::Key(k)) if k == press));
        assert!(matches!(
            translate(TermEvent::Paste("x".into())),
            Some(Msg::Paste(p)) if p == "x"
        ));
        assert!(matches!(
            translate(TermEvent::Resize(80, 24)),
            Some(Msg::Resize(80, 24))
        ));
    }
}
