//! One source shown as a pane: its lines, cursor, follow state, filter matches and live counts.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::filter::Filter;
use crate::format::Parser;
use crate::record::Role;
use crate::stats::timeline::{Bucket, Keep, Point, Series, plausible};
use crate::store::LineStore;

/// Lines of a pane that match the filter, found incrementally (a large pane takes several frames).
#[derive(Clone, Debug, Default)]
pub struct Matches {
    /// Matching line numbers, in order.
    pub lines: Vec<u32>,
    /// Lines checked so far (all lines below this index).
    pub scanned: usize,
}

/// Where a file pane's lines begin in its file.
#[derive(Debug)]
pub struct Origin {
    /// The file, open: it is the one the pane read, even once rotation has given its name to another.
    pub file: std::fs::File,
    /// The byte the pane's first line starts at.
    pub start: u64,
}

impl Origin {
    /// The file at `path` as it is now, with the pane's lines starting at `start`.
    pub fn open(path: &std::path::Path, start: u64) -> Option<Origin> {
        Some(Origin { file: std::fs::File::open(path).ok()?, start })
    }
}

/// Lines received per second, over the last few seconds of arrivals.
#[derive(Clone, Debug, Default)]
pub struct RateMeter {
    arrivals: VecDeque<(Instant, u32)>,
    /// When the last lines arrived.
    last: Option<Instant>,
}

const RATE_WINDOW: Duration = Duration::from_secs(5);

impl RateMeter {
    /// Count `n` lines arriving at `now`.
    pub fn add(&mut self, now: Instant, n: u32) {
        if n > 0 {
            self.last = Some(now);
        }
        match self.arrivals.back_mut() {
            Some((t, c)) if now.duration_since(*t) < Duration::from_millis(100) => *c += n,
            _ => self.arrivals.push_back((now, n)),
        }
        self.expire(now);
    }

    fn expire(&mut self, now: Instant) {
        while self.arrivals.front().is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW) {
            self.arrivals.pop_front();
        }
    }

    /// Lines per second arriving at `now` (by the wall clock: a backlog read at once counts as a burst).
    pub fn per_second(&self, now: Instant) -> f64 {
        let recent = self.arrivals.iter().filter(|(t, _)| now.saturating_duration_since(*t) <= RATE_WINDOW);
        // `+ 0.0`: an empty sum is -0.0, which prints as `-0.0/s`
        recent.map(|(_, n)| *n as f64).sum::<f64>() / RATE_WINDOW.as_secs_f64() + 0.0
    }

    /// How long since lines last arrived (`None` before any).
    pub fn quiet_for(&self, now: Instant) -> Option<Duration> {
        self.last.map(|t| now.saturating_duration_since(t))
    }
}

/// A pane's statuses and latency over log time: totals per class, one-second buckets for the newest hour, and
/// coarser buckets before it (see [`Series`]). Each record is counted once: in `recent`, or in `older` when it
/// is older than `recent` reaches; the seconds `recent` slides past move to `older` whole.
#[derive(Clone, Debug)]
pub struct PaneStats {
    /// Lines with a status but no time of their own (so in no bucket), per class.
    pub untimed: [u64; 6],
    /// The UTC offset of the newest line's time, seconds (times are shown in the log's zone).
    pub offset_s: i32,
    /// One-second buckets of the newest hour of log time.
    pub recent: Series,
    /// Everything before `recent`.
    pub older: Series,
    /// The newest second of log time seen, when it arrived, and whether it was close to the wall clock then (a
    /// live log, whose time goes on while it is quiet) or not (history).
    newest: Option<(i64, Instant, bool)>,
}

/// Buckets of the whole-session series: bounded, whatever the session's length.
const ALL_BUCKETS: usize = 4096;
/// A log whose newest line is this close to the wall clock is live.
const LIVE_SKEW_S: i64 = 300;

impl Default for PaneStats {
    fn default() -> Self {
        PaneStats::new(&crate::alerts::Rules::default().thresholds())
    }
}

