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
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use fleetdeck_api::{EventSubject, Level, kinds};
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
}

/// The refusals of the current window (one per server).
#[derive(Default)]
pub struct Refusals(Mutex<Window>);

impl Refusals {
    /// Records `r`: written now if it is the first of its caller, action and subject in
    /// this window (and the window has room), else counted for the window's summary.
    /// A failed write is logged, never the request's answer.
    pub async fn record(&self, store: &Store, r: Refusal) {
        let key = Key {
            user: r.user.clone(),
            action: r.action,
            subject: r.subject.label(),
        };
        let first = {
            let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let room = w.keys.len() < FIRSTS_PER_WINDOW;
            match w.keys.get_mut(&key) {
                Some(repeats) => {
                    let count = repeats.as_ref().map_or(0, |x| x.count) + 1;
                    *repeats = Some(Repeats {
                        count,
                        last: r.clone(),
                    });
                    false
                }
                None if room => {
                    w.keys.insert(key, None);
                    true
                }
                None => {
                    w.overflow += 1;
                    false
                }
            }
        };
        if first {
            write(store, vec![r.first_event()]).await;
        }
    }

    /// Writes the summaries of the window that ends now and opens the next one.
    pub async fn flush(&self, store: &Store) {
        let window = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        let secs = WINDOW.as_secs();
        let mut events: Vec<NewEvent> = window
            .keys
            .into_values()
            .flatten()
            .map(|Repeats { count, last }| {
                last.event(format!(
                    "refused {count} more times in the last {secs} s: {} asked to {}, the last time from {}: {} {}",
                    last.user,
                    last.what(),
                    last.peer(),
                    last.status,
                    last.reason
                ))
            })
            .collect();
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

/// Writes each window's summaries until `shutdown` (the server flushes the last window
/// itself once requests have stopped).
pub async fn flush_every(
    refusals: std::sync::Arc<Refusals>,
    store: Store,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(WINDOW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => refusals.flush(&store).await,
            () = shutdown.cancelled() => return,
        }
    }
}
