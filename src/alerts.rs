//! Error-rate alert rules: `5xx > 5% over 1m`, `429 > 20 over 1m`, `p99 > 2s over 1m`.
//!
//! A rule is read from one line of text (the config file's `[[alert]]` tables, or the defaults) and evaluated over
//! the time buckets of a [`Series`]: at the end of every bucket, over the window that ends there. A run of windows
//! where the rule holds is an [`Episode`]: when it started, when it cleared (if it has), and its worst value.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::stats::timeline::{Bucket, MAX_THRESHOLDS, Series};

/// The rules used when the config file has no `[[alert]]` table.
pub const DEFAULT_RULES: [&str; 3] = ["5xx > 5% over 1m", "429 > 20 over 1m", "p99 > 2s over 1m"];

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
    /// The share of requests with these statuses, above a fraction (0..1).
    Ratio(Statuses, f64),
    /// How many requests had these statuses, above a count.
    Count(Statuses, u64),
    /// The latency at quantile `q`, above a duration in µs.
    Latency { q: f64, above_us: u64 },
}

/// One alert rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// What it is called: its text, unless the config names it.
    pub name: String,
    /// What it measures and the threshold.
    pub measure: Measure,
    /// The window it is measured over, seconds.
    pub window_s: i64,
    /// Ratio rules: fewer requests than this in the window never fire.
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

impl Rule {
    /// Parse `METRIC > VALUE over WINDOW`: METRIC is a class (`5xx`), a code (`429`) or a latency percentile
    /// (`p99`, `p99.9`); VALUE is a percentage (a share of all requests), a count, or for percentiles a duration
    /// (`2s`, `800ms`); WINDOW is `30s`, `1m`, `15m`, `1h`.
    pub fn parse(text: &str) -> anyhow::Result<Rule> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let [metric, op, value, over, window] = words[..] else {
            bail!("alert rule {text:?}: expected METRIC > VALUE over WINDOW, e.g. `5xx > 5% over 1m`");
        };
        if op != ">" || !over.eq_ignore_ascii_case("over") {
            bail!("alert rule {text:?}: expected METRIC > VALUE over WINDOW, e.g. `5xx > 5% over 1m`");
        }
        let window_s = parse_window(window).with_context(|| {
            format!("alert rule {text:?}: window {window:?} is not like 30s, 1m, 15m or 1h (1h at most)")
        })?;
        let measure = if let Some(q) = metric.strip_prefix(['p', 'P']) {
            let q: f64 = q
                .parse()
                .ok()
                .filter(|q| *q > 0.0 && *q < 100.0)
                .with_context(|| format!("alert rule {text:?}: {metric:?} is not a percentile like p99"))?;
            let above_us = crate::filter::parse_duration_us(value)
                .with_context(|| format!("alert rule {text:?}: {value:?} is not a duration like 2s or 800ms"))?;
            Measure::Latency { q: q / 100.0, above_us }
        } else {
            let st = Statuses::parse(metric)
                .with_context(|| format!("alert rule {text:?}: {metric:?} is not a status class (5xx) or code"))?;
            if let Some(p) = value.strip_suffix('%') {
                let p: f64 = p
                    .parse()
                    .ok()
                    .filter(|p| (0.0..100.0).contains(p))
                    .with_context(|| format!("alert rule {text:?}: {value:?} is not a percentage"))?;
                Measure::Ratio(st, p / 100.0)
            } else {
                let n: u64 =
                    value.parse().with_context(|| format!("alert rule {text:?}: {value:?} is not a count or a %"))?;
                Measure::Count(st, n)
            }
        };
        Ok(Rule {
            name: text.split_whitespace().collect::<Vec<_>>().join(" "),
            measure,
            window_s,
            min_requests: DEFAULT_MIN_REQUESTS,
        })
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

    /// The rule's value over a window's sum (`window`, covering `span_s` seconds: the rule's window, or more when
    /// the buckets are wider), and whether it fires. `thresholds` are the series'. Counts are scaled to the rule's
    /// window.
    pub fn check(&self, window: &Bucket, thresholds: &[u64], span_s: i64) -> Check {
        let requests = window.requests();
        match self.measure {
            Measure::Ratio(st, limit) => {
                let n = st.count(window);
                let ratio = if requests == 0 { 0.0 } else { n as f64 / requests as f64 };
                Check { value: ratio, fires: requests >= self.min_requests && ratio > limit }
            }
            Measure::Count(st, limit) => {
                let n = st.count(window) as f64 * self.window_s as f64 / span_s.max(self.window_s) as f64;
                Check { value: n, fires: n > limit as f64 }
            }
            Measure::Latency { q, above_us } => {
                let value = window.quantile_us(q).unwrap_or(0) as f64;
                // exact: the q-quantile exceeds T when fewer than rank(q) records took T or less
                let fires = match thresholds.iter().position(|&t| t == above_us) {
                    Some(k) => {
                        let n = window.timed as u64;
                        let rank = crate::stats::latency::rank(q, n);
                        n > 0 && n - (window.above[k] as u64) < rank
                    }
                    None => value > above_us as f64,
                };
                Check { value, fires }
            }
        }
    }

