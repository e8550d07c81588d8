//! The records of whole sources that a test accepts, with their line numbers: what `trace` follows and what
//! `replay` resends. Blocks are scanned on all cores; only the matching lines are kept.

use anyhow::Context;

use crate::format::Parser;
use crate::record::{Record, Role};
use crate::report::ScanOptions;
use crate::report::source::{OpenedSource, open_source};
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
    /// The matches, in line order.
    pub lines: Vec<Matched>,
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
    per_block: usize,
    hits: Vec<(u64, u64, Vec<u8>)>,
    block_lines: Vec<(u64, u64)>,
}

impl<F: Fn(&Record<'_>) -> bool + Sync> BlockSink for Hits<'_, F> {
    fn block(&mut self, seq: u64, data: &[u8]) {
        let mut n = 0;
        let mut kept = 0;
        scan::for_each_line(data, |i, line| {
            n += 1;
            if kept < self.per_block
                && let Some(rec) = self.parser.parse(crate::format::trim_line(line))
                && (self.accept)(&rec)
            {
                kept += 1;
                self.hits.push((seq, i, crate::format::trim_line(line).to_vec()));
            }
        });
        self.block_lines.push((seq, n));
    }

    fn merge(&mut self, other: Self) {
        self.hits.extend(other.hits);
        self.block_lines.extend(other.block_lines);
    }
}

/// Every line of `path` whose record `accept` takes, at most `per_block` from each block read (the first ones, so
/// a cap keeps the oldest of each stretch of the file).
pub fn find(
    path: &str,
    role: Option<Role>,
    opts: &ScanOptions,
    per_block: usize,
    accept: impl Fn(&Record<'_>) -> bool + Sync,
) -> anyhow::Result<SourceMatches> {
    let OpenedSource { input, prefix, parser, role } = open_source(path, role, opts)?;
    let m = scan::scan(input, prefix, opts.threads(), || Hits {
        parser: &parser,
        accept: &accept,
        per_block,
        hits: Vec::new(),
        block_lines: Vec::new(),
    })
    .with_context(|| format!("cannot read {path}"))?;
    let numbers = scan::LineNumbers::from_counts(m.block_lines);
    let mut hits = m.hits;
    hits.sort_unstable_by_key(|(seq, i, _)| (*seq, *i));
    let lines = hits.into_iter().map(|(seq, i, raw)| Matched { line: numbers.number(seq, i), raw }).collect();
    Ok(SourceMatches { path: path.to_string(), role, parser, lines })
}

/// Whether a record carries the id whose key is `key`, as its request id or trace id.
pub fn carries(rec: &Record<'_>, key: u64) -> bool {
    [&rec.request_id, &rec.trace_id].iter().any(|id| id.as_deref().is_some_and(|id| crate::ids::key(id) == key))
}
