//! Format detection: try every format (and envelope) on a source's first lines and keep the best fit.

use std::sync::Arc;

use super::envelope::Envelope;
use super::{Format, ParseOptions, Parser};

/// How many leading lines detection looks at.
pub const SAMPLE_LINES: usize = 64;

/// The first non-empty lines of a block of bytes, at most [`SAMPLE_LINES`].
pub fn sample_lines(block: &[u8]) -> Vec<&[u8]> {
    block
        .split(|&b| b == b'\n')
        .map(super::trim_line)
        .filter(|l| !l.trim_ascii().is_empty())
        .take(SAMPLE_LINES)
        .collect()
}

/// Score a parser on the sample: lines that parse, weighted by how much each one yields.
fn score(parser: &Parser, lines: &[&[u8]]) -> (usize, usize) {
    let mut matched = 0;
    let mut richness = 0;
    for l in lines {
        if let Some(r) = parser.parse(l) {
            matched += 1;
            richness += r.field_count();
        }
    }
    (matched, matched * 8 + richness)
}

/// The envelopes that wrap at least half of the sample.
fn wrapping(lines: &[&[u8]]) -> Vec<Envelope> {
    let wraps = |env: &Envelope| lines.iter().filter(|l| env.unwrap(l).is_some()).count() * 2 >= lines.len().max(1);
    Envelope::ALL.into_iter().filter(wraps).collect()
}

/// The parser for a format the user named (`--format NAME`): that format, or that format inside the envelope
/// that wraps the sample when the unwrapped lines fit it better. A docker `{"log": "…"}` line is a JSON line
/// too, so the lines that parse are not enough: the fields they yield decide, as in [`detect`].
pub fn forced(format: Format, lines: &[&[u8]], opts: Arc<ParseOptions>) -> Parser {
    let bare = Parser::new(format, opts);
    let mut best = (score(&bare, lines).1, None);
    for env in wrapping(lines) {
        let s = score(&Parser { envelope: Some(env), ..bare.clone() }, lines).1;
        if s > best.0 {
            best = (s, Some(env));
        }
    }
    Parser { envelope: best.1, ..bare }
}

/// The result of detection.
pub struct Detected {
    /// The chosen parser.
    pub parser: Parser,
    /// Sample lines it parsed, out of `sampled`.
    pub matched: usize,
    /// Lines in the sample.
    pub sampled: usize,
}

/// Pick the parser that fits `lines` best. `extra` formats (a compiled `--nginx-format` or `--haproxy-format`) are
/// tried first.
/// With nothing matching, falls back to plain text (ids found anywhere in the line).
pub fn detect(lines: &[&[u8]], extra: &[Format], opts: Arc<ParseOptions>) -> Detected {
    let mut candidates: Vec<Parser> = Vec::new();
    let formats: Vec<Format> = extra.iter().cloned().chain(Format::builtin()).collect();
    for f in &formats {
        candidates.push(Parser::new(f.clone(), opts.clone()));
    }
    for env in wrapping(lines) {
        for f in &formats {
            candidates.push(Parser { envelope: Some(env), ..Parser::new(f.clone(), opts.clone()) });
        }
    }
    let mut best: Option<(Parser, usize, usize)> = None;
    for c in candidates {
        let (matched, s) = score(&c, lines);
        if matched == 0 {
            continue;
        }
        if best.as_ref().is_none_or(|(_, _, bs)| s > *bs) {
            best = Some((c, matched, s));
        }
    }
    let (parser, matched) = match best {
        Some((parser, matched, _)) => (parser, matched),
        None => (Parser::new(Format::Plain, opts), 0),
    };
    Detected { parser, matched, sampled: lines.len() }
}
