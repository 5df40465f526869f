//! The frame budget: how often the loop may draw what the event stream and the clock
//! changed. It is a rate limiter with a small burst (the generic cell rate algorithm):
//! at most one paced frame per interval on average, but after a quiet moment up to
//! [`BURST`] frames may follow each other at once. The burst is what lets an action's
//! own events (a proof of life, then the decision a few hundred microseconds later)
//! reach the screen as they arrive instead of the second one waiting a whole interval;
//! under a flood the budget is spent and frames come one per interval.
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
    /// How far ahead of "now" the budget may run before a frame must wait.
    tolerance: Duration,
    /// When the budget is back to full if nothing else is drawn (the algorithm's
    /// "theoretical arrival time"); `None` before the first frame.
    full_at: Option<Instant>,
}

impl FrameBudget {
    pub fn new(interval: Duration) -> FrameBudget {
        FrameBudget {
            interval,
            tolerance: interval * (BURST - 1),
            full_at: None,
        }
    }

    /// The earliest time a paced frame may be drawn.
    pub fn next_allowed(&self) -> Option<Instant> {
        self.full_at
            .map(|t| t.checked_sub(self.tolerance).unwrap_or(t))
    }

    /// Whether a paced frame may be drawn at `now`.
    pub fn allows(&self, now: Instant) -> bool {
        self.next_allowed().is_none_or(|t| t <= now)
    }

    /// Counts a frame that showed paced changes, drawn at `now`.
    pub fn spend(&mut self, now: Instant) {
        let from = self.full_at.map_or(now, |t| t.max(now));
        self.full_at = Some(from + self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: Duration = Duration::from_millis(16);

    #[test]
    fn a_quiet_budget_allows_a_burst_then_one_frame_per_interval() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(I);
        for _ in 0..BURST {
            assert!(b.allows(t0));
            b.spend(t0);
        }
        assert!(!b.allows(t0), "the burst is spent");
        assert_eq!(b.next_allowed(), Some(t0 + I));
        b.spend(t0 + I);
        assert_eq!(b.next_allowed(), Some(t0 + I * 2));
    }

    #[test]
    fn the_burst_refills_over_quiet_intervals() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(I);
        for _ in 0..BURST {
            b.spend(t0);
        }
        let later = t0 + I * (BURST + 1);
        for _ in 0..BURST {
            assert!(b.allows(later));
            b.spend(later);
        }
        assert!(!b.allows(later));
    }

    #[test]
    fn a_steady_flood_gets_one_frame_per_interval() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(I);
        let mut frames = 0;
        // Asked every millisecond for one second.
        for ms in 0..1000 {
            let now = t0 + Duration::from_millis(ms);
            if b.allows(now) {
                b.spend(now);
                frames += 1;
            }
        }
        assert_eq!(frames, 1000 / 16 + BURST as usize);
    }
}
