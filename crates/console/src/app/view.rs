//! What the user is looking at: focus, selections, the open detail view, notices.

use chrono::{DateTime, Utc};
use fleetdeck_api::{Approval, DatabaseDetail, Event};

use crate::keymap::Layer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Fleet,
    Rings,
    Evidence,
    Approvals,
    Log,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Fleet,
        Pane::Rings,
        Pane::Evidence,
        Pane::Approvals,
        Pane::Log,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Fleet => "Fleet",
            Pane::Rings => "Rings",
            Pane::Evidence => "Evidence",
            Pane::Approvals => "Approvals",
            Pane::Log => "Log",
        }
    }

    pub fn number(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0) + 1
    }

    pub fn layer(self) -> Layer {
        match self {
            Pane::Fleet => Layer::Fleet,
            Pane::Rings => Layer::Rings,
            Pane::Evidence => Layer::Evidence,
            Pane::Approvals => Layer::Approvals,
            Pane::Log => Layer::Log,
        }
    }

    pub fn cycle(self, forward: bool) -> Pane {
        let n = Pane::ALL.len();
        let i = self.number() - 1;
        Pane::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// A selection in a sorted pane, held by id so the highlighted item stays the same
/// while events move rows around; `index` is the fallback when the item leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub id: Option<String>,
    pub index: usize,
    /// First row drawn; drawing clamps it so the selection is always visible.
    pub offset: usize,
    /// The item the selection was moved off without the user (it left the pane), until
    /// the user moves or a key meant for it has been held back (see `app::selection`).
    pub moved_off: Option<String>,
}

impl Selection {
    /// The user moves to `index` (already clamped), whose item is `id`, scrolling a
    /// `page`.
    pub fn set(&mut self, index: usize, id: Option<String>, page: usize) {
        self.index = index;
        self.id = id;
        self.moved_off = None;
        let page = page.max(1);
        if index < self.offset {
            self.offset = index;
        } else if index >= self.offset + page {
            self.offset = index + 1 - page;
        }
    }
}

/// Where a database detail's data comes from: asked for, then answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Loading<T> {
    Waiting,
    Ready(T),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum DetailKind {
    /// A database with its evidence and drill history (fetched on open).
    Database {
        id: String,
        detail: Loading<Box<DatabaseDetail>>,
    },
    /// A campaign with every ring and target; drawn live from state.
    Campaign { id: String },
    /// A copy, refreshed by events, so it stays readable after it leaves the queue.
    Approval(Box<Approval>),
    /// One log line's full text.
    Event(Box<Event>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub kind: DetailKind,
    pub scroll: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Ok,
    Info,
    Refused,
}

/// A short message in the footer: an action's result, or why a key did nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
    pub at: Option<DateTime<Utc>>,
}

/// How long a notice stays in the footer.
pub const NOTICE_SECONDS: i64 = 8;
