//! Refused actions in the audit trail. An action refused with 403, 409 or 412 is an
//! `action.refused` event (who, what, on what, why, from which address) in the one
//! event sequence, so an audit sees the attempts that changed nothing too.
//!
//! Bounded, so a flood of refusals cannot crowd the log: in each [`WINDOW`] the first
//! refusal of a caller, action and subject is written at once and the repeats are
//! counted, then written as one summary when the window ends; past
//! [`FIRSTS_PER_WINDOW`] different callers, actions and subjects in one window, the
//! rest are only counted, in one more summary. At most `2 × FIRSTS_PER_WINDOW + 1`
//! events per window, however many requests are refused.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use fleetdeck_api::{EventSubject, Level, kinds};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::Store;
use crate::store::events::{NewEvent, append};

/// How long repeats of one refusal are counted before their summary is written.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Refusals written one by one per window; the rest are counted.
pub const FIRSTS_PER_WINDOW: usize = 20;
/// Longest subject id taken from a request path into the log (a refused request may
/// name anything).
const MAX_SUBJECT_ID: usize = 80;

/// Whether an answer with `status` is a refusal the audit trail records.
pub fn is_refusal(status: u16) -> bool {
    matches!(
        StatusCode::from_u16(status),
        Ok(StatusCode::FORBIDDEN | StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED)
    )
}

/// A subject id from a request path, made safe to log and bounded.
pub fn subject_id(raw: &str) -> String {
    fleetdeck_api::text::sanitize_line(raw)
        .chars()
        .take(MAX_SUBJECT_ID)
        .collect()
}

/// One refused request.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub user: String,
    /// What was asked: `approve`, `pause`, `drill`, ...
    pub action: &'static str,
    pub subject: EventSubject,
    pub peer: Option<SocketAddr>,
    pub status: u16,
    pub reason: String,
    pub correlation: Option<String>,
}

impl Refusal {
    fn what(&self) -> String {
        let label = self.subject.label();
        if label.is_empty() {
            self.action.to_string()
        } else {
            format!("{} {label}", self.action)
        }
    }

    fn peer(&self) -> String {
        self.peer
            .map_or_else(|| "an unknown address".to_string(), |p| p.to_string())
    }

    fn event(&self, message: String) -> NewEvent {
        NewEvent::new(&self.user, kinds::ACTION_REFUSED, Level::Warn, message)
            .subject(self.subject.clone())
            .correlation(self.correlation.clone())
    }

    fn first_event(&self) -> NewEvent {
        self.event(format!(
            "refused: {} asked to {} from {}: {} {}",
            self.user,
            self.what(),
            self.peer(),
            self.status,
            self.reason
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    user: String,
    action: &'static str,
    subject: String,
}

/// Repeats of one refusal in the current window.
struct Repeats {
    count: u64,
    last: Refusal,
}

#[derive(Default)]
struct Window {
    keys: HashMap<Key, Option<Repeats>>,
    /// Refusals beyond [`FIRSTS_PER_WINDOW`] keys.
    overflow: u64,
    /// First refusals not yet written.
    firsts: Vec<NewEvent>,
}

/// The refusals of the current window (one per server). Recording never waits for the
/// store: a refused request is answered at once, and [`flush_every`] writes the events
/// a moment later, several in one transaction under a flood.
#[derive(Default)]
pub struct Refusals {
    window: Mutex<Window>,
    wake: Notify,
}

impl Refusals {
    /// Records `r`: to be written now if it is the first of its caller, action and
    /// subject in this window (and the window has room), else counted for the window's
    /// summary.
    pub fn record(&self, r: Refusal) {
        let key = Key {
            user: r.user.clone(),
            action: r.action,
            subject: r.subject.label(),
        };
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let room = w.keys.len() < FIRSTS_PER_WINDOW;
        match w.keys.get_mut(&key) {
            Some(repeats) => {
                let count = repeats.as_ref().map_or(0, |x| x.count) + 1;
                *repeats = Some(Repeats { count, last: r });
            }
            None if room => {
                w.keys.insert(key, None);
                w.firsts.push(r.first_event());
                drop(w);
                self.wake.notify_one();
            }
            None => w.overflow += 1,
        }
    }

    /// Writes the first refusals recorded since the last write.
    async fn write_firsts(&self, store: &Store) {
        let firsts =
            std::mem::take(&mut self.window.lock().unwrap_or_else(|e| e.into_inner()).firsts);
        write(store, firsts).await;
    }

    /// Writes what is pending and the summaries of the window that ends now, and opens
    /// the next window. A failed write is logged, never a request's answer.
    pub async fn flush(&self, store: &Store) {
        let window = std::mem::take(&mut *self.window.lock().unwrap_or_else(|e| e.into_inner()));
        let secs = WINDOW.as_secs();
        let mut events = window.firsts;
        events.extend(window.keys.into_values().flatten().map(
            |Repeats { count, last }| {
                last.event(format!(
                    "refused {count} more times in the last {secs} s: {} asked to {}, the last time from {}: {} {}",
                    last.user,
                    last.what(),
                    last.peer(),
                    last.status,
                    last.reason
                ))
            },
        ));
        if window.overflow > 0 {
            events.push(NewEvent::new(
                "server",
                kinds::ACTION_REFUSED,
                Level::Warn,
                format!(
                    "{} more refused actions in the last {secs} s, not recorded one by one: more than {FIRSTS_PER_WINDOW} callers, actions and subjects were refused in that time",
                    window.overflow
                ),
            ));
        }
        write(store, events).await;
    }
}

async fn write(store: &Store, events: Vec<NewEvent>) {
    if events.is_empty() {
        return;
    }
    let result = store
        .write(move |tx| {
            Box::pin(async move {
                for ev in events {
                    append(tx, ev).await?;
                }
                Ok::<_, crate::DomainError>(())
            })
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "refused actions not recorded in the audit trail");
    }
}

/// Writes first refusals as they come and each window's summaries, until `shutdown`
/// (the server flushes the last window itself once requests have stopped).
pub async fn flush_every(refusals: Arc<Refusals>, store: Store, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(WINDOW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            () = refusals.wake.notified() => refusals.write_firsts(&store).await,
            _ = tick.tick() => refusals.flush(&store).await,
            () = shutdown.cancelled() => return,
        }
    }
}
