//! The live execution log: a bounded buffer with follow mode.
//!
//! Lines are numbered absolutely (the first line ever kept is 0) so a position stays
//! meaningful while old lines fall off the front at the cap.

use std::collections::VecDeque;

use fleetdeck_api::Event;

use super::indexes::Predicate;

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
    /// While not following: the absolute number the next line got when following
    /// stopped; shown lines from there on are "new below".
    unseen_from: u64,
    wrap: bool,
    filter: Option<Predicate<Event>>,
    /// With a filter: the absolute numbers of the lines that pass it, oldest first.
    /// Each line is tested once, as it arrives.
    shown: VecDeque<u64>,
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
            unseen_from: 0,
            wrap: false,
            filter: None,
            shown: VecDeque::new(),
        }
    }

    /// Empties the buffer (a new snapshot); wrapping and the filter stay.
    pub fn clear(&mut self) {
        let filter = self.filter.take();
        *self = LogBuffer {
            wrap: self.wrap,
            filter,
            ..LogBuffer::new(self.cap)
        };
    }

    /// Adds the newest line. True when the line held selected (not following) fell off
    /// the front at the cap, so the selection moved to the oldest kept line.
    pub fn push(&mut self, event: Event) -> bool {
        let mut lost = false;
        if self.lines.len() == self.cap {
            self.lines.pop_front();
            self.dropped += 1;
            if self.shown.front().is_some_and(|&a| a < self.dropped) {
                self.shown.pop_front();
            }
        }
        let abs = self.end();
        if let Some(f) = &self.filter
            && f(&event)
        {
            self.shown.push_back(abs);
        }
        self.lines.push_back(event);
        if !self.follow {
            // The line being read fell off the front: keep the oldest one selected.
            if self.selected < self.dropped {
                self.selected = self.view_at(0).unwrap_or(self.dropped);
                lost = true;
            }
            self.top = self.top.max(self.dropped);
        }
        lost
    }

    /// The sequence number of the line held selected; `None` while following.
    pub fn held_seq(&self) -> Option<u64> {
        if self.follow {
            return None;
        }
        self.selected_event().map(|e| e.seq)
    }

    /// Holds the line with sequence number `seq` selected (after a reload), if it is
    /// kept and shown. Lines are kept in sequence order.
    pub fn hold_seq(&mut self, seq: u64, page: usize) -> bool {
        let i = self.lines.partition_point(|e| e.seq < seq);
        if self.lines.get(i).is_none_or(|e| e.seq != seq) {
            return false;
        }
        let abs = self.dropped + i as u64;
        let pos = self.view_pos(abs);
        if self.view_at(pos) != Some(abs) {
            return false;
        }
        if self.follow {
            self.stop_following(page);
        }
        self.select_pos(pos, page);
        true
    }

    /// Sets or clears the filter: the one pass over every kept line, on the user's
    /// keystroke. A selection that no longer shows moves to the nearest line that does.
    pub fn set_filter(&mut self, filter: Option<Predicate<Event>>) {
        self.shown = match &filter {
            Some(f) => (self.dropped..self.end())
                .zip(&self.lines)
                .filter(|(_, e)| f(e))
                .map(|(abs, _)| abs)
                .collect(),
            None => VecDeque::new(),
        };
        self.filter = filter;
        if !self.follow && self.view_len() > 0 {
            self.selected = self.nearest(self.selected);
            self.top = self.nearest(self.top).min(self.selected);
        }
    }

    pub fn filtered(&self) -> bool {
        self.filter.is_some()
    }

    /// Every kept line, filtered or not.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lines shown: those passing the filter, or all.
    pub fn view_len(&self) -> usize {
        if self.filter.is_some() {
            self.shown.len()
        } else {
            self.lines.len()
        }
    }

    /// The absolute number of the line at `pos` among the shown lines.
    pub fn view_at(&self, pos: usize) -> Option<u64> {
        if self.filter.is_some() {
            self.shown.get(pos).copied()
        } else {
            (pos < self.lines.len()).then(|| self.dropped + pos as u64)
        }
    }

    /// Where `abs` is among the shown lines, or where it would be: the count of shown
    /// lines before it.
    pub fn view_pos(&self, abs: u64) -> usize {
        if self.filter.is_some() {
            self.shown.partition_point(|&a| a < abs)
        } else {
            usize::try_from(abs.saturating_sub(self.dropped))
                .unwrap_or(usize::MAX)
                .min(self.lines.len())
        }
    }

    /// The shown line at or after `abs`, else the last shown line before it.
    fn nearest(&self, abs: u64) -> u64 {
        let pos = self.view_pos(abs).min(self.view_len().saturating_sub(1));
        self.view_at(pos).unwrap_or(abs)
    }

    /// The absolute number the next line will get.
    fn end(&self) -> u64 {
        self.dropped + self.lines.len() as u64
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn following(&self) -> bool {
        self.follow
    }

    /// Shown lines that arrived since following stopped.
    pub fn unseen(&self) -> u64 {
        if self.follow {
            return 0;
        }
        (self.view_len() - self.view_pos(self.unseen_from)) as u64
    }

    pub fn wrap(&self) -> bool {
        self.wrap
    }

    pub fn toggle_wrap(&mut self) {
        self.wrap = !self.wrap;
    }

    pub fn get(&self, abs: u64) -> Option<&Event> {
        let i = abs.checked_sub(self.dropped)?;
        self.lines.get(usize::try_from(i).ok()?)
    }

    /// The selected line: the newest shown while following; `None` when nothing shows.
    pub fn selected(&self) -> Option<u64> {
        if self.follow {
            self.view_len().checked_sub(1).and_then(|p| self.view_at(p))
        } else {
            (self.view_len() > 0).then_some(self.selected)
        }
    }

    pub fn selected_event(&self) -> Option<&Event> {
        self.get(self.selected()?)
    }

    /// Moves the selection among the shown lines; moving up stops following, reaching
    /// the newest resumes it.
    pub fn move_by(&mut self, delta: i64, page: usize) {
        let Some(from) = self.selected() else {
            return;
        };
        let last = self.view_len() - 1;
        let from = self.view_pos(from) as i64;
        let to = from.saturating_add(delta).clamp(0, last as i64) as usize;
        if to >= last && delta > 0 {
            self.follow_newest();
            return;
        }
        if self.follow && to < last {
            self.stop_following(page);
        }
        self.select_pos(to, page);
    }

    /// Selects the line `abs` (a click), which stops following; the top stays where
    /// it was drawn (`top`), so the view does not move under the pointer.
    pub fn select(&mut self, abs: u64, top: u64, page: usize) {
        if self.get(abs).is_none() {
            return;
        }
        if self.follow {
            self.stop_following(page);
        }
        self.top = top;
        self.select_pos(self.view_pos(abs), page);
    }

    fn stop_following(&mut self, page: usize) {
        self.follow = false;
        self.unseen_from = self.end();
        let last = self.view_len().saturating_sub(1);
        self.top = self
            .view_at(last.saturating_sub(page.saturating_sub(1)))
            .unwrap_or(self.dropped);
    }

    /// Selects the shown line at `pos`, scrolling a `page` so it is in view.
    fn select_pos(&mut self, pos: usize, page: usize) {
        let Some(abs) = self.view_at(pos) else {
            return;
        };
        self.selected = abs;
        let page = page.max(1);
        let top = self.view_pos(self.top);
        let top = if pos < top {
            pos
        } else if pos >= top + page {
            pos + 1 - page
        } else {
            top
        };
        self.top = self.view_at(top).unwrap_or(abs);
    }

    pub fn follow_newest(&mut self) {
        self.follow = true;
    }

    /// `f`: toggles following; stopping keeps the newest shown line selected.
    pub fn toggle_follow(&mut self, page: usize) {
        if self.follow {
            let newest = self.view_len().saturating_sub(1);
            self.stop_following(page);
            self.select_pos(newest, page);
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

    fn even() -> Option<Predicate<Event>> {
        Some(Box::new(|e: &Event| e.seq.is_multiple_of(2)))
    }

    fn shown(log: &LogBuffer) -> Vec<u64> {
        (0..log.view_len())
            .map(|p| log.get(log.view_at(p).unwrap()).unwrap().seq)
            .collect()
    }

    #[test]
    fn a_filter_tests_each_line_once_and_drops_with_the_cap() {
        let mut log = LogBuffer::new(6);
        for s in 1..=4 {
            log.push(ev(s));
        }
        log.set_filter(even());
        assert_eq!(shown(&log), [2, 4]);
        assert_eq!(log.selected_event().unwrap().seq, 4);
        for s in 5..=9 {
            log.push(ev(s));
        }
        // Seqs 4-9 kept: 4, 6, 8 shown; 2 fell off the front with its line.
        assert_eq!(shown(&log), [4, 6, 8]);
        assert_eq!((log.view_len(), log.len()), (3, 6));
        assert_eq!(log.selected_event().unwrap().seq, 8);
        // Stop following: moves walk shown lines; new ones count only when shown.
        log.move_by(-1, 2);
        assert_eq!(log.selected_event().unwrap().seq, 6);
        log.push(ev(10));
        log.push(ev(11));
        assert_eq!(log.unseen(), 1);
        // The held line falls off the front: the oldest shown line is held instead.
        for s in 12..=15 {
            log.push(ev(s));
        }
        assert_eq!(shown(&log), [10, 12, 14]);
        assert_eq!(log.selected_event().unwrap().seq, 10);
        assert_eq!(log.unseen(), 3);
        // Clearing the filter keeps the held line; every new line counts again.
        log.set_filter(None);
        assert_eq!(log.selected_event().unwrap().seq, 10);
        assert_eq!(log.unseen(), 6);
    }

    #[test]
    fn a_new_filter_moves_a_held_line_to_the_nearest_shown_one() {
        let mut log = LogBuffer::new(10);
        for s in 1..=7 {
            log.push(ev(s));
        }
        log.move_by(-4, 3);
        assert_eq!(log.selected_event().unwrap().seq, 3);
        log.set_filter(even());
        assert_eq!(log.selected_event().unwrap().seq, 4);
        // Nothing shown: no selection, and moves do nothing.
        log.set_filter(Some(Box::new(|_: &Event| false)));
        assert_eq!(log.selected(), None);
        log.move_by(1, 3);
        assert!(!log.following());
        // A click holds a line and stops following.
        log.set_filter(None);
        log.follow_newest();
        log.select(abs_of(&log, 5), abs_of(&log, 1), 5);
        assert!(!log.following());
        assert_eq!(log.selected_event().unwrap().seq, 5);
        assert_eq!(log.unseen(), 0);
    }

    fn abs_of(log: &LogBuffer, seq: u64) -> u64 {
        (0..log.view_len())
            .filter_map(|p| log.view_at(p))
            .find(|a| log.get(*a).unwrap().seq == seq)
            .unwrap()
    }
}
