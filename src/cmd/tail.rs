//! `gatewatch tail`: follow sources live and print each record as it arrives.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::cli::TailArgs;
use crate::exit::{EXIT_OK, usage, usage_msg};
use crate::filter::Filter;
use crate::format::Parser;
use crate::input::{ScanOptions, choose_parser};
use crate::open::{SourceKind, follow_options, named_sources, spawn_sources};
use crate::output::paint;
use crate::source::command::CommandOptions;
use crate::source::file::FollowOptions;
use crate::source::{Batch, SourceId, SourceMsg};

/// Batches in flight from all sources together: when the printer falls behind, sources read less.
const CHANNEL: usize = 64;

/// One line of `tail --json`.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    source: &'a str,
    line: u64,
    format: &'a str,
    parsed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<std::borrow::Cow<'a, str>>,
    /// A line that continues the record before it (a stack trace's): that record's line number.
    #[serde(skip_serializing_if = "Option::is_none")]
    continuation_of: Option<u64>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    record: Option<crate::output::RecordJson<'a>>,
}

/// What the printer knows about one source (and, for globs and SSH, one label within it).
struct Stream {
    parser: Parser,
    /// For pretty-printed JSON records: the unfinished one.
    joiner: crate::format::pretty_json::Joiner,
    /// The last record's line number, and whether it was printed: the lines that continue it (a stack trace)
    /// go with it.
    last: Option<(u64, bool)>,
    /// Which lines continue a record.
    tracker: crate::format::continuation::Tracker,
}

/// The printer: detects each stream's format on its first lines, filters, and prints.
struct Printer {
    names: Vec<String>,
    streams: HashMap<(SourceId, Option<Arc<str>>), Stream>,
    opts: ScanOptions,
    filter: Filter,
    json: bool,
    color: bool,
    show_source: bool,
    out: std::io::BufWriter<std::io::Stdout>,
    catch_up: CatchUp,
}

/// Progress of a whole-file read (`--from-start`) on stderr, while output goes elsewhere (a file, `jq`): each
/// large file's share read so far, until the follower has caught up with it.
struct CatchUp {
    /// Per source: (file size at start, bytes received).
    files: HashMap<SourceId, (u64, u64)>,
    line: crate::output::ProgressLine,
}

impl CatchUp {
    /// Files of `min_size` or more, when stderr is a terminal and stdout is not.
    fn new(sources: &[(String, SourceKind)], from_start: bool, min_size: u64) -> Self {
        use std::io::IsTerminal;
        let wanted = from_start && std::io::stderr().is_terminal() && !std::io::stdout().is_terminal();
        let files = sources
            .iter()
            .enumerate()
            .filter_map(|(id, (_, k))| match k {
                SourceKind::File(p) if wanted => std::fs::metadata(p).ok().map(|m| (id, (m.len(), 0))),
                _ => None,
            })
            .filter(|(_, (size, _))| *size >= min_size)
            .collect();
        CatchUp { files, line: Default::default() }
    }

    fn received(&mut self, name: &str, id: SourceId, bytes: usize) {
        let Some((size, done)) = self.files.get_mut(&id) else { return };
        *done += bytes as u64;
        let (size, done) = (*size, *done);
        if done >= size {
            self.files.remove(&id);
            self.line.clear();
        } else {
            self.line.show(name, done, size);
        }
    }
}

impl Printer {
    fn name(&self, b: &Batch) -> String {
        match &b.label {
            Some(l) => l.to_string(),
            None => self.names[b.source].clone(),
        }
    }