impl PaneStats {
    /// Empty stats counting latencies above each of `thresholds_us` exactly (the alert rules' limits).
    pub fn new(thresholds_us: &[u64]) -> Self {
        PaneStats {
            untimed: [0; 6],
            offset_s: 0,
            recent: Series::new(Keep::Recent, 3600, thresholds_us).keeping_evicted(),
            older: Series::new(Keep::All, ALL_BUCKETS, thresholds_us),
            newest: None,
        }
    }

    /// Count one record that arrived at `arrived`.
    #[inline]
    pub fn add(&mut self, p: Point, arrived: Instant) {
        if p.status.is_none() && !p.error_level || !plausible(p.unix_us.div_euclid(1_000_000)) {
            return;
        }
        if !self.recent.add(p) {
            // older than the newest hour: it belongs with the older history (unless it is garbage)
            self.recent.dropped -= 1;
            if !self.older.add(p) {
                return;
            }
        }
        if let Some(gone) = self.recent.take_evicted() {
            for (start, b) in &gone {
                self.older.absorb_at(*start, b);
            }
        }
        let sec = p.unix_us.div_euclid(1_000_000);
        if self.newest.is_none_or(|(n, ..)| sec > n) {
            let wall =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            self.newest = Some((sec, arrived, (wall - sec).abs() <= LIVE_SKEW_S));
        }
    }

    /// Lines with a status, per class (index 1..=5 for 1xx..5xx, 0 for anything else), since the first line.
    pub fn class_totals(&self) -> [u64; 6] {
        let mut t = self.untimed;
        for (_, b) in self.all_buckets() {
            for (a, n) in t.iter_mut().zip(b.classes) {
                *a += n as u64;
            }
        }
        t
    }

    /// Every bucket since the first line, oldest first (`older`'s, then `recent`'s).
    pub fn all_buckets(&self) -> impl Iterator<Item = (i64, &Bucket)> {
        self.older.buckets().chain(self.recent.buckets())
    }

    /// The widest bucket among them, seconds.
    pub fn all_resolution(&self) -> i64 {
        self.older.resolution().max(self.recent.resolution())
    }

    /// The first second counted.
    pub fn first_second(&self) -> Option<i64> {
        self.older.span().or(self.recent.span()).map(|(first, _)| first)
    }

    /// Everything since the first line as one series (for checking alert rules over the whole session).
    pub fn all_series(&self) -> Series {
        let mut s = self.older.clone();
        s.merge(&self.recent);
        s
    }

    /// Requests per second by the log's own clock over its last minute (or over the whole log when it is
    /// shorter): what the gateway served, whatever pace the lines were read at.
    pub fn log_rate(&self, now: Instant) -> Option<f64> {
        let end = self.log_now(now)?;
        let first = self.first_second()?;
        let from = (end - 60).max(first);
        let requests = self.recent.total(from, end).requests();
        Some(requests as f64 / (end - from).max(1) as f64 + 0.0)
    }

    /// "Now" in the log's time, as of `now`: the newest line's second, plus the time since it arrived when the log
    /// is live (so a quiet live log's charts keep moving and its alerts can clear); `None` before any line.
    pub fn log_now(&self, now: Instant) -> Option<i64> {
        let (sec, at, live) = self.newest?;
        let since = if live { now.saturating_duration_since(at).as_secs() as i64 } else { 0 };
        Some(sec + 1 + since)
    }
}

