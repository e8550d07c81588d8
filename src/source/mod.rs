//! Live sources: each owns one input, follows it, and sends batches of complete lines over a bounded channel.

pub mod file;
pub mod glob;

use std::path::PathBuf;
use std::sync::Arc;

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
}

/// What sources send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceMsg {
    /// Lines.
    Lines(Batch),
    /// An event.
    Event(SourceId, SourceEvent),
}
