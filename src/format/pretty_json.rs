//! Pretty-printed JSON records — one object over many lines, as `jq .`, a plugin's pretty option or a copy from
//! a dashboard writes them — joined back into one line each, so every reader (report, tail, the console) sees one
//! record per line and parses it with the source's format.
//!
//! Only sources whose first lines look pretty-printed go through the joiner: a JSON-lines file never pays for it.

use std::io::{self, BufRead, Read};

/// A record held longer than this is given up on (emitted as it is, one line): a missing `}` cannot swallow a file.
const MAX_RECORD: usize = 4 << 20;

/// Joins the lines of pretty-printed JSON objects; other lines pass through unchanged. Keeps an unfinished object
/// between calls, so data may be fed in batches cut at any line end.
#[derive(Debug, Default)]
pub struct Joiner {
    /// The object being joined, its lines' leading spaces dropped.
    pending: Vec<u8>,
    /// Its open braces and brackets.
    depth: i64,
    /// The number of the next line fed (as the caller numbers them; 0-based by default).
    next_line: u64,
    /// The line the held object began on.
    pending_line: u64,
    /// The line each emitted line began on, since the last [`Joiner::take_starts`].
    starts: Vec<u64>,
}

impl Joiner {
    /// Feed whole lines (a last line without `\n` counts as whole); append the joined lines to `out`, each ending
    /// in `\n`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.starts.clear();
        if data.is_empty() {
            return;
        }
        let data = data.strip_suffix(b"\n").unwrap_or(data);
        for line in data.split(|&b| b == b'\n') {
            self.line(line, out);
            self.next_line += 1;
        }
    }

    /// [`Joiner::feed`] for lines numbered from `first_line`; [`Joiner::take_starts`] then says where each
    /// emitted line began.
    pub fn feed_numbered(&mut self, first_line: u64, data: &[u8], out: &mut Vec<u8>) {
        self.next_line = first_line;
        self.feed(data, out);
    }

    /// The number of the line each line emitted by the last feed (and a finish after it) began on.
    pub fn take_starts(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.starts)
    }

    /// Emit what is held (an object whose end never came) as it is: at the end of the input.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            out.append(&mut self.pending);
            out.push(b'\n');
            self.starts.push(self.pending_line);
        }
        self.depth = 0;
    }

    /// Whether an unfinished object is held.
    pub fn holds(&self) -> bool {
        !self.pending.is_empty()
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !self.pending.is_empty() {
            // a pretty printer indents everything inside a record: a line at the margin other than the closing
            // brace means the record was cut short (a crash, a truncated copy); give it up and read this line anew
            let at_margin = line.first().is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b'}' | b']'));
            if at_margin || self.pending.len() > MAX_RECORD {
                self.finish(out);
            } else {
                self.pending.extend_from_slice(line.trim_ascii_start());
                self.depth += balance(line);
                if self.depth <= 0 {
                    self.finish(out);
                }
                return;
            }
        }
        let depth = balance(line);
        if line.trim_ascii_start().starts_with(b"{") && depth > 0 {
            self.pending.extend_from_slice(line.trim_ascii_start());
            self.depth = depth;
            self.pending_line = self.next_line;
        } else {
            out.extend_from_slice(line);
            out.push(b'\n');
            self.starts.push(self.next_line);
        }
    }
}

/// Open minus closed braces and brackets on a line, outside strings.
fn balance(line: &[u8]) -> i64 {
    let (mut depth, mut in_str, mut escaped) = (0, false, false);
    for &b in line {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
    }
    depth
}

/// Whether a source's first bytes hold a pretty-printed JSON object: a line that is only `{` followed by an
/// indented `"key":` line. (A tail may begin inside an object; the first whole one decides.)
pub fn looks_pretty(sample: &[u8]) -> bool {
    let mut lines = sample.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    while let Some(line) = lines.next() {
        if line.trim_ascii_end() == b"{" {
            let next = lines.next().unwrap_or_default();
            let indented = next.first().is_some_and(u8::is_ascii_whitespace);
            return indented && next.trim_ascii_start().starts_with(b"\"");
        }
    }
    false
}

/// `data` with its pretty-printed objects joined, whole (what is unfinished at its end emitted as it is).
pub fn join_all(data: &[u8]) -> Vec<u8> {
    let mut j = Joiner::default();
    let mut out = Vec::with_capacity(data.len());
    j.feed(data, &mut out);
    j.finish(&mut out);
    out
}

