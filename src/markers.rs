//! Change markers: lines that announce a change — a gateway reload, a new Envoy cluster or listener, a service
//! starting — so the diagnosis can say "5xx began 4 s after a gateway reload at 12:03:00".

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::RegexSet;

use crate::diagnose::Diagnosis;
use crate::record::Record;
use crate::stats::timeline::Series;

/// Most markers kept per source.
pub const MAX_MARKERS: usize = 200;

/// What the built-in patterns recognise, in order: a short name for each.
const KINDS: [(&str, &str); 8] = [
    ("gateway reload", r"\bsignal process started\b|\breconfiguring\b"),
    // HAProxy's own alerts: a health check took a server out, or a backend has none left
    ("server down", r"\bServer [^\s/]+/\S+ is DOWN\b|\bbackend \S+ has no server available!"),
    ("ingress reload", r"(?i)backend successfully reloaded|configuration changes detected, backend reload required"),
    ("Envoy cluster change", r"\bcds: add \d+ cluster"),
    ("Envoy listener change", r"\blds: add/update listener"),
    ("config reload", r"(?i)\b(config(uration)? (re)?loaded|reloading (the )?config(uration)?)\b"),
    ("deploy", r"(?i)\b(deploy(ment)? (started|finished|complete)|rolling (update|restart))\b"),
    ("service start", r"(?i)\b(server started|started server|listening on (port|https?://|[0-9.:\[]))"),
];

fn patterns() -> &'static RegexSet {
    static SET: OnceLock<RegexSet> = OnceLock::new();
    SET.get_or_init(|| RegexSet::new(KINDS.iter().map(|(_, re)| *re)).expect("the marker patterns compile"))
}

fn byte_patterns() -> &'static regex::bytes::RegexSet {
    static SET: OnceLock<regex::bytes::RegexSet> = OnceLock::new();
    SET.get_or_init(|| {
        regex::bytes::RegexSet::new(KINDS.iter().map(|(_, re)| *re)).expect("the marker patterns compile")
    })
}

/// The kind of change `message` announces, if it is a change marker.
pub fn kind_of(message: &str) -> Option<&'static str> {
    patterns().matches(message).iter().next().map(|i| KINDS[i].0)
}

/// Whether a raw line may hold a message [`kind_of`] recognises: checked on the bytes before a line is parsed,
/// so a log of thousands of lines a second is parsed again only for the few that may announce a change.
pub fn may_announce(line: &[u8]) -> bool {
    byte_patterns().is_match(line)
}

/// Where the changes of `--markers VALUE` come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarkerSource {
    /// A file: `VALUE` names one that exists.
    File(PathBuf),
    /// A shell command (`sh -c VALUE`): anything else.
    Command(String),
}

impl MarkerSource {
    /// A value naming an existing file is that file; anything else is a command for `sh -c`.
    pub fn of(value: &str) -> MarkerSource {
        if Path::new(value).is_file() { MarkerSource::File(value.into()) } else { MarkerSource::Command(value.into()) }
    }
}

/// The `--marker-regex` flag's regex.
pub fn regex_flag(re: Option<&str>) -> anyhow::Result<Option<regex::Regex>> {
    re.map(|re| {
        regex::Regex::new(re)
            .map_err(|e| anyhow::anyhow!("invalid --marker-regex {re:?}: {}", crate::filter::regex_error(&e)))
    })
    .transpose()
}

/// How long `report` lets a marker command run before it is stopped and what it printed is used.
pub const COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Longest text kept of a marker's line, in characters.
pub const MAX_TEXT: usize = 160;

/// A line of a marker source as a change: its time (when it has one) and its text (the record's message, else the
/// line itself, control characters escaped), when the text matches `matches` (every line does when `None`).
pub fn change_of(
    rec: Option<&Record<'_>>,
    line: &[u8],
    matches: Option<&regex::Regex>,
) -> Option<(Option<i64>, String)> {
    let text = rec.and_then(|r| r.message.as_deref()).map_or_else(|| crate::text::escape_control(line), str::to_string);
    if text.trim().is_empty() || matches.is_some_and(|re| !re.is_match(&text)) {
        return None;
    }
    Some((rec.and_then(|r| r.time).map(|t| t.unix_us), text.chars().take(MAX_TEXT).collect()))
}

/// A change, as the diagnosis names it.
#[derive(Clone, Copy, Debug)]
pub struct Change<'a> {
    /// When, µs since the epoch.
    pub unix_us: i64,
    /// What kind of change (`gateway reload`, `change`).
    pub kind: &'a str,
    /// The source it was read from.
    pub source: &'a str,
    /// Its line's message.
    pub text: &'a str,
}

/// How long before a family began a change is taken for its trigger.
pub const REACH_S: i64 = 60;