/// One source in the console.
pub struct Pane {
    /// Display name (the file name, command or host).
    pub name: String,
    /// The source as given.
    pub source: String,
    /// Gateway or upstream: decides the side.
    pub role: Option<Role>,
    /// Chosen from the first lines received.
    pub parser: Option<Parser>,
    /// For a source of pretty-printed JSON records: each label's (file's, host's) unfinished record.
    joiners: Vec<(Option<Arc<str>>, crate::format::pretty_json::Joiner)>,
    /// Every line received.
    pub lines: LineStore,
    /// The selected row (an index into the filtered rows when a filter is on).
    pub cursor: usize,
    /// The first row shown.
    pub top: usize,
    /// The row drawn on each screen row of the pane's body in the last frame (a wrapped line takes several):
    /// what a mouse click lands on.
    pub drawn: std::cell::RefCell<Vec<usize>>,
    /// Whether new lines move the view to the bottom.
    pub follow: bool,
    /// Paused because another pane's selection moved it here (its request's record): it follows again when
    /// that pane does, unless the user moves in it first.
    pub led: bool,
    /// Lines in the store when the pane last showed its newest line: what came after is unseen.
    seen_lines: usize,
    /// Lines per second.
    pub rate: RateMeter,
    /// Rows matching the filter, when one is on.
    pub matches: Option<Matches>,
    /// The last thing that happened to the source (rotation, an error, a command's exit).
    pub note: Option<String>,
    /// Statuses and latency over log time.
    pub stats: PaneStats,
    /// The pane holds all the text it can (2^32 chunks of it); later lines are dropped.
    pub full: bool,
    /// The line to keep selected while a new filter is checked (its row is known only once the scan reaches it).
    pub anchor: Option<usize>,
    /// How each of the store's labels is shown: the host, or the file path without the directories all the
    /// pane's files share.
    pub label_names: Vec<String>,
    /// Commands of this source that ended (or could not start) and wait to be run again on request: (command,
    /// how it ended, e.g. `exited 3`).
    pub stopped: Vec<(String, String)>,
    /// The source's older lines are being indexed apart (see [`crate::history`]): (bytes done, bytes in all).
    pub history: Option<(u64, u64)>,
    /// The file this pane follows, when its source is one file (not a glob, a command or a stream).
    pub file: Option<std::path::PathBuf>,
    /// Where the pane's lines begin in that file: what `H` loads further back from.
    pub origin: Option<Origin>,
    /// The label of the lines that come without one: the followed file's path, when its rotated files are read
    /// before it (so every line says which file it came from).
    pub default_label: Option<Arc<str>>,
    /// What decides whether the next line continues a record.
    continuation: crate::format::continuation::Tracker,
    /// The last record was past `--until`: it and the lines that continue it are left out.
    past_until: bool,
}

impl Pane {
    /// An empty pane for a source, counting latencies above each of `thresholds_us` (the alert rules' limits).
    pub fn new(name: String, source: String, role: Option<Role>, thresholds_us: &[u64]) -> Self {
        Pane {
            name,
            source,
            role,
            parser: None,
            joiners: Vec::new(),
            lines: LineStore::new(),
            cursor: 0,
            top: 0,
            drawn: Default::default(),
            follow: true,
            seen_lines: 0,
            led: false,
            rate: RateMeter::default(),
            matches: None,
            note: None,
            stats: PaneStats::new(thresholds_us),
            full: false,
            anchor: None,
            label_names: Vec::new(),
            stopped: Vec::new(),
            history: None,
            file: None,
            origin: None,
            default_label: None,
            continuation: Default::default(),
            past_until: false,
        }
    }

