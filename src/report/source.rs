//! Scan one source into a [`Tally`]: open it, detect its format from the first lines, then stream it.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

use anyhow::Context;

use crate::format::detect::{self, SAMPLE_LINES};
use crate::format::{Format, ParseOptions, Parser, pretty_json};
use crate::record::Role;
use crate::scan::{self, BlockSink};
use crate::stats::tally::Tally;

/// How sources are read.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Force this format instead of detecting (`--format`).
    pub format: Option<Format>,
    /// Formats tried before the built-in ones during detection (a compiled `--nginx-format`, `--haproxy-format`).
    pub extra_formats: Vec<Format>,
    /// Id fields and regex.
    pub parse: Arc<ParseOptions>,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// The alert rules: their latency limits are counted exactly while scanning.
    pub alert_rules: crate::alerts::Rules,
    /// `--since` / `--until`: only records in this stretch of log time are read.
    pub window: Option<crate::window::Window>,
}

impl ScanOptions {
    /// Worker threads to use: the configured number, or all cores.
    pub fn threads(&self) -> usize {
        if self.threads == 0 { crate::priority::threads(scan::default_threads()) } else { self.threads }
    }
}

/// A source opened for reading, its first bytes read and its parser chosen.
pub struct OpenedSource {
    /// The rest of the input.
    pub input: Box<dyn Read + Send>,
    /// The bytes read for detection (scan them first).
    pub prefix: Vec<u8>,
    /// The parser for its lines.
    pub parser: Parser,
    /// Its role: the override, else the format's.
    pub role: Role,
    /// The byte the input starts at (a `--since` window's start; 0 otherwise).
    pub start: u64,
}

/// Open `path` (`-` = standard input) and choose its parser from its first lines.
pub fn open_source(path: &str, role: Option<Role>, opts: &ScanOptions) -> anyhow::Result<OpenedSource> {
    let mut input = open(path)?;
    let (prefix, whole) = read_prefix(&mut input).with_context(|| format!("cannot read {path}"))?;
    // detect on whole lines only, unless not even one fitted
    let sample = if whole > 0 { &prefix[..whole] } else { &prefix[..] };
    let parser = choose_parser(sample, opts);
    let role = role.unwrap_or_else(|| parser.format.role());
    if parser.pretty_json {
        // the scan cuts blocks at line ends: give it the records joined into lines
        let joined = pretty_json::JoinRead::new(io::Cursor::new(prefix).chain(input));
        return Ok(OpenedSource { input: Box::new(joined), prefix: Vec::new(), parser, role, start: 0 });
    }
    // a window: read only the part of the file that holds it, found by binary search on the lines' times
    if let Some(w) =
        opts.window.filter(|_| path != "-" && !crate::compressed::is_compressed(std::path::Path::new(path)))
        && let Some((start, end)) =
            crate::window::byte_range(path, &parser, &w).with_context(|| format!("cannot read {path}"))?
    {
        let mut file = File::open(path).with_context(|| format!("cannot read {path}"))?;
        io::Seek::seek(&mut file, io::SeekFrom::Start(start))?;
        let input = Box::new(crate::priority::Sequential::new(file).take(end - start));
        return Ok(OpenedSource { input, prefix: Vec::new(), parser, role, start });
    }
    Ok(OpenedSource { input, prefix, parser, role, start: 0 })
}

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

/// Bytes to read up front for detection: enough for the sample, bounded for files of huge lines.
const DETECT_BYTES: usize = 256 << 10;
/// Past [`DETECT_BYTES`], reading goes on until this many whole lines are in, up to [`DETECT_MAX`] bytes, so
/// that a log of very long lines (megabyte JSON records) is still detected from whole lines.
const DETECT_MIN_LINES: usize = 4;
const DETECT_MAX: usize = 16 << 20;

