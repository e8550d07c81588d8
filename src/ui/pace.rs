//! Whether the sources are ahead of the console. Lines are never dropped: a source whose batches wait in the
//! channel reads less (its data waits in the file or pipe), and the console takes every batch, drawing at most one
//! frame per [`super::run`]'s frame time, so a burst becomes one frame. While sources wait on it, the status bar
//! says the console is catching up and how many lines each frame takes in.

use std::time::{Duration, Instant};

/// How long "catching up" stays shown after the sources last waited, so it does not flicker.
const LINGER: Duration = Duration::from_secs(1);

/// Lines taken in, frame by frame.
#[derive(Debug, Default)]
pub struct Pace {
    lines: u64,
    at_last_frame: u64,
    /// Lines taken in since the frame before, while the sources were waiting on the console.
    pub behind: Option<u64>,
    behind_until: Option<Instant>,
}

impl Pace {
    /// `n` lines taken in.
    pub fn add(&mut self, n: u64) {
        self.lines += n;
    }

    /// A frame is about to be drawn, with `waiting` batches queued in a channel that holds `capacity`.
    pub fn frame(&mut self, waiting: usize, capacity: usize, now: Instant) {
        let taken = self.lines - self.at_last_frame;
        self.at_last_frame = self.lines;
        if waiting * 2 >= capacity && taken > 0 {
            self.behind = Some(taken);
            self.behind_until = Some(now + LINGER);
        } else {
            self.expire(now);
        }
    }

    /// Between frames: true when "catching up" has just ended and the status bar should be drawn again.
    pub fn expire(&mut self, now: Instant) -> bool {
        if self.behind.is_some() && self.behind_until.is_none_or(|t| now >= t) {
            self.behind = None;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_while_the_channel_is_half_full_then_clears() {
        let mut p = Pace::default();
        let t0 = Instant::now();
        p.add(5000);
        p.frame(40, 64, t0);
        assert_eq!(p.behind, Some(5000), "sources waited: the lines of this frame are shown");
        p.add(10);
        p.frame(2, 64, t0 + Duration::from_millis(100));
        assert_eq!(p.behind, Some(5000), "shown a while, not flickering");
        assert!(!p.expire(t0 + Duration::from_millis(500)));
        assert!(p.expire(t0 + Duration::from_millis(1100)), "then cleared, once");
        assert!(!p.expire(t0 + Duration::from_millis(1200)));
        assert_eq!(p.behind, None);
        p.frame(64, 64, t0 + Duration::from_secs(2));
        assert_eq!(p.behind, None, "a full channel with nothing taken in is not catching up");
    }
}
