//! Reading a source: options from flags and config, opening a file (decompressed, from a `--since` window's
//! start) and choosing its parser from its first lines. Shared by the report, the subcommands and the console.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

use anyhow::Context;

use crate::format::detect::{self, SAMPLE_LINES};
use crate::format::{Format, ParseOptions, Parser, pretty_json};
use crate::record::Role;
use crate::scan;

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
    /// Worker threads to use (see [`worker_threads`]).
    pub fn threads(&self) -> usize {
        worker_threads(self.threads)
    }
}

/// Worker threads for bulk work on this thread: `configured` (`--threads`), or all cores (fewer on a busy host,
/// when the work spares it: see [`crate::priority::threads`]) when it is 0.
pub fn worker_threads(configured: usize) -> usize {
    if configured == 0 { crate::priority::threads(scan::default_threads()) } else { configured }
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
    let mut input = open_on(path, opts.threads())?;
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
        opts.window.filter(|_| path != "-" && !crate::source::compressed::is_compressed(std::path::Path::new(path)))
        && let Some((start, end)) =
            crate::window::byte_range(path, &parser, &w).with_context(|| format!("cannot read {path}"))?
    {
        let mut file = File::open(path).with_context(|| format!("cannot read {path}"))?;
        io::Seek::seek(&mut file, io::SeekFrom::Start(start))?;
        let input = Box::new(crate::bulk_read::Sequential::new(file).take(end - start));
        return Ok(OpenedSource { input, prefix: Vec::new(), parser, role, start });
    }
    Ok(OpenedSource { input, prefix, parser, role, start: 0 })
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
/// (gzip, zstd, bzip2, xz).
pub fn open(path: &str) -> anyhow::Result<Box<dyn Read + Send>> {
    open_on(path, 1)
}

/// [`open`], decompressing on up to `threads` threads where the file's frames or members allow.
pub fn open_on(path: &str, threads: usize) -> anyhow::Result<Box<dyn Read + Send>> {
    let input: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        let f = File::open(path).with_context(|| format!("cannot read {path}"))?;
        if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            anyhow::bail!("cannot read {path}: it is a directory");
        }
        Box::new(crate::bulk_read::Sequential::new(f))
    };
    let (input, _) =
        crate::source::compressed::open_on(input, threads).with_context(|| format!("cannot read {path}"))?;
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

/// The first whole lines `input` gives, up to 256 KiB: what a format is told from.
pub fn head(input: impl Read) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    input.take(DETECT_BYTES as u64).read_to_end(&mut head).ok()?;
    head.truncate(memchr::memrchr(b'\n', &head).map_or(head.len(), |n| n + 1));
    Some(head)
}

/// [`head`] of the file at `path`, decompressed if need be.
pub fn file_head(path: &std::path::Path) -> Option<Vec<u8>> {
    head(open(&path.to_string_lossy()).ok()?)
}

/// The time of the first timed line among the first bytes of `path` (decompressed if need be).
pub fn first_time(path: &std::path::Path, opts: &ScanOptions) -> Option<i64> {
    let head = file_head(path)?;
    let parser = choose_parser(&head, opts);
    head.split(|&b| b == b'\n').find_map(|l| parser.parse(crate::format::trim_line(l))?.time).map(|t| t.unix_us)
}

/// Whether the files logrotate made of a source are read before it: with `--with-rotated` (`all`), or when a
/// `--since` window may begin in one of them.
pub fn reads_rotated(all: bool, opts: &ScanOptions) -> bool {
    all || opts.window.is_some_and(|w| w.since_us.is_some())
}

/// `path` and the files logrotate made of it, oldest first, `path` last; with a `--since` window, only the files
/// that may hold some of it.
pub fn rotated_set(path: &std::path::Path, opts: &ScanOptions) -> Vec<std::path::PathBuf> {
    let files = crate::rotation::set(path);
    match opts.window.and_then(|w| w.since_us) {
        Some(since) => crate::rotation::needed_since(&files, since, |f| first_time(f, opts)),
        None => files,
    }
}

/// Each `(path, role)` with the files logrotate made of it, oldest first, in its place, when they are read (see
/// [`reads_rotated`]; a `--since` window may begin in one of them: the files it needs come along by themselves);
/// with a `--since` window, only the files that may hold some of it.
pub fn with_rotated(sources: &[(String, Option<Role>)], all: bool, opts: &ScanOptions) -> Vec<(String, Option<Role>)> {
    if !reads_rotated(all, opts) {
        return sources.to_vec();
    }
    let mut out = Vec::new();
    for (path, role) in sources {
        if path == "-" {
            out.push((path.clone(), *role));
            continue;
        }
        let files = rotated_set(std::path::Path::new(path), opts);
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
        window_offset(&mut File::open(path).ok()?, since, &opts)
    })))
}

/// Where a window ending at `until_us` ends in a plain `file`: the start of the first line at or after it (lines
/// logged out of order around it fall on the side of the file they were written on).
pub fn window_end(file: &mut File, until_us: i64, opts: &ScanOptions) -> Option<u64> {
    // `first_at` aims early by the disorder it tolerates: here the aim is the time itself
    window_offset(file, until_us.saturating_add(crate::window::DISORDER_US), opts)
}

/// Where a window starting at `since_us` begins in a plain `file` (a line start), found by binary search with the
/// parser its first lines choose; `None` when it cannot be searched (pretty-printed records, a read error).
pub fn window_offset(file: &mut File, since_us: i64, opts: &ScanOptions) -> Option<u64> {
    let len = file.metadata().ok()?.len();
    let parser = choose_parser(&head(&mut *file)?, opts);
    if parser.pretty_json {
        return None;
    }
    crate::window::first_at(file, len, &parser, since_us).ok()
}
