//! The live execution log: a bounded buffer with follow mode.
//!
//! Lines are numbered absolutely (the first line ever kept is 0) so a position stays
//! meaningful while old lines fall off the front at the cap.

use std::collections::VecDeque;

use fleetdeck_api::Event;

pub struct LogBuffer {
    lines: VecDeque<Event>,
    cap: usize,
    /// Lines that fell off the front at the cap.
    dropped: u64,
    /// Keep the newest line in view.
    follow: bool,
    /// Absolute number of the selected line while not following.
    selected: u64,
    /// Absolute number of the first line drawn while not following.
    pub top: u64,
    /// Lines that arrived since following stopped.
    unseen: u64,
    wrap: bool,
}

impl LogBuffer {
    pub fn new(cap: usize) -> LogBuffer {
        LogBuffer {
            lines: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
            follow: true,
            selected: 0,
            top: 0,
            unseen: 0,
            wrap: false,
        }
    }

    pub fn clear(&mut self) {
        *self = LogBuffer {
            wrap: self.wrap,
            ..LogBuffer::new(self.cap)
        };
    }

    pub fn push(&mut self, event: Event) {
        if self.lines.len() == self.cap {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(event);
        if !self.follow {
            self.unseen += 1;
            // The line being read fell off the front: keep the oldest one selected.
            self.selected = self.selected.max(self.dropped);
            self.top = self.top.max(self.dropped);
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn following(&self) -> bool {
        self.follow
    }

    pub fn unseen(&self) -> u64 {
        self.unseen
    }

    pub fn wrap(&self) -> bool {
        self.wrap
    }

    pub fn toggle_wrap(&mut self) {
        self.wrap = !self.wrap;
    }

    /// First absolute line number still kept.
    pub fn first(&self) -> u64 {
        self.dropped
    }

    /// Absolute number of the newest line (or `first()` when empty).
    pub fn last(&self) -> u64 {
        self.dropped + (self.lines.len() as u64).saturating_sub(1)
    }

    pub fn get(&self, abs: u64) -> Option<&Event> {
        let i = abs.checked_sub(self.dropped)?;
        self.lines.get(usize::try_from(i).ok()?)
    }

    /// The selected line: the newest while following.
    pub fn selected(&self) -> u64 {
        if self.follow {
            self.last()
        } else {
            self.selected
        }
    }

    pub fn selected_event(&self) -> Option<&Event> {
        self.get(self.selected())
    }

    /// Moves the selection; moving up stops following, reaching the newest resumes it.
    pub fn move_by(&mut self, delta: i64, page: usize) {
        if self.lines.is_empty() {
            return;
        }
        let from = self.selected();
        let to = from
            .saturating_add_signed(delta)
            .clamp(self.first(), self.last());
        if to >= self.last() && delta > 0 {
            self.follow_newest();
            return;
        }
        if self.follow && to < self.last() {
            self.follow = false;
            self.unseen = 0;
            self.top = self.last().saturating_sub(page.saturating_sub(1) as u64);
        }
        self.selected = to;
        let page = page.max(1) as u64;
        if to < self.top {
            self.top = to;
        } else if to >= self.top + page {
            self.top = to + 1 - page;
        }
        self.top = self.top.max(self.first());
    }

    pub fn follow_newest(&mut self) {
        self.follow = true;
        self.unseen = 0;
    }

    /// `f`: toggles following; stopping keeps the newest line selected.
    pub fn toggle_follow(&mut self, page: usize) {
        if self.follow {
            self.follow = false;
            self.unseen = 0;
            self.selected = self.last();
            self.top = self.last().saturating_sub(page.saturating_sub(1) as u64);
        } else {
            self.follow_newest();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use fleetdeck_api::{EventSubject, Level};

    fn ev(seq: u64) -> Event {
        Event {
            seq,
            at: chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            actor: "runner".into(),
            kind: "target.state".into(),
            level: Level::Info,
            subject: EventSubject::default(),
            message: format!("line {seq}"),
            correlation_id: None,
            change: None,
        }
    }

    #[test]
    fn follow_scroll_and_cap() {
        let mut log = LogBuffer::new(5);
        for s in 1..=5 {
            log.push(ev(s));
        }
        assert!(log.following());
        assert_eq!(log.selected_event().unwrap().seq, 5);
        log.move_by(-2, 3);
        assert!(!log.following());
        assert_eq!(log.selected_event().unwrap().seq, 3);
        log.push(ev(6));
        log.push(ev(7));
        assert_eq!(log.unseen(), 2);
        assert_eq!(log.dropped(), 2);
        assert_eq!(log.selected_event().unwrap().seq, 3);
        log.push(ev(8));
        // Seq 3 fell off: the oldest kept line is selected instead.
        assert_eq!(log.selected_event().unwrap().seq, 4);
        log.move_by(10, 3);
        assert!(log.following());
        assert_eq!(log.unseen(), 0);
        assert_eq!(log.selected_event().unwrap().seq, 8);
    }
}
