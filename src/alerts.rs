//! Alert rules: `5xx > 5% over 1m`, `429 > 20 over 1m`, `p99 > 2s over 1m`, and the ones that catch traffic going
//! away: `requests < 50 over 1m`, `rps < 5 over 1m`, `2xx < 50% over 1m`, `requests < 10% of previous 15m`,
//! `silence > 60s`.
//!
//! A rule is read from one line of text (the config file's `[[alert]]` tables, or the defaults) and evaluated over
//! the time buckets of a [`Series`]: at the end of every bucket, over the window that ends there. A run of windows
//! where the rule holds is an [`Episode`]: when it started, when it cleared (if it has), and its worst value. A
//! window with too few requests to judge a share or a percentile keeps the verdict it had: an outage whose traffic
//! dies away stays an outage, marked "low volume", instead of looking like a recovery.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::stats::timeline::{Bucket, MAX_THRESHOLDS, Series};

/// The rules used when the config file has no `[[alert]]` table.
pub const DEFAULT_RULES: [&str; 5] =
    ["5xx > 5% over 1m", "429 > 20 over 1m", "p99 > 2s over 1m", "requests < 10% of previous 15m", "silence > 60s"];

/// A silence is news when at least this many lines would have come in it at the pace before it.
const SILENCE_EXPECTED: f64 = 10.0;

/// How far back "was this source busy?" looks, for rules that fire on traffic going away.
pub const BUSY_LOOKBACK_S: i64 = 900;

/// Below this many requests in its window, a ratio rule does not fire (one 500 out of two requests is not an
/// outage).
pub const DEFAULT_MIN_REQUESTS: u64 = 20;

/// Which statuses a rule counts: a class (`5xx`) or one code (`429`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statuses {
    lo: u16,
    hi: u16,
}

impl Statuses {
    fn parse(s: &str) -> Option<Statuses> {
        let b = s.as_bytes();
        if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx") {
            let lo = (b[0] - b'0') as u16 * 100;
            return Some(Statuses { lo, hi: lo + 99 });
        }
        let code: u16 = s.parse().ok().filter(|c| (100..=999).contains(c))?;
        Some(Statuses { lo: code, hi: code })
    }

    fn count(&self, b: &Bucket) -> u64 {
        if self.hi - self.lo == 99 {
            b.classes[(self.lo / 100) as usize] as u64
        } else {
            b.count_codes(self.lo, self.hi)
        }
    }
}

impl std::fmt::Display for Statuses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.hi == self.lo { write!(f, "{}", self.lo) } else { write!(f, "{}xx", self.lo / 100) }
    }
}

/// What a rule measures over its window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Measure {
    /// The share of requests with these statuses, against a fraction (0..1).
    Ratio(Statuses, f64),
    /// How many requests had these statuses, against a count.
    Count(Statuses, u64),
    /// The latency at quantile `q`, against a duration in µs.
    Latency { q: f64, above_us: u64 },
    /// How many requests the window holds (`requests`), or per second (`rps`), against a number.
    Requests { per_second: bool, limit: f64 },
    /// The window's requests as a share of the average window of the `previous_s` seconds before it, below a
    /// fraction: a drop against the source's own recent past.
    Drop { share: f64, previous_s: i64 },
    /// Seconds since the last record, above a number of seconds, on a source that was busy.
    Silence { above_s: i64 },
}

/// Which side of its limit a rule fires on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `>`
    Above,
    /// `<`
    Below,
}

/// One alert rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// What it is called: its text, unless the config names it.
    pub name: String,
    /// What it measures and the threshold.
    pub measure: Measure,
    /// `>` or `<`.
    pub direction: Direction,
    /// The window it is measured over, seconds.
    pub window_s: i64,
    /// Ratio and percentile rules: a window with fewer requests than this is not judged (the verdict before it
    /// holds, marked low volume); rules on traffic going away need the source to have had this many requests in
    /// the [`BUSY_LOOKBACK_S`] before.
    pub min_requests: u64,
}

/// A rule as written in the config file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// `5xx > 5% over 1m`, `429 > 20 over 1m`, `p99 > 2s over 5m`.
    pub rule: String,
    /// A name to show instead of the rule's text.
    pub name: Option<String>,
    /// For ratio rules: the fewest requests in the window for the rule to fire (default 20).
    pub min_requests: Option<u64>,
}

/// `10%` as 0.1 (0 to 100, 100 excluded).
fn percent(s: &str) -> Option<f64> {
    let p: f64 = s.strip_suffix('%')?.parse().ok().filter(|p| (0.0..100.0).contains(p))?;
    Some(p / 100.0)
}

