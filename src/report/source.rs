//! Scan one source into a [`Tally`]: open it (see [`crate::input`]), then stream it.

use anyhow::Context;

use crate::format::Parser;
use crate::input::{OpenedSource, ScanOptions, open_source};
use crate::record::Role;
use crate::scan::{self, BlockSink};
use crate::stats::tally::Tally;

/// A source scanned to its end.
#[derive(Debug)]
pub struct ScannedSource {
    /// The path as given (`-` for standard input).
    pub path: String,
    /// The parser used.
    pub parser: Parser,
    /// Gateway or upstream.
    pub role: Role,
    /// What was counted.
    pub tally: Tally,
    /// Line numbers (1-based) of the unparsed examples in `tally.unparsed_examples`.
    pub unparsed_lines: Vec<u64>,
}

struct TallySink<'p> {
    parser: &'p Parser,
    tally: Tally,
    block_lines: Vec<(u64, u64)>,
    window: Option<crate::window::Window>,
}

/// The record a line may continue (a stack trace under it), within a block.
#[derive(Clone, Copy)]
struct Before {
    /// It is an error (level error or worse, or a 5xx): the exception under it is its cause.
    error: bool,
    /// Its exception was taken already.
    named: bool,
}

impl TallySink<'_> {
    /// Count `line` as continuing the record before it (a stack trace under it), keeping the exception it names
    /// when that record is an error.
    fn continuation(&mut self, line: &[u8], before: &mut Before) {
        self.tally.continuation += 1;
        if before.error
            && !before.named
            && let Some(e) = crate::format::continuation::exception(line)
        {
            self.tally.exceptions.add(&e);
            before.named = true;
        }
    }
}

impl BlockSink for TallySink<'_> {
    fn block(&mut self, seq: u64, data: &[u8]) {
        let mut n = 0;
        let mut before: Option<Before> = None;
        let mut timed = false;
        scan::for_each_line(data, |i, line| {
            n += 1;
            let line = crate::format::trim_line(line);
            if line.is_empty() {
                self.tally.blank += 1;
                return;
            }
            if let Some(summary) = self.parser.fast_summary(line) {
                if self.window.is_some_and(|w| !w.contains(summary.time.map(|t| t.unix_us))) {
                    return;
                }
                timed |= summary.time.is_some();
                let error = summary.status.is_some_and(|s| s >= 500);
                before = Some(Before { error, named: false });
                self.tally.add(&summary);
                match summary.status {
                    // a few error families need more than the summary has: their whole record, then
                    Some(s) if crate::diagnose::EvidenceSet::wants_record(s) => {
                        if let Some(rec) = self.parser.parse(line) {
                            self.tally.evidence.add(&rec, self.tally.role);
                        }
                    }
                    Some(400..) => self.tally.evidence.add_summary(&summary, self.tally.role),
                    _ => {}
                }
                return;
            }
            let rec = self.parser.parse(line);
            // a stack trace's lines belong to the record above them: a line of a trace's shape, or, in a service's
            // log whose lines have times, any line without one (a gateway's line that does not fit stays unparsed)
            if let Some(b) = before.as_mut() {
                let plain = rec.as_ref().is_none_or(|r| r.time.is_none() && r.status.is_none());
                let service = timed && self.tally.role == Role::Upstream;
                if plain && (service || crate::format::continuation::continues(line)) {
                    self.continuation(line, b);
                    return;
                }
            }
            match rec {
                Some(rec) if self.window.is_some_and(|w| !w.contains(rec.time.map(|t| t.unix_us))) => before = None,
                Some(rec) => {
                    timed |= rec.time.is_some();
                    let error = rec.status.is_some_and(|s| s >= 500)
                        || rec.level.is_some_and(|l| l >= crate::record::Level::Error);
                    before = Some(Before { error, named: false });
                    self.tally.add_record(&rec)
                }
                None => {
                    before = None;
                    self.tally.add_unparsed((seq, i), line)
                }
            }
        });
        self.tally.lines += n;
        self.block_lines.push((seq, n));
    }

    fn merge(&mut self, other: Self) {
        self.tally.merge(other.tally);
        self.block_lines.extend(other.block_lines);
    }
}

/// Progress of a long read on stderr (`access.log: 41% of 1.1 GB`), only when stderr is a terminal and the file
/// is large enough to wait for; redrawn at most four times a second.
struct Progress {
    path: String,
    size: Option<u64>,
    line: crate::output::ProgressLine,
}

impl Progress {
    fn new(path: &str) -> Self {
        use std::io::IsTerminal;
        let size = std::fs::metadata(path)
            .ok()
            .map(|m| m.len())
            .filter(|&n| n >= 256 << 20 && std::io::stderr().is_terminal());
        Progress { path: path.to_string(), size, line: Default::default() }
    }

    fn update(&mut self, bytes: u64) {
        if let Some(size) = self.size {
            self.line.show(&self.path, bytes, size);
        }
    }

    fn done(&mut self) {
        self.line.clear();
    }
}

/// Scan a whole source. `role` overrides the role the format implies.
pub fn scan_source(path: &str, role: Option<Role>, opts: &ScanOptions) -> anyhow::Result<ScannedSource> {
    let opened = open_source(path, role, opts)?;
    let start = opened.start;
    let OpenedSource { input, prefix, parser, role, .. } = opened;
    let mut progress = Progress::new(path);
    let thresholds = opts.alert_rules.thresholds();
    let sink = scan::scan_with_progress(
        input,
        prefix,
        opts.threads(),
        || TallySink {
            parser: &parser,
            tally: Tally::new(role, &thresholds),
            block_lines: Vec::new(),
            window: opts.window,
        },
        |bytes| progress.update(bytes),
    )
    .with_context(|| format!("cannot read {path}"))?;
    progress.done();
    let TallySink { mut tally, block_lines, .. } = sink;
    tally.finish();
    let numbers = scan::LineNumbers::from_counts(block_lines);
    // lines are numbered in the whole file: those before a window's start are counted, only when any is named
    let before = if start > 0 && !tally.unparsed_examples.is_empty() {
        crate::window::lines_before(path, start).unwrap_or(0)
    } else {
        0
    };
    let unparsed_lines = tally.unparsed_examples.iter().map(|u| before + numbers.number(u.at.0, u.at.1)).collect();
    Ok(ScannedSource { path: path.to_string(), parser, role, tally, unparsed_lines })
}