    /// The id keys of a line's text, from this pane's parser: what the store checks its short keys against.
    pub fn keys_of(&self) -> impl Fn(&[u8]) -> (u64, u64) + '_ {
        move |line| crate::store::lines::line_keys(self.parser.as_ref().and_then(|p| p.parse(line)).as_ref())
    }

    /// Whether lines show their label: only when they come from more than one file or host.
    pub fn shows_labels(&self) -> bool {
        self.lines.labels().len() > 1
    }

    /// How line `i`'s label is shown (see [`Pane::label_names`]).
    pub fn label_name(&self, i: usize) -> Option<&str> {
        self.lines.label_index(i).and_then(|l| self.label_names.get(l)).map(String::as_str)
    }

    /// The side the pane belongs on: its own role, else its format's.
    pub fn side(&self) -> Role {
        self.role.or(self.parser.as_ref().map(|p| p.format.role())).unwrap_or(Role::Upstream)
    }

    /// Rows shown: matching lines when filtered, else every line but those folded under their record (a stack
    /// trace's).
    pub fn rows(&self) -> usize {
        self.matches.as_ref().map_or(self.lines.len() - self.lines.folded(), |m| m.lines.len())
    }

    /// The line shown at `row`.
    pub fn row_line(&self, row: usize) -> usize {
        match &self.matches {
            Some(m) => m.lines[row] as usize,
            None => self.lines.folded_line(row),
        }
    }

    /// The row showing `line` (a folded line's record's), or the nearest row after it (the last row if none).
    pub fn line_row(&self, line: usize) -> usize {
        match &self.matches {
            Some(m) => m.lines.partition_point(|&l| (l as usize) < line).min(m.lines.len().saturating_sub(1)),
            None => self.lines.folded_row(line.min(self.lines.len())).min(self.rows().saturating_sub(1)),
        }
    }

    /// Rows that arrived since the pane last showed its newest line (only those the filter shows).
    pub fn unseen(&self) -> usize {
        let seen = self.seen_lines;
        match &self.matches {
            None => self.rows().saturating_sub(self.lines.folded_row(seen.min(self.lines.len()))),
            Some(m) => m.lines.len() - m.lines.partition_point(|&l| (l as usize) < seen),
        }
    }

    /// Whether `line` is one of the rows shown (every line is but folded ones, without a filter).
    pub fn shows(&self, line: usize) -> bool {
        match &self.matches {
            Some(m) => m.lines.binary_search(&(line as u32)).is_ok(),
            None => !self.lines.is_continuation(line),
        }
    }

    /// The selected line, if the pane has rows.
    pub fn selected_line(&self) -> Option<usize> {
        (self.rows() > 0).then(|| self.row_line(self.cursor.min(self.rows() - 1)))
    }

    /// Move the cursor to `row` (clamped); keeps it in a view `height` rows tall. Following resumes at the bottom.
    pub fn set_cursor(&mut self, row: usize, height: usize) {
        self.anchor = None;
        let rows = self.rows();
        self.cursor = row.min(rows.saturating_sub(1));
        self.follow = rows == 0 || self.cursor + 1 >= rows;
        if self.follow {
            self.seen_lines = self.lines.len();
        }
        self.scroll_into_view(height);
    }

    /// Keep the view where it was after the rows changed: at the bottom when following, else on the anchored
    /// line (the nearest row to it while the filter is still being checked).
    pub fn refit(&mut self, height: usize) {
        if self.follow {
            let anchor = self.anchor;
            self.to_bottom(height);
            self.anchor = anchor;
            return;
        }
        if let Some(l) = self.anchor {
            self.cursor = self.line_row(l);
        }
        self.cursor = self.cursor.min(self.rows().saturating_sub(1));
        self.scroll_into_view(height);
    }

    /// Adjust the first row so the cursor shows.
    pub fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + height {
            self.top = self.cursor + 1 - height;
        }
        let max_top = self.rows().saturating_sub(height);
        self.top = self.top.min(max_top.max(self.top.min(self.cursor)));
    }

    /// Put the cursor on the last row and follow.
    pub fn to_bottom(&mut self, height: usize) {
        self.anchor = None;
        self.cursor = self.rows().saturating_sub(1);
        self.top = self.rows().saturating_sub(height.max(1));
        self.follow = true;
        self.seen_lines = self.lines.len();
    }

    /// Parse and keep a batch of lines from `label` (a glob's file, an SSH source's host); returns how many.
    pub fn ingest(
        &mut self,
        data: &[u8],
        label: Option<&Arc<str>>,
        opts: &crate::input::ScanOptions,
        filter: Option<&Filter>,
    ) -> u32 {
        if data.is_empty() {
            return 0;
        }
        self.lines.set_label(label.or(self.default_label.as_ref()));
        if self.lines.labels().len() != self.label_names.len() {
            self.label_names = short_labels(self.lines.labels());
        }
        if self.parser.is_none() {
            self.parser = Some(crate::input::choose_parser(data, opts));
        }
        let parser = self.parser.as_ref().expect("chosen above");
        let joined;
        let data = if parser.pretty_json {
            let at = match self.joiners.iter().position(|(l, _)| l.as_ref() == label) {
                Some(at) => at,
                None => {
                    self.joiners.push((label.cloned(), Default::default()));
                    self.joiners.len() - 1
                }
            };
            let mut out = Vec::with_capacity(data.len());
            self.joiners[at].1.feed(data, &mut out);
            joined = out;
            &joined[..]
        } else {
            data
        };
        let mut n = 0;
        let arrived = Instant::now();
        let role = self.side();
        let until = opts.window.and_then(|w| w.until_us);
        crate::scan::for_each_line(data, |_, line| {
            let line = crate::format::trim_line(line);
            let rec = parser.parse(line);
            let mut fields = crate::store::Fields::of(rec.as_ref());
            let continues = self.continuation.next(crate::format::continuation::LineKind::of(line, rec.as_ref()), role);
            // past `--until`: a record is left out, and the lines that continue it
            if !continues {
                self.past_until =
                    rec.as_ref().and_then(|r| r.time).is_some_and(|t| until.is_some_and(|u| t.unix_us >= u));
            }
            if self.past_until {
                return;
            }
            if continues {
                fields = fields.continuing();
            }
            if self.lines.push_fields(line, &fields).is_err() {
                self.full = true;
                return;
            }
            if let Some(r) = &rec
                && let Some(t) = r.time
            {
                let error_level = r.level.is_some_and(|l| l >= crate::record::Level::Error);
                let p = Point { unix_us: t.unix_us, status: r.status, latency_us: r.duration_us, error_level };
                self.stats.add(p, arrived);
                self.stats.offset_s = t.offset_s;
            } else if let Some(s) = rec.as_ref().and_then(|r| r.status) {
                self.stats.untimed[crate::stats::timeline::class_of(s)] += 1;
            }
            n += 1;
        });
        if let Some(note) = self.lines.take_text_note() {
            self.note = Some(note);
        }
        if let (Some(f), Some(m)) = (filter, self.matches.as_mut())
            && m.scanned + n as usize == self.lines.len()
        {
            // caught up before these lines: check them now, so a live filtered view stays live
            scan_matches(&self.lines, parser, f, m, usize::MAX, &self.name);
        }
        n
    }

    /// A history scan's progress: its chart points count at once, its lines come with [`Pane::prepend`].
    pub fn history_update(&mut self, u: crate::history::Update, now: Instant) {
        for p in u.points {
            self.stats.add(p, now);
        }
        for (a, n) in self.stats.untimed.iter_mut().zip(u.untimed) {
            *a += n;
        }
        self.history = Some((u.done, u.total));
    }

    /// Put `older` (the source's history, indexed apart) in front of the lines received meanwhile, keeping the
    /// view on the line it showed; `height` is the pane's.
    pub fn prepend(&mut self, mut older: LineStore, height: usize) {
        let n = older.len();
        if older.append(&self.lines).is_err() {
            self.full = true;
        }
        let selected = self.selected_line().map(|l| l + n);
        self.lines = older;
        self.label_names = short_labels(self.lines.labels());
        self.history = None;
        self.seen_lines += n;
        self.drawn.borrow_mut().clear();
        if self.matches.is_some() {
            // checked again from the first line; the selection waits for its row
            self.matches = Some(Matches::default());
            self.anchor = self.anchor.map(|a| a + n).or(selected);
        } else {
            self.anchor = self.anchor.map(|a| a + n);
            self.cursor += n;
            self.top += n;
        }
        self.refit(height);
    }

    /// Check up to `budget` more lines against the filter; returns how many were checked.
    pub fn scan_filter(&mut self, filter: &Filter, budget: usize) -> usize {
        match (self.matches.as_mut(), self.parser.as_ref()) {
            (Some(m), Some(p)) => scan_matches(&self.lines, p, filter, m, budget, &self.name),
            (Some(m), None) => {
                m.scanned = self.lines.len();
                0
            }
            _ => 0,
        }
    }

    /// Whether the filter has checked every line.
    pub fn filter_done(&self) -> bool {
        self.matches.as_ref().is_none_or(|m| m.scanned >= self.lines.len())
    }
}