fn parse_window(s: &str) -> Option<i64> {
    let (num, scale) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: i64 = num.parse().ok().filter(|&n| n > 0)?;
    let unit = match scale {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        _ => return None,
    };
    // the console keeps one-second buckets for an hour: longer windows could not be checked there
    n.checked_mul(unit).filter(|&w| w <= 3600)
}

/// How a rule is written, for error messages.
const GRAMMAR: &str = "expected METRIC > VALUE over WINDOW or METRIC < VALUE over WINDOW (`5xx > 5% over 1m`, \
                       `requests < 50 over 1m`), `requests < 10% of previous 15m` or `silence > 60s`";

impl Rule {
    /// Parse a rule: `METRIC > VALUE over WINDOW` or `METRIC < VALUE over WINDOW`, where METRIC is a class
    /// (`5xx`), a code (`429`), a latency percentile (`p99`, `p99.9`), `requests` or `rps`; VALUE is a percentage
    /// (a share of all requests), a count, or for percentiles a duration (`2s`, `800ms`); WINDOW is `30s`, `1m`,
    /// `15m`, `1h`. Also `requests < 10% of previous 15m [over 1m]` (a drop against the recent past) and
    /// `silence > 60s` (no record for that long on a source that was busy).
    pub fn parse(text: &str) -> anyhow::Result<Rule> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let name = words.join(" ");
        let bad = || anyhow::anyhow!("alert rule {text:?}: {GRAMMAR}");
        let window = |w: &str| {
            parse_window(w).with_context(|| {
                format!("alert rule {text:?}: {w:?} is not a window like 30s, 1m, 15m or 1h (1h at most)")
            })
        };
        let rule = |measure, direction, window_s| Rule {
            name: name.clone(),
            measure,
            direction,
            window_s,
            min_requests: DEFAULT_MIN_REQUESTS,
        };
        let direction = match words.get(1) {
            Some(&">") => Direction::Above,
            Some(&"<") => Direction::Below,
            _ => return Err(bad()),
        };
        let metric = words[0];
        if metric.eq_ignore_ascii_case("silence") {
            let [_, ">", value] = words[..] else { return Err(bad()) };
            return Ok(rule(Measure::Silence { above_s: window(value)? }, Direction::Above, 0));
        }
        if let [_, "<", share, of, previous, span, rest @ ..] = &words[..]
            && of.eq_ignore_ascii_case("of")
            && previous.eq_ignore_ascii_case("previous")
        {
            let share =
                percent(share).with_context(|| format!("alert rule {text:?}: {share:?} is not a percentage"))?;
            let window_s = match rest {
                [] => 60,
                [over, w] if over.eq_ignore_ascii_case("over") => window(w)?,
                _ => return Err(bad()),
            };
            let previous_s = window(span)?;
            if previous_s + window_s > 3600 {
                bail!("alert rule {text:?}: the previous span and the window cover an hour at most");
            }
            if !metric.eq_ignore_ascii_case("requests") {
                bail!("alert rule {text:?}: only `requests` is compared with a previous span");
            }
            return Ok(rule(Measure::Drop { share, previous_s }, Direction::Below, window_s));
        }
        let [_, _, value, over, w] = words[..] else { return Err(bad()) };
        if !over.eq_ignore_ascii_case("over") {
            return Err(bad());
        }
        let window_s = window(w)?;
        let measure = if metric.eq_ignore_ascii_case("requests") || metric.eq_ignore_ascii_case("rps") {
            let limit: f64 = value
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .with_context(|| format!("alert rule {text:?}: {value:?} is not a number"))?;
            Measure::Requests { per_second: metric.eq_ignore_ascii_case("rps"), limit }
        } else if let Some(q) = metric.strip_prefix(['p', 'P']) {
            let q: f64 = q
                .parse()
                .ok()
                .filter(|q| *q > 0.0 && *q < 100.0)
                .with_context(|| format!("alert rule {text:?}: {metric:?} is not a percentile like p99"))?;
            let above_us = crate::filter::parse_duration_us(value)
                .with_context(|| format!("alert rule {text:?}: {value:?} is not a duration like 2s or 800ms"))?;
            Measure::Latency { q: q / 100.0, above_us }
        } else {
            let st = Statuses::parse(metric).with_context(|| {
                format!("alert rule {text:?}: {metric:?} is not a status class (5xx), a code, p99, requests or rps")
            })?;
            if value.ends_with('%') {
                let p =
                    percent(value).with_context(|| format!("alert rule {text:?}: {value:?} is not a percentage"))?;
                Measure::Ratio(st, p)
            } else {
                let n: u64 =
                    value.parse().with_context(|| format!("alert rule {text:?}: {value:?} is not a count or a %"))?;
                Measure::Count(st, n)
            }
        };
        Ok(rule(measure, direction, window_s))
    }

    /// The rules of the config file, or the defaults when it has none.
    pub fn from_config(rules: &[RuleConfig]) -> anyhow::Result<Vec<Rule>> {
        if rules.is_empty() {
            return Ok(DEFAULT_RULES.iter().map(|r| Rule::parse(r).expect("default rules parse")).collect());
        }
        let mut out = Vec::new();
        for rc in rules {
            let mut r = Rule::parse(&rc.rule)?;
            if let Some(n) = &rc.name {
                r.name = n.clone();
            }
            if let Some(m) = rc.min_requests {
                r.min_requests = m;
            }
            out.push(r);
        }
        let latency = out.iter().filter(|r| matches!(r.measure, Measure::Latency { .. })).count();
        if latency > MAX_THRESHOLDS {
            bail!("at most {MAX_THRESHOLDS} latency alert rules (there are {latency})");
        }
        Ok(out)
    }

    /// The latency thresholds (µs) a series must count for `rules`, in order.
    pub fn thresholds(rules: &[Rule]) -> Vec<u64> {
        rules
            .iter()
            .filter_map(|r| match r.measure {
                Measure::Latency { above_us, .. } => Some(above_us),
                _ => None,
            })
            .take(MAX_THRESHOLDS)
            .collect()
    }

    /// The rule's value over one window, whether it can be judged there, and whether it holds.
    pub fn check(&self, w: &Window<'_>) -> Check {
        let requests = w.sum.requests();
        // counts are scaled to the rule's window when the buckets are wider than it
        let scale = self.window_s.max(1) as f64 / w.span_s.max(self.window_s).max(1) as f64;
        let busy = w.before >= self.min_requests;
        let (value, judged) = match self.measure {
            Measure::Ratio(st, _) => {
                let ratio = if requests == 0 { 0.0 } else { st.count(w.sum) as f64 / requests as f64 };
                (ratio, requests >= self.min_requests)
            }
            Measure::Count(st, _) => (st.count(w.sum) as f64 * scale, true),
            Measure::Latency { q, .. } => (w.sum.quantile_us(q).unwrap_or(0) as f64, w.sum.timed > 0),
            Measure::Requests { per_second, .. } => {
                let n = requests as f64 * scale;
                (if per_second { n / self.window_s.max(1) as f64 } else { n }, busy)
            }
            Measure::Drop { .. } => {
                let before = w.previous_per_window(self.window_s);
                (if before > 0.0 { requests as f64 * scale / before } else { 1.0 }, busy)
            }
            Measure::Silence { above_s } => {
                // busy enough that the silence is news: at the pace before it, 10 lines would have come by now
                let expected = w.before as f64 * above_s as f64 / w.previous_s.max(1) as f64;
                (w.quiet_s as f64, busy && expected >= SILENCE_EXPECTED)
            }
        };
        let fires = judged
            && match (self.measure, self.direction) {
                (Measure::Latency { q, above_us }, Direction::Above) => {
                    // exact: the q-quantile exceeds T when fewer than rank(q) records took T or less
                    match w.thresholds.iter().position(|&t| t == above_us) {
                        Some(k) => {
                            let n = w.sum.timed as u64;
                            n > 0 && n - (w.sum.above[k] as u64) < crate::stats::latency::rank(q, n)
                        }
                        None => value > above_us as f64,
                    }
                }
                (m, Direction::Above) => value > limit(m),
                (m, Direction::Below) => value < limit(m),
            };
        Check { value, judged, fires }
    }

    /// The rule's value at second `at` of `series` (the window ending there), for what is shown now.
    pub fn check_at(&self, series: &Series, at: i64) -> Check {
        let sum = series.total(at - self.window_s, at);
        let before_from = at - self.window_s - self.lookback_s();
        let previous = series.total(before_from, at - self.window_s);
        let last = series.buckets().filter(|(s, b)| !b.is_empty() && *s < at).map(|(s, _)| s).last();
        let quiet_s = last.map_or(0, |s| at - (s + series.resolution()).min(at));
        let silence_from = at - quiet_s - BUSY_LOOKBACK_S;
        let before = match self.measure {
            Measure::Silence { .. } => series.total(silence_from, at - quiet_s).requests(),
            _ => previous.requests(),
        };
        let w = Window {
            sum: &sum,
            span_s: self.window_s,
            thresholds: series.thresholds(),
            previous: &previous,
            previous_s: self.lookback_s(),
            before,
            quiet_s,
        };
        self.check(&w)
    }

    /// How far before its window the rule looks.
    fn lookback_s(&self) -> i64 {
        match self.measure {
            Measure::Drop { previous_s, .. } => previous_s,
            _ => BUSY_LOOKBACK_S,
        }
    }

    /// Whether the rule looks at traffic going away (so empty windows matter to it).
    fn watches_absence(&self) -> bool {
        matches!(self.measure, Measure::Drop { .. } | Measure::Silence { .. })
            || matches!((self.measure, self.direction), (Measure::Requests { .. }, Direction::Below))
    }

    /// A value of this rule, for people: `12.5%`, `31`, `2.4s`.
    pub fn show_value(&self, v: f64) -> String {
        match self.measure {
            Measure::Ratio(..) => format!("{:.1}%", v * 100.0),
            Measure::Count(..) => format!("{v:.0}"),
            Measure::Latency { .. } => crate::numbers::duration_text(v as u64),
            Measure::Requests { per_second: true, .. } => format!("{v:.1}/s"),
            Measure::Requests { per_second: false, .. } => format!("{v:.0}"),
            Measure::Drop { .. } => format!("{:.1}% of before", v * 100.0),
            Measure::Silence { .. } => format!("quiet {}", crate::numbers::span_text(v as i64)),
        }
    }

    /// Whether `a` is a worse value of this rule than `b`.
    fn worse(&self, a: f64, b: f64) -> bool {
        match self.direction {
            Direction::Above => a > b,
            Direction::Below => a < b,
        }
    }
}

