//! Bulk work inside a virtual machine slows down while the hypervisor is short of physical cores.
//!
//! The idle class and the lowest group weight count inside the guest's kernel only: the hypervisor sees a virtual
//! CPU busy with a report as busy as one serving the gateway, and where it shares its cores with other guests it
//! takes turns between them in slices of milliseconds. A report that keeps every virtual CPU busy then has the
//! gateway's requests wait whole slices for a core the guest was not given, where a virtual CPU that mostly sleeps
//! is given one at once when the gateway wakes it. The guest sees the hypervisor's turns as steal time
//! (`/proc/stat`). Bulk work reads it every [`WINDOW_MS`] and works only a share of the time, sleeping between
//! short stretches of work: the share drops to a quarter each window the steal grows, down to [`FLOOR`], and
//! climbs back by [`CLIMB`] each window it does not, up to all of the time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the steal counter is read while bulk work runs, in milliseconds.
const WINDOW_MS: u64 = 100;
/// The share of the time bulk work works, in thousandths: all of it, the least, and the climb per clean window.
const FULL: u64 = 1000;
const FLOOR: u64 = 20;
const CLIMB: u64 = 10;
/// The longest sleep after one stretch of work.
const LONGEST_SLEEP: Duration = Duration::from_millis(10);

/// A reading further back than this (no bulk work in between) starts a new window, not judged: what the
/// hypervisor did meanwhile was not bulk work's doing. One further back than [`FORGET_MS`] also ends the slowdown.
const STALE_MS: u64 = 2 * WINDOW_MS;
const FORGET_MS: u64 = 10_000;

/// The share of the time bulk work works, fed the steal counter once a window.
#[derive(Debug)]
struct Share {
    /// The last reading: when (milliseconds), and the counter then.
    last: Option<(u64, u64)>,
    /// Thousandths of the time.
    share: u64,
}

impl Share {
    const fn new() -> Self {
        Share { last: None, share: FULL }
    }

    /// The steal counter reads `steal` at `ms`, the end of a window (`None`: it could not be read): the share
    /// for the next one.
    fn observe(&mut self, ms: u64, steal: Option<u64>) -> u64 {
        let last = std::mem::replace(&mut self.last, steal.map(|s| (ms, s)));
        let climb = (self.share + CLIMB).min(FULL);
        self.share = match (last, steal) {
            // nothing to go by: back towards all of the time
            (_, None) => climb,
            (None, Some(_)) => self.share,
            (Some((at, _)), Some(_)) if ms.saturating_sub(at) > FORGET_MS => FULL,
            (Some((at, _)), Some(_)) if ms.saturating_sub(at) > STALE_MS => self.share,
            (Some((_, before)), Some(now)) if now > before => (self.share / 4).max(FLOOR),
            _ => climb,
        };
        self.share
    }
}

/// How long to sleep after `work` to keep to `share` thousandths of the time.
fn sleep_after(work: Duration, share: u64) -> Duration {
    if share >= FULL {
        return Duration::ZERO;
    }
    (work * (FULL - share) as u32 / share.max(1) as u32).min(LONGEST_SLEEP)
}

static SHARE: Mutex<Share> = Mutex::new(Share::new());
/// The share now, for the threads that do not read the counter.
static NOW_SHARE: AtomicU64 = AtomicU64::new(FULL);
/// When the counter is read next, in milliseconds since [`epoch`].
static NEXT_LOOK: AtomicU64 = AtomicU64::new(0);
/// Whether to say so on a terminal the first time bulk work slows down, and whether it has.
static SAY: AtomicBool = AtomicBool::new(false);
static SLOWED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// When this thread last came here: the stretch of work since is what it sleeps after.
    static LAST_CALL: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

fn epoch() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Say on standard error, if it is a terminal, the first time bulk work slows down (`report` and `trace`; never
/// the console, whose screen that is).
pub fn say_when_slowed() {
    SAY.store(true, Ordering::Relaxed);
}

/// A stretch of work starts here (a block of lines): what came before it, a wait for the block among others, is
/// not work to sleep after.
pub fn start_stretch() {
    LAST_CALL.set(Some(Instant::now()));
}

/// Keep bulk work to its share of the time; called by bulk work every few dozen microseconds
/// ([`crate::priority::give_way`]). Costs a clock read, except once a window, when one caller reads `/proc/stat`.
pub fn pace() {
    let now = Instant::now();
    let share = NOW_SHARE.load(Ordering::Relaxed);
    if let Some(last) = LAST_CALL.replace(Some(now)) {
        let sleep = sleep_after(now - last, share);
        if !sleep.is_zero() {
            std::thread::sleep(sleep);
            LAST_CALL.set(Some(Instant::now()));
        }
    }
    let ms = now.duration_since(epoch()).as_millis() as u64;
    // one caller a window reads the counter: the one that moves the next look on
    let next = NEXT_LOOK.load(Ordering::Relaxed);
    if ms < next || NEXT_LOOK.compare_exchange(next, ms + WINDOW_MS, Ordering::Relaxed, Ordering::Relaxed).is_err() {
        return;
    }
    let steal = std::fs::read_to_string("/proc/stat").ok().as_deref().and_then(steal_ticks);
    let share = SHARE.lock().unwrap_or_else(|e| e.into_inner()).observe(ms, steal);
    NOW_SHARE.store(share, Ordering::Relaxed);
    if share < FULL && !SLOWED.swap(true, Ordering::Relaxed) && SAY.load(Ordering::Relaxed) {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            // over a progress line, if one is shown: it is drawn again below
            eprint!("\r\x1b[2K");
            crate::output::warn(
                "the hypervisor is short of cores (steal time): the scan slows down while that lasts; \
                 --priority normal does not",
            );
        }
    }
}