/// For each family of `diagnosis` that rose against the baseline `[b0, b1)` (seconds), when it began in `series`
/// (the first 10 s with at least 5 of it and 4× its baseline pace), and a change of `changes` in the [`REACH_S`]
/// before: "began 4 s after a gateway reload at 12:03:00 (gw1: signal process started)", put first in its
/// evidence. `clock` shows a second as a time of day.
pub fn tie_to_changes(
    series: &Series,
    (b0, b1): (i64, i64),
    changes: &[Change<'_>],
    clock: impl Fn(i64) -> String,
    diagnosis: &mut [Diagnosis],
) {
    if changes.is_empty() || series.resolution() > 10 {
        return;
    }
    for d in diagnosis.iter_mut() {
        let Some(change) = &d.change else { continue };
        if change.now_per_minute <= change.before_per_minute * 1.5 {
            continue;
        }
        let per_10s = change.before_per_minute / 6.0;
        let need = (4.0 * per_10s).max(5.0).ceil() as u64;
        let mut window: std::collections::VecDeque<(i64, u64)> = Default::default();
        let mut sum = 0;
        let mut began = None;
        for (start, b) in series.buckets().filter(|(s, _)| *s >= b0) {
            let n = b.count_codes(d.status, d.status);
            window.push_back((start, n));
            sum += n;
            while window.front().is_some_and(|(s, _)| *s <= start - 10) {
                sum -= window.pop_front().map_or(0, |(_, n)| n);
            }
            if sum >= need {
                // the first second of the run that got there
                began = window.iter().find(|(_, n)| *n > 0).map(|(s, _)| *s);
                break;
            }
        }
        let Some(began) = began.filter(|&b| b >= b1 - REACH_S) else { continue };
        // the latest change before it, within reach
        let trigger = changes
            .iter()
            .filter(|c| {
                let s = c.unix_us.div_euclid(1_000_000);
                s <= began && began - s <= REACH_S
            })
            .max_by_key(|c| c.unix_us);
        if let Some(c) = trigger {
            let s = c.unix_us.div_euclid(1_000_000);
            let text = format!("began {} s after a {} at {} ({}: {})", began - s, c.kind, clock(s), c.source, c.text);
            d.evidence.insert(0, text);
        }
    }
}

/// A change seen in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// When, µs since the epoch.
    pub unix_us: i64,
    /// What kind of change (`gateway reload`).
    pub kind: &'static str,
    /// The line's message, cut to 160 characters.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_reloads_and_starts() {
        assert_eq!(kind_of("signal process started"), Some("gateway reload"));
        assert_eq!(kind_of("Backend successfully reloaded"), Some("ingress reload"));
        assert_eq!(kind_of("cds: add 3 cluster(s), remove 1 cluster(s)"), Some("Envoy cluster change"));
        assert_eq!(kind_of("lds: add/update listener 'ingress_http'"), Some("Envoy listener change"));
        assert_eq!(kind_of("Server started, listening on port 8080"), Some("service start"));
        let down = r#"Server orders/srv1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 0 active and 0 backup servers left."#;
        assert_eq!(kind_of(down), Some("server down"));
        assert_eq!(kind_of("backend orders has no server available!"), Some("server down"));
        assert_eq!(kind_of("Server orders/srv1 is UP, reason: Layer4 check passed"), None);
        assert_eq!(kind_of("connect() failed (111: Connection refused)"), None);
        assert_eq!(kind_of("request completed"), None);
    }

    #[test]
    fn the_byte_check_lets_every_marker_through_and_few_others() {
        let lines: [&[u8]; 4] = [
            b"2024/05/01 12:03:16 [notice] 1#1: signal process started",
            br#"{"level":30,"time":1714565000000,"msg":"Server started, listening on port 8080"}"#,
            b"I0501 12:03:16.000 controller.go:190] \"Backend successfully reloaded\"",
            b"[2024-05-01 12:03:16.000][1][info][upstream] cds: add 3 cluster(s), remove 0 cluster(s)",
        ];
        for l in lines {
            assert!(may_announce(l), "{}", String::from_utf8_lossy(l));
        }
        let access = br#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /v1/orders/1 HTTP/1.1" 200 12 "-" "curl/8""#;
        assert!(!may_announce(access));
        assert!(!may_announce(br#"{"level":30,"msg":"request completed"}"#));
    }

    #[test]
    fn a_value_naming_a_file_is_a_file_and_anything_else_a_command() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("deploys.log");
        std::fs::write(&file, "x\n").unwrap();
        let name = file.display().to_string();
        assert_eq!(MarkerSource::of(&name), MarkerSource::File(file));
        let cmd = "kubectl get events -w";
        assert_eq!(MarkerSource::of(cmd), MarkerSource::Command(cmd.into()));
        // a directory is no file: the shell says what it makes of it
        let d = dir.path().display().to_string();
        assert_eq!(MarkerSource::of(&d), MarkerSource::Command(d.clone()));
    }

    #[test]
    fn a_change_line_keeps_its_message_and_time_when_the_regex_takes_it() {
        let opts = crate::format::ParseOptions::default();
        let line = b"2024-05-01T12:03:15Z deploy orders-api v2.3.1";
        let rec = crate::format::Format::Plain.parse(line, &opts);
        let (t, text) = change_of(rec.as_ref(), line, None).unwrap();
        assert_eq!((t, text.as_str()), (Some(1_714_564_995_000_000), "deploy orders-api v2.3.1"));
        let deploys = regex::Regex::new("^deploy").unwrap();
        assert!(change_of(rec.as_ref(), line, Some(&deploys)).is_some());
        let flags = regex::Regex::new("^flag").unwrap();
        assert!(change_of(rec.as_ref(), line, Some(&flags)).is_none());
        // a line with no time: its text, escaped, and no time of its own
        let (t, text) = change_of(None, b"0s Normal Scaled\x1b[31m up", None).unwrap();
        assert_eq!((t, text.as_str()), (None, "0s Normal Scaled\\x1b[31m up"));
        assert!(change_of(None, b"   ", None).is_none(), "a blank line is no change");
    }
}