/// The rules in force: the config file's, or the defaults.
#[derive(Clone, Debug)]
pub struct Rules(std::sync::Arc<[Rule]>);

impl Default for Rules {
    fn default() -> Self {
        Rules::from_config(&[]).expect("default rules parse")
    }
}

impl std::ops::Deref for Rules {
    type Target = [Rule];
    fn deref(&self) -> &[Rule] {
        &self.0
    }
}

impl Rules {
    /// The rules of the config file's `[[alert]]` tables, or the defaults when it has none.
    pub fn from_config(rules: &[RuleConfig]) -> anyhow::Result<Rules> {
        Ok(Rules(Rule::from_config(rules)?.into()))
    }

    /// The latency thresholds (µs) a series must count for these rules.
    pub fn thresholds(&self) -> Vec<u64> {
        Rule::thresholds(&self.0)
    }
}

/// The limit a measure is compared with, in the unit of its value.
fn limit(m: Measure) -> f64 {
    match m {
        Measure::Ratio(_, l) => l,
        Measure::Count(_, l) => l as f64,
        Measure::Latency { above_us, .. } => above_us as f64,
        Measure::Requests { limit, .. } => limit,
        Measure::Drop { share, .. } => share,
        Measure::Silence { above_s } => above_s as f64,
    }
}