    fn batch(&mut self, b: Batch) -> std::io::Result<()> {
        let key = (b.source, b.label.clone());
        if !self.streams.contains_key(&key) {
            let parser = choose_parser(&b.data, &self.opts);
            self.streams.insert(
                key.clone(),
                Stream { parser, joiner: Default::default(), last: None, tracker: Default::default() },
            );
        }
        let name = self.name(&b);
        self.catch_up.received(&name, b.source, b.data.len());
        let stream = self.streams.get_mut(&key).expect("inserted above");
        let mut b = b;
        // records over many lines are joined into one, numbered by the line each began on
        let mut starts = None;
        if stream.parser.pretty_json {
            let mut joined = Vec::with_capacity(b.data.len());
            stream.joiner.feed_numbered(b.first_line, &b.data, &mut joined);
            b.data = joined;
            starts = Some(stream.joiner.take_starts());
        }
        let stream = self.streams.get_mut(&key).expect("inserted above");
        let format = stream.parser.describe();
        let mut lines = Vec::new();
        crate::scan::for_each_line(&b.data, |i, line| {
            let n = starts.as_ref().map_or(b.first_line + i, |s| s.get(i as usize).copied().unwrap_or(b.first_line));
            lines.push((n, line))
        });
        for (n, line) in lines {
            let line = crate::format::trim_line(line);
            if line.is_empty() {
                continue;
            }
            let rec = stream.parser.parse(line);
            // a stack trace's lines go with the record above them, as in `report`, `trace` and the console
            let kind = crate::format::continuation::LineKind::of(line, rec.as_ref());
            let continues = stream.tracker.next(kind, stream.parser.format.role());
            let continuation_of = match stream.last {
                Some((of, shown)) if continues => {
                    if !shown {
                        continue;
                    }
                    Some(of)
                }
                _ => None,
            };
            if continuation_of.is_none() {
                let shown = match &rec {
                    Some(r) => {
                        let outside = self.opts.window.is_some_and(|w| !w.contains(r.time.map(|t| t.unix_us)));
                        !outside && self.filter.matches_on(r, Some(&name))
                    }
                    None => self.filter.is_all(),
                };
                stream.last = rec.is_some().then_some((n, shown));
                if !shown {
                    continue;
                }
            }
            let rec = rec.filter(|_| continuation_of.is_none());
            if self.json {
                let line_json = JsonLine {
                    source: &name,
                    line: n,
                    format: &format,
                    parsed: rec.is_some(),
                    raw: rec.is_none().then(|| String::from_utf8_lossy(line)),
                    continuation_of,
                    record: rec.as_ref().map(crate::output::RecordJson::of),
                };
                crate::output::write_json(&mut self.out, &line_json, false)?;
                self.out.write_all(b"\n")?;
            } else {
                if self.show_source {
                    write!(self.out, "{} ", paint(self.color, "2", &format!("{name:<12}")))?;
                }
                match &rec {
                    Some(r) => writeln!(self.out, "{}", crate::output::record_text(r, self.color))?,
                    None => writeln!(self.out, "{}", paint(self.color, "2", &crate::text::escape_control(line)))?,
                }
            }
        }
        // a live view: show each batch as soon as it is printed
        self.out.flush()
    }
}

/// Run `gatewatch tail`.
pub fn run(args: TailArgs) -> anyhow::Result<i32> {
    let opts = crate::open::scan_options(&args.input).map_err(usage)?;
    let filter =
        Filter::parse(args.filter.as_deref().unwrap_or("")).map_err(|e| usage(e.context("invalid --filter")))?;
    let lines = if args.live.from_start { None } else { Some(args.tail) };
    let sources: Vec<(String, SourceKind)> = named_sources(&args.input, &args.sources, &args.live.cmd, lines)
        .map_err(usage)?
        .into_iter()
        .map(|(name, kind, _)| (name, kind))
        .collect();
    if sources.is_empty() {
        return Err(usage_msg("nothing to follow (try `gatewatch tail access.log`, `-` for standard input, or --cmd)"));
    }
    let (follow, command_opts) = follow_options(&args.live, args.tail, &opts);
    let color = crate::output::color_wanted();
    let printer = Printer {
        catch_up: CatchUp::new(&sources, args.live.from_start, 64 << 20),
        names: sources.iter().map(|(n, _)| n.clone()).collect(),
        streams: HashMap::new(),
        show_source: sources.len() > 1
            || sources.iter().any(|(_, k)| match k {
                SourceKind::Glob(_) => true,
                SourceKind::Commands(cs) => cs.len() > 1,
                _ => false,
            }),
        opts,
        filter,
        json: args.json,
        color,
        out: std::io::BufWriter::with_capacity(64 << 10, std::io::stdout()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(follow_all(sources, follow, command_opts, printer))
}

async fn follow_all(
    sources: Vec<(String, SourceKind)>,
    follow: FollowOptions,
    command_opts: CommandOptions,
    mut printer: Printer,
) -> anyhow::Result<i32> {
    let (tx, mut rx) = mpsc::channel::<SourceMsg>(CHANNEL);
    spawn_sources(sources.into_iter().map(|(_, k)| k).collect(), &follow, &command_opts, false, tx);
    // listeners made once, before the first line: a signal that arrives while a batch is being printed waits for
    // the next turn of the loop instead of going to a listener that does not exist yet
    use tokio::signal::unix::{SignalKind, signal};
    let (mut term, mut int) = (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?);
    loop {
        let msg = tokio::select! {
            m = rx.recv() => m,
            _ = int.recv() => None,
            _ = term.recv() => None,
        };
        let Some(msg) = msg else { break };
        let written = match msg {
            SourceMsg::Lines(b) => printer.batch(b),
            SourceMsg::Event(_, e) => {
                // events name their file or command themselves
                let _ = printer.out.flush();
                crate::output::warn(&e);
                Ok(())
            }
        };
        if let Err(e) = written {
            // `gatewatch tail … | head`: the reader left, which is how a pipeline ends
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                break;
            }
            return Err(e.into());
        }
    }
    let _ = printer.out.flush();
    Ok(EXIT_OK)
}
