//! Live sources: each owns one input, follows it, and sends batches of complete lines over a bounded channel.

pub mod command;
pub mod compressed;
pub mod file;
mod frames;
pub mod glob;
pub mod resume;
pub mod ssh;
pub mod stream;

use std::path::PathBuf;
use std::sync::Arc;

/// Longest line a source holds: a longer one is cut there (a `\n` is put in its place) and the rest of it is
/// skipped up to its `\n`, so memory stays bounded whatever a log writes, and each cut is reported.
pub const MAX_LINE: usize = 1 << 20;

/// Which source a message comes from (index into the caller's list of sources).
pub type SourceId = usize;

/// Complete lines read from a source, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The source.
    pub source: SourceId,
    /// A label for the lines (the file path for globs, the host for SSH), if the source has several inputs.
    pub label: Option<Arc<str>>,
    /// Line number (1-based, within the current file generation) of the first line in `data`.
    pub first_line: u64,
    /// Whole lines, each ending in `\n`.
    pub data: Vec<u8>,
}

/// Something that happened to a source, worth showing to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceEvent {
    /// Following this file from this byte offset.
    Opened { path: PathBuf, offset: u64 },
    /// The file does not exist (yet); waiting for it.
    Waiting { path: PathBuf },
    /// The file was renamed or deleted and a new one took its place; the old one was read to its end.
    Rotated { path: PathBuf },
    /// The file shrank in place (copytruncate); reading again from its start.
    Truncated { path: PathBuf },
    /// The file cannot be read (e.g. permission denied); retrying.
    Unreadable { path: PathBuf, error: String },
    /// A new file matched a glob and is now followed.
    Discovered { path: PathBuf },
    /// A command started.
    Started { command: String },
    /// A line the command wrote to its standard error.
    Stderr { command: String, line: String },
    /// A command exited (`code` is `None` when a signal ended it); `restart_in` when it will be run again.
    Exited { command: String, code: Option<i32>, restart_in: Option<std::time::Duration> },
    /// A command could not be started.
    Failed { command: String, error: String },
    /// A line longer than [`MAX_LINE`] was cut there and the rest of it skipped; `total` lines so far.
    LineCut { name: String, line: u64, total: u64 },
    /// A remote tail is back after its connection dropped, and how it dealt with the gap.
    Resumed { command: String, away: std::time::Duration, how: String },
    /// A stream (standard input) reached its end.
    Ended { name: String },
    /// A compressed file could not be decompressed past some point: what came before was read, the rest is lost.
    Undecodable { path: PathBuf, error: String },
}

impl std::fmt::Display for SourceEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceEvent::Opened { path, offset } => write!(f, "{}: following from byte {offset}", path.display()),
            SourceEvent::Waiting { path } => write!(f, "{}: does not exist yet, waiting for it", path.display()),
            SourceEvent::Rotated { path } => write!(f, "{}: rotated, reading the new file", path.display()),
            SourceEvent::Truncated { path } => write!(f, "{}: truncated, reading from its start", path.display()),
            SourceEvent::Unreadable { path, error } => write!(f, "{}: {error} (retrying)", path.display()),
            SourceEvent::Undecodable { path, error } => {
                write!(f, "{}: cannot be decompressed further ({error}); the lines before were read", path.display())
            }
            SourceEvent::Discovered { path } => write!(f, "{}: new file, following it", path.display()),
            SourceEvent::Started { command } => write!(f, "`{command}` started"),
            SourceEvent::Stderr { command, line } => write!(f, "`{command}`: {line}"),
            SourceEvent::Exited { command, code, restart_in } => {
                match code {
                    Some(c) => write!(f, "`{command}` exited with status {c}")?,
                    None => write!(f, "`{command}` was killed by a signal")?,
                }
                match restart_in {
                    Some(d) => write!(f, "; restarting in {:.1}s", d.as_secs_f64()),
                    None => Ok(()),
                }
            }
            SourceEvent::Failed { command, error } => write!(f, "`{command}` could not start: {error}"),
            SourceEvent::LineCut { name, line, total } => write!(
                f,
                "{name}: line {line} is over {} MiB: cut there, the rest of it skipped ({total} cut so far)",
                MAX_LINE >> 20
            ),
            SourceEvent::Resumed { command, away, how } => {
                write!(f, "`{command}` back after {}: {how}", crate::numbers::duration_text(away.as_micros() as u64))
            }
            SourceEvent::Ended { name } => write!(f, "{name}: end of input"),
        }
    }
}

/// What sources send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceMsg {
    /// Lines.
    Lines(Batch),
    /// An event.
    Event(SourceId, SourceEvent),
}

impl SourceMsg {
    /// The source it comes from.
    pub fn source(&self) -> SourceId {
        match self {
            SourceMsg::Lines(b) => b.source,
            SourceMsg::Event(id, _) => *id,
        }
    }
}