/// What a rule is checked over: one window, and what came before it.
pub struct Window<'a> {
    /// The window's buckets summed.
    pub sum: &'a Bucket,
    /// The seconds `sum` covers: the rule's window, or more when the buckets are wider.
    pub span_s: i64,
    /// The series' latency thresholds (see [`Bucket::above`]).
    pub thresholds: &'a [u64],
    /// The buckets of the span before the window summed (the rule's previous span, else [`BUSY_LOOKBACK_S`]).
    pub previous: &'a Bucket,
    /// The seconds `previous` covers.
    pub previous_s: i64,
    /// Requests before the window (before the silence, for silence rules): was the source busy?
    pub before: u64,
    /// Seconds since the last record.
    pub quiet_s: i64,
}

impl Window<'_> {
    /// The previous span's requests per `window_s` seconds.
    fn previous_per_window(&self, window_s: i64) -> f64 {
        self.previous.requests() as f64 * window_s as f64 / self.previous_s.max(1) as f64
    }
}

/// A rule's value over one window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Check {
    /// Ratio (0..1), count, µs, requests (per second), share of before, or seconds.
    pub value: f64,
    /// Whether the window holds enough requests to judge (else an episode keeps its verdict).
    pub judged: bool,
    /// Whether the rule holds.
    pub fires: bool,
}

/// A stretch of log time during which a rule held.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Episode {
    /// The rule's name.
    pub rule: String,
    /// When it started to hold: the end of the first window over the limit (epoch seconds).
    pub start: i64,
    /// When it stopped holding (epoch seconds); `None` while it still holds at the end of the data.
    pub end: Option<i64>,
    /// The worst value meanwhile (ratio, count or µs).
    pub peak: f64,
    /// The worst value, for people.
    pub peak_text: String,
    /// Since when (epoch seconds) the windows have held too few requests to judge, while the episode is open:
    /// the verdict before holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_volume_since: Option<i64>,
}

/// An episode ends only once its rule has stopped holding for this long (or, under a shorter window, for the
/// window), so a rate hovering at the limit does not flap; the end given is when it first stopped holding.
pub const CLEAR_AFTER_S: i64 = 30;

