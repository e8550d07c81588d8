//! The records of whole sources that a test accepts, with their line numbers: what `trace` follows and what
//! `replay` resends. Blocks are scanned on all cores; only the matching lines are kept.

use anyhow::Context;

use crate::format::Parser;
use crate::input::ScanOptions;
use crate::input::{OpenedSource, open_source};
use crate::record::{Record, Role};
use crate::scan::{self, BlockSink};

/// One matching line of a source.
#[derive(Clone, Debug)]
pub struct Matched {
    /// 1-based line number.
    pub line: u64,
    /// The line as read (its line end trimmed).
    pub raw: Vec<u8>,
}

/// A source's matching lines, with what parsed them.
pub struct SourceMatches {
    /// The path as given.
    pub path: String,
    /// Gateway or upstream.
    pub role: Role,
    /// The parser chosen for it.
    pub parser: Parser,
    /// The matches, in line order (all of them, or the ends kept by [`Keep::Ends`]).
    pub lines: Vec<Matched>,
    /// How many lines matched in all.
    pub total: u64,
}

/// Which matches are kept: memory stays bounded however many lines match (an id a stuck client repeated a
/// million times).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The first `n` of each block read (a cap that keeps the oldest of each stretch of the file).
    FirstPerBlock(usize),
    /// The first `n` and the last `n` of the whole source.
    Ends(usize),
}

impl SourceMatches {
    /// Parse a matched line again (they parsed once, so they do again).
    pub fn record<'a>(&self, m: &'a Matched) -> Record<'a> {
        self.parser.parse(&m.raw).unwrap_or_default()
    }
}

struct Hits<'p, F> {
    parser: &'p Parser,
    accept: &'p F,
    keep: Keep,
    hits: Vec<(u64, u64, Vec<u8>)>,
    total: u64,
    block_lines: Vec<(u64, u64)>,
}

impl<F> Hits<'_, F> {
    /// With [`Keep::Ends`], drop what lies between the first and the last `n` (once enough piled up).
    fn trim(&mut self, force: bool) {
        let Keep::Ends(n) = self.keep else { return };
        if self.hits.len() <= 2 * n || (!force && self.hits.len() <= 4 * n.max(256)) {
            return;
        }
        self.hits.sort_unstable_by_key(|(seq, i, _)| (*seq, *i));
        let tail = self.hits.split_off(self.hits.len() - n);
        self.hits.truncate(n);
        self.hits.extend(tail);
    }
}

impl<F: Fn(&Record<'_>) -> bool + Sync> BlockSink for Hits<'_, F> {
    fn block(&mut self, seq: u64, data: &[u8]) {
        let per_block = match self.keep {
            Keep::FirstPerBlock(n) => n,
            Keep::Ends(_) => usize::MAX,
        };
        let mut n = 0;
        let mut kept = 0;
        scan::for_each_line(data, |i, line| {
            n += 1;
            if let Some(rec) = self.parser.parse(crate::format::trim_line(line))
                && (self.accept)(&rec)
            {
                self.total += 1;
                if kept < per_block {
                    kept += 1;
                    self.hits.push((seq, i, crate::format::trim_line(line).to_vec()));
                }
            }
        });
        self.block_lines.push((seq, n));
        self.trim(false);
    }

    fn merge(&mut self, other: Self) {
        self.hits.extend(other.hits);
        self.total += other.total;
        self.block_lines.extend(other.block_lines);
        self.trim(true);
    }
}

/// The lines of `path` whose record `accept` takes, as many as `keep` keeps, and how many there were.
pub fn find(
    path: &str,
    role: Option<Role>,
    opts: &ScanOptions,
    keep: Keep,
    accept: impl Fn(&Record<'_>) -> bool + Sync,
) -> anyhow::Result<SourceMatches> {
    let opened = open_source(path, role, opts)?;
    let start = opened.start;
    let OpenedSource { input, prefix, parser, role, .. } = opened;
    let window = opts.window;
    let accept = |r: &Record<'_>| window.is_none_or(|w| w.contains(r.time.map(|t| t.unix_us))) && accept(r);
    let m = scan::scan(input, prefix, opts.threads(), || Hits {
        parser: &parser,
        accept: &accept,
        keep,
        hits: Vec::new(),
        total: 0,
        block_lines: Vec::new(),
    })
    .with_context(|| format!("cannot read {path}"))?;
    let numbers = scan::LineNumbers::from_counts(m.block_lines);
    let total = m.total;
    let mut hits = m.hits;
    hits.sort_unstable_by_key(|(seq, i, _)| (*seq, *i));
    // lines are numbered in the whole file: those before a window's start are counted, only when any matched
    let before = if start > 0 && !hits.is_empty() { crate::window::lines_before(path, start).unwrap_or(0) } else { 0 };
    let lines = hits.into_iter().map(|(seq, i, raw)| Matched { line: before + numbers.number(seq, i), raw }).collect();
    Ok(SourceMatches { path: path.to_string(), role, parser, lines, total })
}

/// Whether a record carries the id whose key is `key`, as its request id or trace id.
pub fn carries(rec: &Record<'_>, key: u64) -> bool {
    [&rec.request_id, &rec.trace_id].iter().any(|id| id.as_deref().is_some_and(|id| crate::ids::key(id) == key))
}
