//! The circuit breaker that guards a target during batch replay: after enough consecutive failures it stops
//! sending; after a cooldown it lets one probe through, and a success closes it again.

use std::time::{Duration, Instant};

/// The breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Circuit {
    /// Requests go through.
    Closed,
    /// Requests are skipped, since this moment.
    Open(Instant),
    /// One probe is in flight; its result decides.
    HalfOpen,
}

impl Circuit {
    /// `closed`, `open` or `half-open`.
    pub fn name(self) -> &'static str {
        match self {
            Circuit::Closed => "closed",
            Circuit::Open(_) => "open",
            Circuit::HalfOpen => "half-open",
        }
    }
}

/// What the breaker says about the next request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permit {
    /// Send it.
    Send,
    /// Send it as the half-open probe.
    Probe,
    /// Do not send it: the circuit is open.
    Skip,
}

/// A consecutive-failure circuit breaker.
#[derive(Clone, Debug)]
pub struct Breaker {
    after: u32,
    cooldown: Option<Duration>,
    failures: u32,
    state: Circuit,
    opened: u32,
}

impl Breaker {
    /// Opens after `after` consecutive failures (0 = never); probes after `cooldown` (`None` = stays open).
    pub fn new(after: u32, cooldown: Option<Duration>) -> Self {
        Breaker { after, cooldown, failures: 0, state: Circuit::Closed, opened: 0 }
    }

    /// The state now.
    pub fn state(&self) -> Circuit {
        self.state
    }

    /// How many times it opened.
    pub fn times_opened(&self) -> u32 {
        self.opened
    }

    /// May the next request go?
    pub fn permit(&mut self, now: Instant) -> Permit {
        match self.state {
            Circuit::Closed => Permit::Send,
            Circuit::Open(since) if self.cooldown.is_some_and(|c| now.duration_since(since) >= c) => {
                self.state = Circuit::HalfOpen;
                Permit::Probe
            }
            Circuit::Open(_) | Circuit::HalfOpen => Permit::Skip,
        }
    }

    /// A request's result: `ok` is any response below 500.
    pub fn record(&mut self, ok: bool, probe: bool, now: Instant) {
        if probe {
            self.failures = if ok { 0 } else { self.failures };
            self.state = if ok { Circuit::Closed } else { Circuit::Open(now) };
            return;
        }
        if ok {
            self.failures = 0;
            return;
        }
        self.failures += 1;
        if self.state == Circuit::Closed && self.after > 0 && self.failures >= self.after {
            self.state = Circuit::Open(now);
            self.opened += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_n_failures_probes_after_the_cooldown_and_closes_on_success() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Some(Duration::from_secs(10)));
        for _ in 0..2 {
            assert_eq!(b.permit(t0), Permit::Send);
            b.record(false, false, t0);
        }
        b.record(true, false, t0); // a success breaks the run
        for _ in 0..3 {
            b.record(false, false, t0);
        }
        assert_eq!(b.state(), Circuit::Open(t0));
        assert_eq!(b.permit(t0 + Duration::from_secs(9)), Permit::Skip);
        assert_eq!(b.permit(t0 + Duration::from_secs(10)), Permit::Probe);
        assert_eq!(b.permit(t0 + Duration::from_secs(10)), Permit::Skip, "one probe at a time");
        b.record(false, true, t0 + Duration::from_secs(11));
        assert_eq!(b.state(), Circuit::Open(t0 + Duration::from_secs(11)), "a failed probe opens it again");
        assert_eq!(b.permit(t0 + Duration::from_secs(21)), Permit::Probe);
        b.record(true, true, t0 + Duration::from_secs(21));
        assert_eq!((b.state(), b.times_opened()), (Circuit::Closed, 1));
    }

    #[test]
    fn without_a_cooldown_it_stays_open() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, None);
        b.record(false, false, t0);
        assert_eq!(b.permit(t0 + Duration::from_secs(3600)), Permit::Skip);
        assert_eq!(Breaker::new(0, None).permit(t0), Permit::Send);
    }
}