/// Every episode of `rule` over the buckets of `series` within `[from, to)`: the rule is checked at the end of
/// each bucket over the window ending there (windows are whole buckets; a coarse series checks less often).
/// With `live`, time goes on past the last record up to `to` (so traffic that stopped is seen), and an episode
/// whose rule stopped holding less than [`CLEAR_AFTER_S`] before the end is still open; otherwise (a finished
/// file) the check stops at the last record, and an episode ended when its rule stopped holding.
pub fn episodes(series: &Series, rule: &Rule, from: i64, to: i64, live: bool) -> Vec<Episode> {
    let res = series.resolution();
    let buckets = |s: i64| ((s.max(1) + res - 1) / res).max(1);
    let (per_window, per_previous) = (buckets(rule.window_s), buckets(rule.lookback_s()));
    let Some((first, data_end)) = series.span() else { return Vec::new() };
    let empty = Bucket::default();
    let absence = rule.watches_absence();
    // rules judged on an empty window (a count falling to zero) close there; the others keep their verdict
    let judges_empty = !absence && matches!(rule.measure, Measure::Count(..) | Measure::Requests { .. });
    let clear_after = match rule.measure {
        Measure::Silence { .. } => 0,
        _ => CLEAR_AFTER_S.min(rule.window_s),
    };
    // the buckets with records: where a run of empty windows ends
    let busy: Vec<i64> = series.buckets().filter(|(_, b)| !b.is_empty()).map(|(s, _)| s).collect();
    let mut next_busy = 0;
    let mut out: Vec<Episode> = Vec::new();
    let mut quiet_since: Option<i64> = None;
    let (mut sum, mut previous) = (Bucket::default(), Bucket::default());
    let mut window: std::collections::VecDeque<&Bucket> = Default::default();
    let mut before: std::collections::VecDeque<&Bucket> = Default::default();
    let (mut busy_in_window, mut busy_before) = (0usize, 0usize);
    let mut last_busy_end: Option<i64> = None;
    // from the windows before `from` (so the first check sees whole ones), bucket by bucket; past the last record
    // only live, or as long as that can still change something
    let from = from.max(first);
    let lead = per_window + if absence { per_previous } else { 0 };
    let mut start = first.max(from.div_euclid(res) * res - lead * res);
    let stop = match (live, absence) {
        (true, true) => to,
        (true, false) => to.min(data_end + (per_window + 1) * res + clear_after),
        (false, _) => to.min(data_end),
    };
    while start < stop {
        let open = out.last().is_some_and(|e| e.end.is_none());
        let idle = busy_in_window == 0 && (!absence || busy_before == 0);
        if idle && !(open && judges_empty) {
            // nothing in the window (nor, for rules on traffic going away, before it): nothing changes until the
            // next records; skip to them
            while next_busy < busy.len() && busy[next_busy] < start {
                next_busy += 1;
            }
            let resume = match busy.get(next_busy) {
                Some(&b) if b < stop => b,
                _ => stop,
            };
            if let (Some(e), Measure::Silence { .. }, Some(end)) = (out.last_mut(), rule.measure, last_busy_end)
                && e.end.is_none()
            {
                e.peak = e.peak.max((resume - end) as f64);
            }
            if resume > start {
                start = resume;
                window.clear();
                before.clear();
                sum = Bucket::default();
                previous = Bucket::default();
                if start >= stop {
                    break;
                }
            }
        }
        let b = series.bucket_at(start).unwrap_or(&empty);
        window.push_back(b);
        busy_in_window += !b.is_empty() as usize;
        sum.absorb(b);
        if !b.is_empty() {
            last_busy_end = Some(start + res);
        }
        if window.len() as i64 > per_window {
            let old = window.pop_front().expect("not empty");
            busy_in_window -= !old.is_empty() as usize;
            sum.subtract(old);
            before.push_back(old);
            busy_before += !old.is_empty() as usize;
            previous.absorb(old);
            if before.len() as i64 > per_previous {
                let older = before.pop_front().expect("not empty");
                busy_before -= !older.is_empty() as usize;
                previous.subtract(older);
            }
        }
        start += res;
        let at = start;
        if at <= from {
            continue;
        }
        let w = Window {
            sum: &sum,
            span_s: per_window * res,
            thresholds: series.thresholds(),
            previous: &previous,
            previous_s: before.len().max(1) as i64 * res,
            before: previous.requests(),
            quiet_s: last_busy_end.map_or(0, |e| at - e),
        };
        let c = rule.check(&w);
        match out.last_mut() {
            Some(e) if e.end.is_none() => {
                if !c.judged {
                    // too few requests to judge: the verdict holds
                    e.low_volume_since.get_or_insert(at);
                } else if c.fires {
                    e.low_volume_since = None;
                    if rule.worse(c.value, e.peak) {
                        e.peak = c.value;
                    }
                    quiet_since = None;
                } else {
                    e.low_volume_since = None;
                    let since = *quiet_since.get_or_insert(at);
                    if at - since >= clear_after {
                        e.end = Some(since);
                        quiet_since = None;
                    }
                }
            }
            _ if c.fires => out.push(Episode {
                rule: rule.name.clone(),
                start: at,
                end: None,
                peak: c.value,
                peak_text: String::new(),
                low_volume_since: None,
            }),
            _ => {}
        }
    }
    if let (Some(e), Some(since), false) = (out.last_mut(), quiet_since, live) {
        e.end = e.end.or(Some(since));
    }
    for e in &mut out {
        e.peak_text = rule.show_value(e.peak);
        if e.end.is_some() {
            e.low_volume_since = None;
        }
    }
    out
}