/// A pane's pace for its title: requests per second by the log's clock over its last minute, and how long no line
/// has arrived when it has been quiet a while (`2.0k/s`, `2.0k/s · quiet 45s`).
pub fn pane_rate(p: &Pane, now: std::time::Instant) -> String {
    let rate = match p.stats.log_rate(now) {
        Some(r) => super::display::rate_text(r),
        None => super::display::rate_text(p.rate.per_second(now)),
    };
    match p.rate.quiet_for(now) {
        Some(q) if q >= std::time::Duration::from_secs(10) => {
            format!("{rate} · quiet {}", crate::numbers::span_text(q.as_secs() as i64))
        }
        _ => rate,
    }
}

/// Labels as shown: paths lose the directories they all share (`/var/log/gw1/access.log` and
/// `/var/log/gw2/access.log` show as `gw1/access.log` and `gw2/access.log`); hosts stay as they are.
fn short_labels(labels: &[Arc<str>]) -> Vec<String> {
    let dir = |l: &str| l.rfind('/').map_or(0, |i| i + 1);
    let mut common = labels.first().map_or(0, |l| dir(l));
    for l in labels {
        let first = &labels[0];
        let same = first.bytes().zip(l.bytes()).take(common).take_while(|(a, b)| a == b).count();
        // back to the end of a directory both share
        common = first.as_bytes()[..same].iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1).min(dir(l));
    }
    labels.iter().map(|l| super::display::display_text(&l.as_bytes()[common..])).collect()
}

