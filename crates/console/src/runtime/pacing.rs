//! The frame budget: how often the loop may draw what the event stream and the clock
//! changed. A paced frame comes at the earliest one interval after the previous one,
//! except that quiet time earns frames that may be drawn at once: every whole interval
//! beyond the first that passed with nothing to draw saves one, up to [`BURST`] - 1.
//! The saved frames are what let an action's own events (a proof of life, then the
//! decision a few hundred microseconds later) reach the screen as they arrive instead
//! of the second one waiting a whole interval.
//!
//! Only quiet time earns: while changes wait for their slot (a flood, or a loop busy
//! with a backlog) nothing is saved, so a loaded loop never catches up on frames it
//! could not draw, and frames stay at most one per interval.
//!
//! Frames drawn for the user's input or the answer to their request do not wait for
//! the budget. They spend it only when they also show changes that were waiting for
//! it, so a flood plus typing still costs one frame per interval, and a key pressed on
//! a quiet console never delays the server's next event.

use std::time::Duration;

use tokio::time::Instant;

/// Paced frames that may follow one another at once after a quiet moment.
pub const BURST: u32 = 3;

#[derive(Debug, Clone)]
pub struct FrameBudget {
    interval: Duration,
    /// When the last paced frame was drawn; `None` before the first.
    last: Option<Instant>,
    /// Frames earned by quiet time, drawable before the next slot.
    saved: u32,
}

impl FrameBudget {
    /// A budget that starts rested: a console that has drawn nothing has been quiet.
    pub fn new(interval: Duration) -> FrameBudget {
        FrameBudget {
            interval,
            last: None,
            saved: BURST - 1,
        }
    }

    /// The next slot: one interval after the last paced frame.
    pub fn next_allowed(&self) -> Option<Instant> {
        self.last.map(|t| t + self.interval)
    }

    /// Whether a paced frame may be drawn at `now`.
    pub fn allows(&self, now: Instant) -> bool {
        self.saved > 0 || self.next_allowed().is_none_or(|t| t <= now)
    }

    /// The screen had nothing to draw from the last paced frame until `now`, when a
    /// change arrived: the quiet intervals in between earn frames.
    pub fn rested_until(&mut self, now: Instant) {
        let Some(last) = self.last else { return };
        let whole = now.saturating_duration_since(last).as_nanos() / self.interval.as_nanos();
        let earned = u32::try_from(whole.saturating_sub(1)).unwrap_or(u32::MAX);
        self.saved = self.saved.saturating_add(earned).min(BURST - 1);
    }

    /// Counts a frame that showed paced changes, drawn at `now`. Before its slot it
    /// uses a saved frame; with none left (a frame for input, which draws regardless)
    /// it takes the slot itself, so the next paced frame waits one interval after that.
    pub fn spend(&mut self, now: Instant) {
        self.last = match self.next_allowed() {
            Some(slot) if now < slot && self.saved > 0 => {
                self.saved -= 1;
                Some(now)
            }
            Some(slot) if now < slot => Some(slot),
            _ => Some(now),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: Duration = Duration::from_millis(16);
    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_rested_budget_allows_a_burst_then_one_frame_per_interval() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(I);
        for i in 0..BURST {
            let now = t0 + MS * i;
            assert!(b.allows(now));
            b.spend(now);
        }
        let last = t0 + MS * (BURST - 1);
        assert!(!b.allows(last + MS), "the burst is spent");
        assert_eq!(b.next_allowed(), Some(last + I));
        b.spend(last + I);
        assert_eq!(b.next_allowed(), Some(last + I * 2));
        assert!(!b.allows(last + I + MS));
    }

    #[test]
    fn quiet_intervals_earn_frames_up_to_the_burst() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(I);
        for i in 0..BURST {
            b.spend(t0 + MS * i);
        }
        let last = t0 + MS * (BURST - 1);
        // One interval of quiet is the slot itself: nothing saved.
        b.rested_until(last + I + MS);
        b.spend(last + I + MS);
        assert!(!b.allows(last + I + MS * 2));
        // Two more intervals: one saved frame besides the slot.
        let later = last + I + MS + I * 2;
        b.rested_until(later);
        b.spend(later);
        assert!(b.allows(later), "one saved frame");
        b.spend(later);
        assert!(!b.allows(later));
        // A long quiet refills the burst and no more.
        let much_later = later + I * 100;
        b.rested_until(much_later);
        for _ in 0..BURST {
            assert!(b.allows(much_later));
            b.spend(much_later);
        }
        assert!(!b.allows(much_later));
    }

    #[test]
    fn a_busy_loop_never_catches_up() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(I);
        for i in 0..BURST {
            b.spend(t0 + MS * i);
        }
        // The loop drew late (a backlog held it for 40 ms) without being quiet: the next
        // frame still waits a whole interval.
        let late = t0 + MS * 40;
        b.spend(late);
        assert!(!b.allows(late + MS));
        assert_eq!(b.next_allowed(), Some(late + I));
    }

    #[test]
    fn an_early_frame_with_nothing_saved_takes_the_next_slot() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(I);
        for i in 0..BURST {
            b.spend(t0 + MS * i);
        }
        let last = t0 + MS * (BURST - 1);
        // A key drawn 2 ms after a paced frame, showing changes that were waiting.
        b.spend(last + MS * 2);
        assert_eq!(
            b.next_allowed(),
            Some(last + I * 2),
            "the key's frame was the slot's"
        );
    }

    #[test]
    fn a_steady_flood_gets_one_frame_per_interval() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(I);
        let mut frames = 0;
        // Asked every millisecond for one second, never quiet.
        for ms in 0..1000 {
            let now = t0 + MS * ms;
            if b.allows(now) {
                b.spend(now);
                frames += 1;
            }
        }
        assert!(
            (1000 / 17..=1000 / 16 + BURST as usize).contains(&frames),
            "{frames}"
        );
    }
}