/// Read the first bytes of a source, enough for format detection; returns them and the length of the whole lines
/// among them (all of them at the end of the input).
fn read_prefix(input: &mut dyn Read) -> io::Result<(Vec<u8>, usize)> {
    let mut prefix = Vec::with_capacity(64 << 10);
    let mut chunk = vec![0u8; 64 << 10];
    let (mut lines, mut whole) = (0, 0);
    loop {
        let enough = lines >= SAMPLE_LINES || (prefix.len() >= DETECT_BYTES && lines >= DETECT_MIN_LINES);
        if enough || prefix.len() >= DETECT_MAX {
            return Ok((prefix, whole));
        }
        match input.read(&mut chunk) {
            Ok(0) => {
                let len = prefix.len();
                return Ok((prefix, len));
            }
            Ok(n) => {
                let start = prefix.len();
                prefix.extend_from_slice(&chunk[..n]);
                for nl in memchr::memchr_iter(b'\n', &prefix[start..]) {
                    lines += 1;
                    whole = start + nl + 1;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Open `path` (`-` = standard input) for reading, decompressed when its first bytes say it is compressed
/// (gzip, zstd).
pub fn open(path: &str) -> anyhow::Result<Box<dyn Read + Send>> {
    let input: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        let f = File::open(path).with_context(|| format!("cannot read {path}"))?;
        if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            anyhow::bail!("cannot read {path}: it is a directory");
        }
        Box::new(crate::priority::Sequential::new(f))
    };
    let (input, _) = crate::compressed::open(input).with_context(|| format!("cannot read {path}"))?;
    Ok(input)
}

/// Choose the parser for a source from its first bytes (or the forced format).
pub fn choose_parser(prefix: &[u8], opts: &ScanOptions) -> Parser {
    if pretty_json::looks_pretty(prefix) {
        // records over many lines: detect on them joined, as the readers will give them
        let joined = pretty_json::join_all(prefix);
        return Parser { pretty_json: true, ..choose_parser(&joined, opts) };
    }
    if let Some(f) = &opts.format {
        return detect::forced(f.clone(), &detect::sample_lines(prefix), opts.parse.clone());
    }
    // a line of another shape (a mixed file, a start-up line among access lines) is tried on the other formats
    detect::detect(&detect::sample_lines(prefix), &opts.extra_formats, opts.parse.clone())
        .parser
        .with_fallback(&opts.extra_formats)
}

/// The time of the first timed line among the first bytes of `path` (decompressed if need be).
pub fn first_time(path: &std::path::Path, opts: &ScanOptions) -> Option<i64> {
    let mut head = Vec::new();
    open(path.to_str()?).ok()?.take(DETECT_BYTES as u64).read_to_end(&mut head).ok()?;
    let whole = memchr::memrchr(b'\n', &head).map_or(head.len(), |n| n + 1);
    let parser = choose_parser(&head[..whole], opts);
    head[..whole]
        .split(|&b| b == b'\n')
        .find_map(|l| parser.parse(crate::format::trim_line(l))?.time)
        .map(|t| t.unix_us)
}

/// Each `(path, role)` with the files logrotate made of it, oldest first, in its place; with a `--since` window,
/// only the files that may hold some of it.
pub fn with_rotated(sources: &[(String, Option<Role>)], opts: &ScanOptions) -> Vec<(String, Option<Role>)> {
    let mut out = Vec::new();
    for (path, role) in sources {
        if path == "-" {
            out.push((path.clone(), *role));
            continue;
        }
        let mut files = crate::rotation::set(std::path::Path::new(path));
        if let Some(since) = opts.window.and_then(|w| w.since_us) {
            files = crate::rotation::needed_since(&files, since, |f| first_time(f, opts));
        }
        out.extend(files.into_iter().map(|f| (f.display().to_string(), *role)));
    }
    out
}

/// For followed files and `--since`: where the window starts in a file, found by binary search with the parser
/// its first lines choose (the last lines as usual when it cannot be searched).
pub fn window_start(opts: &ScanOptions) -> Option<crate::source::file::StartFinder> {
    let since = opts.window.and_then(|w| w.since_us)?;
    let opts = opts.clone();
    Some(crate::source::file::StartFinder(Arc::new(move |path: &std::path::Path| {
        let mut file = File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        let mut head = Vec::new();
        (&mut file).take(DETECT_BYTES as u64).read_to_end(&mut head).ok()?;
        let whole = memchr::memrchr(b'\n', &head).map_or(head.len(), |n| n + 1);
        let parser = choose_parser(&head[..whole], &opts);
        if parser.pretty_json {
            return None;
        }
        crate::window::first_at(&mut file, len, &parser, since).ok()
    })))
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
