//! Which logged records to replay: one request id, one line, or every record a filter matches.

use std::io::{BufRead, Read};

use anyhow::{Context, bail};

use crate::filter::Filter;
use crate::input::ScanOptions;
use crate::record::{Record, Role};

/// What to pick from the sources.
pub enum Pick {
    /// The gateway record of this request id (the first, when a retry logged several).
    Id(String),
    /// The Nth line (1-based) of the one source.
    Line(u64),
    /// Every record the filter matches, oldest first, at most `max`.
    Filter { filter: Filter, max: usize },
}

/// A record chosen for replay.
#[derive(Clone, Debug)]
pub struct Picked {
    /// The source's path as given.
    pub source: String,
    /// Its 1-based line number.
    pub line: u64,
    /// Gateway or upstream.
    pub role: Role,
    /// The parsed record.
    pub record: Record<'static>,
}

/// Whether a record logs a request that can be sent again: a method and a path.
pub fn is_request(rec: &Record<'_>) -> bool {
    rec.method.is_some() && rec.path.is_some()
}

/// The records a batch replays, oldest first, at most `max`: a request logged by the gateway and by its service is
/// replayed once, through the gateway, so when any is a gateway record only gateway records stay.
pub fn oldest_first<T>(mut all: Vec<T>, role: impl Fn(&T) -> Role, time_us: impl Fn(&T) -> i64, max: usize) -> Vec<T> {
    if all.iter().any(|p| role(p) == Role::Gateway) {
        all.retain(|p| role(p) == Role::Gateway);
    }
    all.sort_by_key(|p| time_us(p));
    all.truncate(max);
    all
}

/// Pick records from `sources` (path, role override).
pub fn pick(sources: &[(String, Option<Role>)], what: &Pick, opts: &ScanOptions) -> anyhow::Result<Vec<Picked>> {
    match what {
        Pick::Line(n) => {
            let [(path, role)] = sources else { bail!("--line needs exactly one SOURCE (got {})", sources.len()) };
            Ok(vec![nth_line(path, *role, *n, opts)?])
        }
        Pick::Id(id) => {
            let key = crate::ids::key(id);
            let mut all = find_all(sources, opts, usize::MAX, |r| crate::matching::carries(r, key) && is_request(r))?;
            // the gateway's record is the request as the client sent it
            all.sort_by_key(|p| (p.role != Role::Gateway, time_key(p)));
            all.truncate(1);
            Ok(all)
        }
        Pick::Filter { filter, max } => {
            let all = find_all(sources, opts, *max, |r| is_request(r) && filter.matches(r))?;
            Ok(oldest_first(all, |p| p.role, time_key, *max))
        }
    }
}

fn time_key(p: &Picked) -> i64 {
    p.record.time.map_or(i64::MAX, |t| t.unix_us)
}

fn find_all(
    sources: &[(String, Option<Role>)],
    opts: &ScanOptions,
    per_block: usize,
    accept: impl Fn(&Record<'_>) -> bool + Sync,
) -> anyhow::Result<Vec<Picked>> {
    let mut out = Vec::new();
    for (path, role) in sources {
        let found = crate::matching::find(path, *role, opts, crate::matching::Keep::FirstPerBlock(per_block), &accept)?;
        for m in &found.lines {
            out.push(Picked {
                source: path.clone(),
                line: m.line,
                role: found.role,
                record: found.record(m).into_owned(),
            });
        }
    }
    Ok(out)
}

fn nth_line(path: &str, role: Option<Role>, n: u64, opts: &ScanOptions) -> anyhow::Result<Picked> {
    anyhow::ensure!(n >= 1, "--line counts from 1");
    let src = crate::input::open_source(path, role, opts)?;
    let mut reader = std::io::BufReader::new(std::io::Cursor::new(src.prefix).chain(src.input));
    let mut buf = Vec::new();
    for at in 1..=n {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).with_context(|| format!("cannot read {path}"))?;
        if read == 0 {
            bail!("{path} has only {} lines", at - 1);
        }
    }
    let line = crate::format::trim_line(buf.strip_suffix(b"\n").unwrap_or(&buf));
    let record = src.parser.parse(line).filter(is_request).with_context(|| {
        format!("line {n} of {path} is not a request gatewatch can read (no method and path in it)")
    })?;
    Ok(Picked { source: path.to_string(), line: n, role: src.role, record: record.into_owned() })
}