/// The steal time of all CPUs together, in clock ticks, from `/proc/stat`'s first line (`cpu  user nice system
/// idle iowait irq softirq steal …`); `None` where it has no such field (kernels before 2.6.11).
fn steal_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().next()?;
    let mut fields = line.split_ascii_whitespace();
    (fields.next()? == "cpu").then_some(())?;
    fields.nth(7)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_eighth_figure_of_the_first_line() {
        let stat = "cpu  8765 12 3456 987654 321 0 45 678 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
        assert_eq!(steal_ticks(stat), Some(678));
        assert_eq!(steal_ticks("cpu  1 2 3 4 5 6 7\n"), None, "a kernel without the field");
        assert_eq!(steal_ticks("intr 1 2 3 4 5 6 7 8 9\n"), None);
    }

    #[test]
    fn this_machines_counter_is_read() {
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        assert!(steal_ticks(&stat).is_some(), "{stat}");
    }

    /// The share after each window, each adding `steal` to the counter.
    fn shares(windows: &[u64]) -> Vec<u64> {
        let mut s = Share::new();
        let (mut ms, mut counter) = (1_000, 5_000);
        s.observe(ms, Some(counter));
        windows
            .iter()
            .map(|&steal| {
                (ms, counter) = (ms + WINDOW_MS, counter + steal);
                s.observe(ms, Some(counter))
            })
            .collect()
    }

    #[test]
    fn without_steal_bulk_work_works_all_the_time() {
        assert_eq!(shares(&[0; 10]), vec![FULL; 10]);
    }

    #[test]
    fn steal_cuts_the_share_to_a_quarter_down_to_the_floor_and_clean_windows_bring_it_back_slowly() {
        assert_eq!(shares(&[1, 3, 1, 1, 0, 0, 0]), vec![250, 62, 20, 20, 30, 40, 50]);
        let back: Vec<u64> = shares(&[1; 1].iter().chain(&[0; 80]).copied().collect::<Vec<_>>());
        assert_eq!(back[74..78], [990, 1000, 1000, 1000], "back to all of the time after 75 clean windows");
        assert_eq!(shares(&[0, 0, 2, 0, 4]), vec![1000, 1000, 250, 260, 65]);
    }

    #[test]
    fn steal_while_no_bulk_work_ran_is_not_judged_and_a_long_pause_ends_the_slowdown() {
        let mut s = Share::new();
        s.observe(0, Some(10));
        assert_eq!(s.observe(100, Some(11)), 250);
        // a second of no bulk work: the steal meanwhile was not its doing, and the share stays
        assert_eq!(s.observe(1_100, Some(40)), 250);
        assert_eq!(s.observe(1_200, Some(40)), 260);
        // a pause of over ten seconds: a new start
        assert_eq!(s.observe(20_000, Some(90)), FULL);
        assert_eq!(s.observe(20_100, Some(91)), 250);
    }

    #[test]
    fn a_counter_that_cannot_be_read_lets_the_share_climb_back() {
        let mut s = Share::new();
        s.observe(0, Some(10));
        assert_eq!(s.observe(100, Some(12)), 250);
        assert_eq!(s.observe(200, None), 260);
        assert_eq!(s.observe(300, None), 270);
        // readable again: a baseline, not judged against the reading before the gap
        assert_eq!(s.observe(400, Some(30)), 270);
        assert_eq!(s.observe(500, Some(30)), 280);
    }

    #[test]
    fn sleeps_keep_work_to_its_share() {
        let work = Duration::from_micros(100);
        assert_eq!(sleep_after(work, FULL), Duration::ZERO);
        assert_eq!(sleep_after(work, 250), Duration::from_micros(300));
        assert_eq!(sleep_after(work, FLOOR), Duration::from_micros(4900));
        assert_eq!(sleep_after(Duration::from_millis(5), FLOOR), LONGEST_SLEEP, "never long without a look");
    }
}
