//! The messages that drive the console and the effects it asks the runtime to run.
//! This file is the seam between the state machine (`app`, `ui`) and the runtime
//! (`client`, `runtime`): neither side reaches past it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};
use fleetdeck_api::{DatabaseDetail, Event, Problem, Snapshot, WhoAmI};
use uuid::Uuid;

/// Everything that can happen to the console, in one enum, on one channel.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Paste(String),
    Resize(u16, u16),
    /// Once a second: clocks and ages move on; expiry countdowns.
    Tick(DateTime<Utc>),
    /// Signed in and loaded: the first frame's data.
    Loaded {
        whoami: WhoAmI,
        snapshot: Box<Snapshot>,
    },
    /// One event from the stream, in sequence order, never twice.
    Server(Box<Event>),
    /// The connection changed state (lost, reconnecting, back).
    Connection(ConnState),
    /// Proof of life from the server (keep-alive or event); the data is this fresh.
    Alive(DateTime<Utc>),
    /// The answer to an [`ActionRequest`].
    ActionDone {
        request_id: u64,
        result: Result<(), ActionError>,
    },
    /// The answer to [`Effect::LoadDatabase`].
    DatabaseLoaded(Result<Box<DatabaseDetail>, ActionError>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnState {
    Connecting,
    Connected {
        since: DateTime<Utc>,
    },
    /// Lost; `retry_in` is the backoff before the next attempt.
    Disconnected {
        since: DateTime<Utc>,
        reason: String,
        attempt: u32,
        retry_in: Duration,
    },
}

/// Why an action did not succeed, in words for the user.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionError {
    /// The server refused it; its problem detail.
    Refused(Problem),
    /// It did not reach the server or no answer came (timeout, connection).
    Transport(String),
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionError::Refused(p) => write!(f, "{p}"),
            ActionError::Transport(s) => write!(f, "{s}"),
        }
    }
}

/// Something the runtime must do for the app; the app never does I/O itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a mutating request; answer with [`Msg::ActionDone`] carrying `request.id`.
    Send(ActionRequest),
    /// Fetch `GET /v1/databases/{id}`; answer with [`Msg::DatabaseLoaded`].
    LoadDatabase(String),
    /// Leave the program.
    Quit,
}

/// Something the terminal host must do that is not a network call. Kept apart from
/// [`Effect`] so that adding one never breaks the runtime's exhaustive effect match;
/// the runtime takes them with `App::take_host_requests` after each update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRequest {
    /// Ring the terminal bell (a new approval, a campaign that paused itself).
    Bell,
    /// Set the terminal window title (the runtime restores the old one at exit).
    SetTitle(String),
    /// Capture the mouse (clicks and wheel reach the console) or release it (the
    /// terminal selects text again): `:mouse`.
    MouseCapture(bool),
    /// Connect to another context from the config (`:ctx NAME`); the name was checked
    /// against `Session::contexts`.
    SwitchContext(String),
}

/// One mutating request, exactly as it will be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRequest {
    /// Local id to match the answer.
    pub id: u64,
    pub action: Action,
    /// Sent as `Idempotency-Key`; a retry of the same request reuses it.
    pub idempotency_key: Uuid,
    /// Sent as `If-Match`: the version of the item the user saw.
    pub if_match: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Approve {
        approval_id: String,
        comment: Option<String>,
    },
    Reject {
        approval_id: String,
        comment: String,
    },
    Pause {
        campaign_id: String,
        reason: String,
    },
    Resume {
        campaign_id: String,
        reason: Option<String>,
    },
    Rollback {
        campaign_id: String,
        reason: String,
    },
    Drill {
        database_id: String,
    },
}

impl Action {
    /// `(method, path)` of the request.
    pub fn path(&self) -> String {
        match self {
            Action::Approve { approval_id, .. } => format!("/v1/approvals/{approval_id}/approve"),
            Action::Reject { approval_id, .. } => format!("/v1/approvals/{approval_id}/reject"),
            Action::Pause { campaign_id, .. } => format!("/v1/campaigns/{campaign_id}/pause"),
            Action::Resume { campaign_id, .. } => format!("/v1/campaigns/{campaign_id}/resume"),
            Action::Rollback { campaign_id, .. } => {
                format!("/v1/campaigns/{campaign_id}/rollback")
            }
            Action::Drill { database_id } => format!("/v1/databases/{database_id}/drills"),
        }
    }

    /// The JSON body of the request.
    pub fn body(&self) -> serde_json::Value {
        use fleetdeck_api::{CommentBody, ReasonBody};
        let v = match self {
            Action::Approve { comment, .. } => serde_json::to_value(CommentBody {
                comment: comment.clone(),
            }),
            Action::Reject { comment, .. } => serde_json::to_value(CommentBody {
                comment: Some(comment.clone()),
            }),
            Action::Pause { reason, .. } | Action::Rollback { reason, .. } => {
                serde_json::to_value(ReasonBody {
                    reason: Some(reason.clone()),
                })
            }
            Action::Resume { reason, .. } => serde_json::to_value(ReasonBody {
                reason: reason.clone(),
            }),
            Action::Drill { .. } => serde_json::to_value(fleetdeck_api::StartDrill {}),
        };
        v.expect("request bodies always serialise")
    }

    /// Verb for notices and dialogs.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Approve { .. } => "approve",
            Action::Reject { .. } => "reject",
            Action::Pause { .. } => "pause",
            Action::Resume { .. } => "resume",
            Action::Rollback { .. } => "rollback",
            Action::Drill { .. } => "drill",
        }
    }
}