/// Check lines against the filter, from where the last call stopped, at most `budget` of them; `name` is the
/// pane's node for lines without a label of their own.
fn scan_matches(
    lines: &LineStore,
    parser: &Parser,
    filter: &Filter,
    m: &mut Matches,
    budget: usize,
    name: &str,
) -> usize {
    let end = lines.len().min(m.scanned.saturating_add(budget));
    let start = m.scanned;
    for i in start..end {
        // a stack trace's lines go with their record
        if lines.is_continuation(i) {
            continue;
        }
        let text = lines.line(i);
        let keep = match parser.parse(&text) {
            Some(r) => filter.matches_on(&r, Some(lines.label(i).unwrap_or(name))),
            None => filter.is_all(),
        };
        if keep {
            m.lines.push(i as u32);
        }
    }
    m.scanned = end;
    end - start
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-14, a plausible log time.
    const T0: i64 = 1_700_000_000;

    #[test]
    fn stats_follow_log_time_and_history_does_not_tick() {
        let mut st = PaneStats::default();
        let t0 = Instant::now();
        for s in 0..120i64 {
            let status = Some(if s % 2 == 0 { 200 } else { 502 });
            st.add(Point { unix_us: (T0 + s) * 1_000_000, status, ..Point::default() }, t0);
        }
        st.add(Point { unix_us: (T0 + 10) * 1_000_000, status: Some(404), ..Point::default() }, t0); // late: its own second
        let class = st.class_totals();
        assert_eq!((class[2], class[4], class[5]), (60, 1, 60));
        assert_eq!(st.recent.total(T0 + 10, T0 + 11).top_codes(), vec![(200, 1), (404, 1)]);
        // a log from long ago is history: its "now" stays just after its newest line
        assert_eq!(st.log_now(t0 + Duration::from_secs(30)), Some(T0 + 120));
    }

    #[test]
    fn the_newest_hour_slides_into_the_older_history_and_nothing_counts_twice() {
        let mut st = PaneStats::default();
        let t0 = Instant::now();
        // three hours, one 200 a second and a 500 every tenth; then a late line from the first minute
        for s in 0..3 * 3600i64 {
            let status = Some(if s % 10 == 0 { 500 } else { 200 });
            st.add(Point { unix_us: (T0 + s) * 1_000_000, status, ..Point::default() }, t0);
        }
        st.add(Point { unix_us: (T0 + 30) * 1_000_000, status: Some(429), ..Point::default() }, t0);
        // garbage times count nowhere and do not move "now"
        st.add(Point { unix_us: 0, status: Some(500), ..Point::default() }, t0);
        st.add(Point { unix_us: 4_102_444_800 * 1_000_000, status: Some(500), ..Point::default() }, t0);
        assert_eq!(st.log_now(t0), Some(T0 + 3 * 3600));
        assert_eq!(st.recent.span(), Some((T0 + 2 * 3600, T0 + 3 * 3600)), "the newest hour");
        let all: Bucket = st.all_buckets().map(|(_, b)| b).sum();
        assert_eq!((all.requests(), all.classes[5], all.count_codes(429, 429)), (3 * 3600 + 1, 3 * 360, 1));
        assert_eq!(st.first_second(), Some(T0));
        assert_eq!(st.all_series().total(i64::MIN, i64::MAX).requests(), 3 * 3600 + 1);
    }

    #[test]
    fn a_pane_whose_history_cannot_go_to_disk_says_so_and_keeps_every_line() {
        let mut p = Pane::new("a.log".into(), "a.log".into(), None, &[]);
        p.lines.refuse_file();
        let data: Vec<u8> = (0..20_000).flat_map(|i| format!("line {i} of the history\n").into_bytes()).collect();
        let opts = crate::input::ScanOptions::default();
        assert_eq!(p.ingest(&data, None, &opts, None), 20_000);
        assert!(p.note.as_deref().is_some_and(|n| n.contains("history kept in memory")), "{:?}", p.note);
        assert_eq!(p.lines.line(19_999), b"line 19999 of the history");
        assert_eq!(p.lines.text_mem_bytes(), p.lines.text_bytes());
    }

    #[test]
    fn labels_show_without_the_directories_they_share() {
        let names = |ls: &[&str]| short_labels(&ls.iter().map(|&l| Arc::from(l)).collect::<Vec<_>>());
        assert_eq!(names(&["/var/log/a.log", "/var/log/b.log"]), ["a.log", "b.log"]);
        assert_eq!(
            names(&["/var/log/gw1/access.log", "/var/log/gw2/access.log"]),
            ["gw1/access.log", "gw2/access.log"]
        );
        assert_eq!(names(&["/var/log/app.log", "/var/log/app.log.1"]), ["app.log", "app.log.1"]);
        assert_eq!(names(&["/x/ab/1.log", "/x/ac/2.log"]), ["ab/1.log", "ac/2.log"], "only whole directories go");
        assert_eq!(names(&["gw1", "gw2.example.com"]), ["gw1", "gw2.example.com"]);
        assert_eq!(names(&["logs/a.log", "b.log"]), ["logs/a.log", "b.log"]);
        assert_eq!(names(&["/var/log/a.log"]), ["a.log"]);
        assert_eq!(names(&["/é/a\x1b.log", "/è/b.log"]), ["é/a\\x1b.log", "è/b.log"], "escaped, cut at a '/'");
    }

    #[test]
    fn rate_counts_the_last_five_seconds() {
        let mut r = RateMeter::default();
        let t0 = Instant::now();
        r.add(t0, 100);
        r.add(t0 + Duration::from_secs(1), 400);
        assert_eq!(r.per_second(t0 + Duration::from_secs(2)), 100.0);
        assert_eq!(r.per_second(t0 + Duration::from_millis(5500)), 80.0);
        assert_eq!(r.per_second(t0 + Duration::from_secs(10)), 0.0);
    }
}