/// The rules firing at the end of `series` (the newest bucket ending at or before `now`), each with its current
/// value and the episode it belongs to.
pub fn firing(series: &Series, rules: &[Rule], now: i64) -> Vec<(usize, Episode, f64)> {
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let from = now - 3600.max((r.window_s + r.lookback_s()) * 2);
        if let Some(e) = episodes(series, r, from, now, true).pop().filter(|e| e.end.is_none()) {
            out.push((i, e, r.check_at(series, now).value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::timeline::{Keep, Point};

    fn series(rules: &[Rule]) -> Series {
        Series::new(Keep::All, 4096, &Rule::thresholds(rules))
    }

    fn add(s: &mut Series, sec: i64, status: u16, ms: u64, n: usize) {
        for _ in 0..n {
            s.add(Point {
                unix_us: sec * 1_000_000,
                status: Some(status),
                latency_us: Some(ms * 1000),
                ..Point::default()
            });
        }
    }

    #[test]
    fn parses_the_rule_language() {
        let r = Rule::parse("5xx > 5% over 1m").unwrap();
        assert_eq!((r.measure, r.window_s), (Measure::Ratio(Statuses { lo: 500, hi: 599 }, 0.05), 60));
        let r = Rule::parse("429  >  20 over 1m").unwrap();
        assert_eq!(
            (r.measure, r.name.as_str()),
            (Measure::Count(Statuses { lo: 429, hi: 429 }, 20), "429 > 20 over 1m")
        );
        let r = Rule::parse("p99.9 > 800ms over 5m").unwrap();
        let Measure::Latency { q, above_us } = r.measure else { panic!("{r:?}") };
        assert_eq!((above_us, r.window_s), (800_000, 300));
        assert!((q - 0.999).abs() < 1e-9);
        for bad in [
            "5xx > 5%",
            "5xx = 5% over 1m",
            "6xx > 5% over 1m",
            "silence > 60s over 1m",
            "silence < 60s",
            "requests < 10% of previous 2h",
            "requests < 10% of previous 50m over 15m",
            "5xx < 10% of previous 15m",
            "requests < ten% of previous 15m",
            "rps < fast over 1m",
            "requests < -3 over 1m",
            "5xx > 5% over 3d",
            "5xx > 5% over 2h",
            "5xx > 5% over 99999999999999999h",
            "p100 > 2s over 1m",
            "p99 > fast over 1m",
            "429 > lots over 1m",
        ] {
            let e = Rule::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
        assert_eq!(Rule::from_config(&[]).unwrap().len(), 5);
        let r = Rule::parse("requests < 50 over 1m").unwrap();
        assert_eq!((r.measure, r.direction), (Measure::Requests { per_second: false, limit: 50.0 }, Direction::Below));
        let r = Rule::parse("rps < 2.5 over 30s").unwrap();
        assert_eq!((r.measure, r.window_s), (Measure::Requests { per_second: true, limit: 2.5 }, 30));
        let r = Rule::parse("2xx < 50% over 1m").unwrap();
        assert_eq!((r.measure, r.direction), (Measure::Ratio(Statuses { lo: 200, hi: 299 }, 0.5), Direction::Below));
        let r = Rule::parse("requests < 10% of previous 15m").unwrap();
        assert_eq!((r.measure, r.window_s), (Measure::Drop { share: 0.1, previous_s: 900 }, 60));
        let r = Rule::parse("requests < 25% of previous 30m over 5m").unwrap();
        assert_eq!((r.measure, r.window_s), (Measure::Drop { share: 0.25, previous_s: 1800 }, 300));
        let r = Rule::parse("silence > 60s").unwrap();
        assert_eq!((r.measure, r.direction), (Measure::Silence { above_s: 60 }, Direction::Above));
    }

    #[test]
    fn ratio_fires_during_the_burst_and_clears_after() {
        let rules = Rule::from_config(&[]).unwrap();
        let mut s = series(&rules);
        // 10 minutes at 10 req/s; 502s at 20% from 03:00 to 05:00
        for sec in 0..600 {
            let bad = (180..300).contains(&sec);
            add(&mut s, sec, 200, 20, if bad { 8 } else { 10 });
            add(&mut s, sec, 502, 1, if bad { 2 } else { 0 });
        }
        let eps = episodes(&s, &rules[0], 0, 600, false);
        assert_eq!(eps.len(), 1, "{eps:?}");
        // 5% of 600 requests over the window = 30 errors: 15 seconds into the burst
        assert_eq!(eps[0].start, 180 + 16);
        // clears when the window holds no more than 30 errors: 45 s after the burst's last second
        assert_eq!(eps[0].end, Some(300 + 45));
        assert_eq!(eps[0].peak_text, "20.0%");
        // the other rules never held
        assert!(episodes(&s, &rules[1], 0, 600, false).is_empty());
        assert!(episodes(&s, &rules[2], 0, 600, false).is_empty());
    }

    #[test]
    fn count_and_latency_rules() {
        let rules = Rule::from_config(&[]).unwrap();
        let mut s = series(&rules);
        for sec in 0..300 {
            add(&mut s, sec, 200, if (100..160).contains(&sec) { 2500 } else { 30 }, 5);
            add(&mut s, sec, 429, 1, if sec >= 250 { 1 } else { 0 });
        }
        let e429 = episodes(&s, &rules[1], 0, 300, false);
        assert_eq!(e429.len(), 1);
        assert_eq!((e429[0].start, e429[0].end), (250 + 21, None));
        let slow = episodes(&s, &rules[2], 0, 300, false);
        assert_eq!(slow.len(), 1, "{slow:?}");
        // p99 of a 1-minute window passes 2 s once more than 1% of its requests took longer
        assert!(slow[0].start > 100 && slow[0].start < 110, "{slow:?}");
        assert!(slow[0].end.is_some_and(|e| e > 160 && e <= 220), "{slow:?}");
        let now = firing(&s, &rules, 300);
        assert_eq!(now.iter().map(|(i, ..)| *i).collect::<Vec<_>>(), vec![1]);
        assert_eq!(now[0].2, 50.0);
    }

    #[test]
    fn a_rate_hovering_at_the_limit_is_one_episode_not_many() {
        let rules = Rule::from_config(&[]).unwrap();
        let mut s = series(&rules);
        // 429s: 21 in some minutes and 20 in others, switching every 10 s; then none at all
        for sec in 0..400 {
            add(&mut s, sec, 200, 1, 1);
            let n = if sec >= 300 {
                0
            } else if (sec / 10) % 2 == 0 && sec % 60 == 0 {
                2
            } else {
                (sec % 3 == 0) as usize
            };
            add(&mut s, sec, 429, 1, n);
        }
        let eps = episodes(&s, &rules[1], 0, 400, false);
        assert_eq!(eps.len(), 1, "{eps:?}");
        assert!(eps[0].end.is_some_and(|e| e > 300 && e <= 360), "{eps:?}");
        // live, an episode is still open while its rule has been quiet for less than CLEAR_AFTER_S
        let open = episodes(&s, &rules[1], 0, eps[0].end.unwrap() + CLEAR_AFTER_S - 1, true);
        assert_eq!(open.last().unwrap().end, None);
        let closed = episodes(&s, &rules[1], 0, eps[0].end.unwrap() + CLEAR_AFTER_S, true);
        assert_eq!(closed.last().unwrap().end, eps[0].end);
    }

    #[test]
    fn coarse_buckets_scale_counts_to_the_window_and_gaps_are_skipped() {
        let rules = Rule::from_config(&[]).unwrap();
        // three hours in 64 buckets: 200-second buckets
        let mut s = Series::new(Keep::All, 64, &Rule::thresholds(&rules));
        for sec in (0..3 * 3600).step_by(5) {
            add(&mut s, 1_700_000_000 + sec, 429, 1, 1); // 12 a minute: under 20 whatever the bucket width
        }
        assert_eq!(s.resolution(), 600);
        assert!(episodes(&s, &rules[1], i64::MIN, i64::MAX, false).is_empty());
        // a year-long gap between two bursts is crossed without walking it
        let mut s = series(&rules);
        for t in [1_700_000_000, 1_700_000_000 + 300 * 86_400] {
            add(&mut s, t, 502, 1, 50);
            add(&mut s, t, 200, 1, 50);
        }
        let eps = episodes(&s, &rules[0], i64::MIN, i64::MAX, false);
        // nothing in between tells that the errors stopped: one episode, judged again by the second burst
        assert_eq!(eps.len(), 1, "{eps:?}");
        let first_end = s.span().unwrap().0 + s.resolution();
        assert_eq!((eps[0].start, eps[0].end, eps[0].low_volume_since), (first_end, None, None), "{eps:?}");
    }

    /// 50 req/s all 200 for two minutes, 50 req/s all 502 for two minutes, then 0.1 req/s, all 502, for six.
    fn outage_with_trickle(rules: &[Rule]) -> Series {
        let mut s = series(rules);
        for sec in 0..600 {
            match sec {
                0..120 => add(&mut s, sec, 200, 20, 50),
                120..240 => add(&mut s, sec, 502, 1, 50),
                _ if sec % 10 == 0 => add(&mut s, sec, 502, 1, 1),
                _ => {}
            }
        }
        s
    }

    #[test]
    fn an_outage_whose_traffic_dies_away_stays_an_outage_and_the_drop_is_its_own_alert() {
        let rules = Rule::from_config(&[]).unwrap();
        let s = outage_with_trickle(&rules);
        let errors = episodes(&s, &rules[0], 0, 600, false);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].start, 124, "over 5% of 3,000 requests in the minute: {errors:?}");
        assert_eq!(errors[0].end, None, "the outage is not over: {errors:?}");
        // the window holds fewer than 20 requests from 240 + 60 - 1 s on: too few to judge, the verdict holds
        let low = errors[0].low_volume_since.unwrap();
        assert!((290..=300).contains(&low), "{errors:?}");
        // the drop: under 10% of the 15 minutes before (all of the two busy windows before it)
        let drop = episodes(&s, &rules[3], 0, 600, false);
        assert_eq!(drop.len(), 1, "{drop:?}");
        assert!((250..=300).contains(&drop[0].start) && drop[0].end.is_none(), "{drop:?}");
        assert!(drop[0].peak < 0.01, "down to under 1% of before: {drop:?}");
        assert!(drop[0].peak_text.ends_with("% of before"), "{drop:?}");
        // absolute floors, in requests and per second
        let floor = Rule::parse("requests < 50 over 1m").unwrap();
        let e = episodes(&s, &floor, 0, 600, false);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!((290..=300).contains(&e[0].start), "{e:?}");
        assert_eq!(e[0].peak_text, "6", "{e:?}");
        let rps = Rule::parse("rps < 5 over 1m").unwrap();
        assert_eq!(episodes(&s, &rps, 0, 600, false)[0].peak_text, "0.1/s");
        // and a share below: 2xx under half
        let ok = Rule::parse("2xx < 50% over 1m").unwrap();
        let e = episodes(&s, &ok, 0, 600, false);
        assert_eq!((e.len(), e[0].end), (1, None), "{e:?}");
        // the console's view now: both hold
        let now = firing(&s, &rules, 600);
        assert_eq!(now.iter().map(|(i, ..)| *i).collect::<Vec<_>>(), vec![0, 3], "{now:?}");
    }

    #[test]
    fn silence_on_a_busy_source_fires_live_and_ends_when_lines_come_back() {
        let rules = Rule::from_config(&[]).unwrap();
        let mut s = series(&rules);
        for sec in 0..300 {
            add(&mut s, sec, 200, 20, 5);
        }
        // nothing more: 90 s later, live
        let quiet = episodes(&s, &rules[4], 0, 390, true);
        assert_eq!(quiet.len(), 1, "{quiet:?}");
        assert_eq!((quiet[0].start, quiet[0].end), (361, None), "over 60 s without a line");
        let now = firing(&s, &rules, 390);
        assert_eq!(
            now.iter().map(|(i, _, v)| (*i, *v)).collect::<Vec<_>>(),
            [(3, 0.0), (4, 90.0)],
            "quiet for 90 s now"
        );
        // a finished file ends at its last line: no silence after it
        assert!(episodes(&s, &rules[4], 0, 390, false).is_empty());
        // lines again at 400: the silence ended there, and lasted 100 s
        add(&mut s, 400, 200, 20, 5);
        let quiet = episodes(&s, &rules[4], 0, 500, false);
        assert_eq!((quiet.len(), quiet[0].start, quiet[0].end), (1, 361, Some(401)), "{quiet:?}");
        assert_eq!(quiet[0].peak_text, "quiet 1m40s");
        // a source that was never busy is not silent, nor one whose pace makes a minute's pause usual
        let mut idle = series(&rules);
        add(&mut idle, 0, 200, 20, 3);
        assert!(episodes(&idle, &rules[4], 0, 500, true).is_empty());
        let mut slow = series(&rules);
        for sec in (0..900).step_by(20) {
            add(&mut slow, sec, 200, 20, 1); // 3 a minute, 45 in 15 minutes: busy, but a minute is 3 lines
        }
        assert!(episodes(&slow, &rules[4], 0, 1000, true).is_empty());
    }

    #[test]
    fn ratio_needs_enough_requests() {
        let rules = Rule::from_config(&[]).unwrap();
        let mut s = series(&rules);
        add(&mut s, 10, 500, 1, 5);
        assert!(episodes(&s, &rules[0], 0, 100, false).is_empty());
    }
}