    /// A value of this rule, for people: `12.5%`, `31`, `2.4s`.
    pub fn show_value(&self, v: f64) -> String {
        match self.measure {
            Measure::Ratio(..) => format!("{:.1}%", v * 100.0),
            Measure::Count(..) => format!("{v:.0}"),
            Measure::Latency { .. } => crate::output::duration_text(v as u64),
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

/// A rule's value over one window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Check {
    /// Ratio (0..1), count, or µs.
    pub value: f64,
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
}

/// An episode ends only once its rule has stopped holding for this long (or, under a shorter window, for the
/// window), so a rate hovering at the limit does not flap; the end given is when it first stopped holding.
pub const CLEAR_AFTER_S: i64 = 30;

/// Every episode of `rule` over the buckets of `series` within `[from, to)`: the rule is checked at the end of
/// each bucket over the window ending there (windows are whole buckets; a coarse series checks less often).
/// With `live`, an episode whose rule stopped holding less than [`CLEAR_AFTER_S`] before the end is still open;
/// otherwise (a finished file) it ended when the rule stopped holding.
pub fn episodes(series: &Series, rule: &Rule, from: i64, to: i64, live: bool) -> Vec<Episode> {
    let res = series.resolution();
    let per_window = (rule.window_s + res - 1) / res; // buckets per window, at least 1
    let Some((first, data_end)) = series.span() else { return Vec::new() };
    let empty = Bucket::default();
    let clear_after = CLEAR_AFTER_S.min(rule.window_s);
    // the buckets with records: where a run of empty windows ends
    let busy: Vec<i64> = series.buckets().filter(|(_, b)| !b.is_empty()).map(|(s, _)| s).collect();
    let mut next_busy = 0;
    let mut out: Vec<Episode> = Vec::new();
    let mut quiet_since: Option<i64> = None;
    let mut sum = Bucket::default();
    let mut window: std::collections::VecDeque<&Bucket> = Default::default();
    let mut busy_in_window = 0usize;
    // from the window before `from` (so the first check sees a whole window), bucket by bucket, on past the data
    // only as long as that can still change something: time goes on without records
    let from = from.max(first);
    let mut start = first.max(from.div_euclid(res) * res - per_window * res);
    let stop = to.min(data_end + (per_window + 1) * res + clear_after);
    while start < stop {
        let open = out.last().is_some_and(|e| e.end.is_none());
        if busy_in_window == 0 && !open {
            // nothing in the window and nothing to close: skip to the next bucket with records
            while next_busy < busy.len() && busy[next_busy] < start {
                next_busy += 1;
            }
            match busy.get(next_busy) {
                Some(&b) if b > start => {
                    start = b;
                    window.clear();
                    sum = Bucket::default();
                }
                Some(_) => {}
                None => break,
            }
        }
        let b = series.bucket_at(start).unwrap_or(&empty);
        window.push_back(b);
        busy_in_window += !b.is_empty() as usize;
        sum.absorb(b);
        if window.len() as i64 > per_window {
            let old = window.pop_front().expect("not empty");
            busy_in_window -= !old.is_empty() as usize;
            sum.subtract(old);
        }
        start += res;
        let at = start;
        if at <= from {
            continue;
        }
        let c = rule.check(&sum, series.thresholds(), per_window * res);
        match out.last_mut() {
            Some(e) if e.end.is_none() => {
                if c.fires {
                    e.peak = e.peak.max(c.value);
                    quiet_since = None;
                } else {
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
            }),
            _ => {}
        }
    }
    if let (Some(e), Some(since), false) = (out.last_mut(), quiet_since, live) {
        e.end = e.end.or(Some(since));
    }
    for e in &mut out {
        e.peak_text = rule.show_value(e.peak);
    }
    out
}

/// The rules firing at the end of `series` (the newest bucket ending at or before `now`), each with its current
/// value and the episode it belongs to.
pub fn firing(series: &Series, rules: &[Rule], now: i64) -> Vec<(usize, Episode, f64)> {
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let from = now - 3600.max(r.window_s * 2);
        if let Some(e) = episodes(series, r, from, now, true).pop().filter(|e| e.end.is_none()) {
            let window = series.total(now - r.window_s, now);
            let v = r.check(&window, series.thresholds(), r.window_s).value;
            out.push((i, e, v));
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
            "5xx < 5% over 1m",
            "6xx > 5% over 1m",
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
        assert_eq!(Rule::from_config(&[]).unwrap().len(), 3);
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
        assert_eq!(eps.len(), 2, "{eps:?}");
        assert!(eps.iter().all(|e| e.end == Some(e.start + s.resolution())), "{eps:?}");
    }

    #[test]
    fn ratio_needs_enough_requests() {
        let rules = Rule::from_config(&[]).unwrap();
        let mut s = series(&rules);
        add(&mut s, 10, 500, 1, 5);
        assert!(episodes(&s, &rules[0], 0, 100, false).is_empty());
    }
}