/// A reader that joins the pretty-printed objects of the one it wraps, for whole-file scans.
pub struct JoinRead<R> {
    inner: io::BufReader<R>,
    joiner: Joiner,
    line: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> JoinRead<R> {
    /// Join the records read from `inner`.
    pub fn new(inner: R) -> Self {
        JoinRead {
            inner: io::BufReader::with_capacity(256 << 10, inner),
            joiner: Joiner::default(),
            line: Vec::new(),
            out: Vec::new(),
            pos: 0,
            done: false,
        }
    }

    /// Join lines until some output is ready or the input ends.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        while self.out.len() < 64 << 10 && !self.done {
            self.line.clear();
            // a line past the record limit is cut here and its rest read as the next line; the joiner gives the
            // record up at that size anyway
            let n = (&mut self.inner).take(MAX_RECORD as u64).read_until(b'\n', &mut self.line)?;
            if n == 0 {
                self.done = true;
                self.joiner.finish(&mut self.out);
            } else {
                self.joiner.feed(&self.line, &mut self.out);
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for JoinRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.out.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRETTY: &str = "{\n  \"request\": {\n    \"method\": \"GET\",\n    \"uri\": \"/a{b\\\"}\"\n  },\n  \"response\": {\n    \"status\": 502\n  }\n}\n";

    #[test]
    fn joins_an_object_into_one_line() {
        let out = join_all(PRETTY.as_bytes());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"request\": {\"method\": \"GET\",\"uri\": \"/a{b\\\"}\"},\"response\": {\"status\": 502}}\n"
        );
    }

    #[test]
    fn joins_across_batches_cut_at_any_line() {
        let whole = format!("{PRETTY}{{\"a\":1}}\nplain line\n{PRETTY}");
        let expected = join_all(whole.as_bytes());
        assert_eq!(expected.iter().filter(|&&b| b == b'\n').count(), 4);
        let lines: Vec<&str> = whole.split_inclusive('\n').collect();
        for cut in 0..lines.len() {
            let mut j = Joiner::default();
            let mut out = Vec::new();
            j.feed(lines[..cut].concat().as_bytes(), &mut out);
            j.feed(lines[cut..].concat().as_bytes(), &mut out);
            j.finish(&mut out);
            assert_eq!(out, expected, "cut before line {cut}");
        }
    }

    #[test]
    fn a_record_cut_short_does_not_swallow_the_next() {
        let out = join_all(b"{\n  \"a\": {\n    \"b\": 1\n{\n  \"c\": 2\n}\n");
        assert_eq!(String::from_utf8(out).unwrap(), "{\"a\": {\"b\": 1\n{\"c\": 2}\n");
    }

    #[test]
    fn says_which_line_each_record_began_on() {
        let mut j = Joiner::default();
        let mut out = Vec::new();
        j.feed_numbered(10, format!("{PRETTY}x\n{{").as_bytes(), &mut out);
        assert_eq!(j.take_starts(), [10, 19]);
        j.feed_numbered(21, b"  \"a\": 1\n}\n", &mut out);
        assert_eq!(j.take_starts(), [20]);
    }

    #[test]
    fn the_reader_gives_what_the_joiner_gives() {
        let whole = PRETTY.repeat(5000);
        let mut read = Vec::new();
        JoinRead::new(whole.as_bytes()).read_to_end(&mut read).unwrap();
        assert_eq!(read, join_all(whole.as_bytes()));
        assert_eq!(read.iter().filter(|&&b| b == b'\n').count(), 5000);
    }

    #[test]
    fn detection() {
        assert!(looks_pretty(PRETTY.as_bytes()));
        // a tail that starts inside an object
        assert!(looks_pretty(format!("    \"status\": 200\n  }}\n}}\n{PRETTY}").as_bytes()));
        assert!(!looks_pretty(b"{\"a\":1}\n{\"a\":2}\n"));
        assert!(!looks_pretty(b"server {\n    listen 80;\n}\n"));
    }

    proptest::proptest! {
        /// Any lines, fed in any line-aligned batches, join as they do whole; nothing but line ends and indents
        /// inside joined records is dropped, and a line outside any record comes out as it went in.
        #[test]
        fn batches_join_as_the_whole(lines in proptest::collection::vec("[ {}\\[\\]\"a:,\\\\]{0,12}", 0..40), cuts in proptest::collection::vec(0usize..40, 0..4)) {
            let whole: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\n").into_bytes()).collect();
            let expected = join_all(&whole);
            let kept = |v: &[u8]| v.iter().filter(|b| !b.is_ascii_whitespace()).count();
            proptest::prop_assert_eq!(kept(&expected), kept(&whole));
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(lines.len())).collect();
            cuts.sort();
            let (mut j, mut out, mut from) = (Joiner::default(), Vec::new(), 0);
            for c in cuts.into_iter().chain([lines.len()]) {
                let part: String = lines[from..c].iter().map(|l| format!("{l}\n")).collect();
                j.feed(part.as_bytes(), &mut out);
                from = c;
            }
            j.finish(&mut out);
            proptest::prop_assert_eq!(out, expected);
        }
    }
}
