//! The replay pane's state: the selected record's request as editable text, sent as a task that reports back, its
//! response beside what the log says happened; and batch replay of what the filter shows. Nothing waits on the
//! network: sending spawns a task (see `replay_update.rs`), and its result comes back as an
//! [`ActionMsg`](super::actions::ActionMsg).

use std::time::Instant;

use ratatui_textarea::TextArea;
use tokio::task::AbortHandle;

use crate::replay::batch::{self, Summary};
use crate::replay::breaker::Circuit;
use crate::replay::request::Request;
use crate::replay::send::{Outcome, SendOptions};

/// What the log says happened to the replayed request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoggedSide {
    /// `gateway-access.log:1234`.
    pub place: String,
    /// What it logged.
    pub logged: batch::Logged,
    /// The diagnosis of its status family: the likely cause and the first check.
    pub diagnosis: Vec<String>,
}

/// Where a single replay goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aim {
    /// To the replay target (the gateway).
    Gateway,
    /// Straight to the upstream the record logged.
    Upstream,
    /// Both, side by side.
    Both,
}

/// What a send, once confirmed, sends.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    /// Where it goes.
    pub aim: Aim,
    /// The request to the gateway (kept in the history whatever the aim).
    pub request: Request,
    /// The same request straight to the upstream, and the upstream's address.
    pub upstream: Option<(Request, String)>,
}

/// Where a single replay stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Sending {
    /// Nothing sent yet, or the last one finished.
    Idle,
    /// Waiting for `y`: why it asks, and what it would send.
    Confirm { reason: String, request: Box<Planned> },
    /// In flight since then.
    InFlight { since: Instant },
    /// The request in flight was aborted.
    Cancelled,
}

/// One request, edited and sent.
pub struct SingleReplay {
    /// The request as text.
    pub editor: TextArea<'static>,
    /// Keys go to the editor.
    pub editing: bool,
    /// What the editor was filled from (hidden secrets stand for its values).
    pub before: Request,
    /// The logged record's side, when the request came from one.
    pub logged: Option<LoggedSide>,
    /// The request id as logged.
    pub logged_id: Option<String>,
    /// The id the last send carried.
    pub sent_id: Option<String>,
    /// Where the send stands.
    pub sending: Sending,
    /// What the last send got back (from the upstream, when it went straight there).
    pub outcome: Option<Outcome>,
    /// Where the last send went.
    pub aim: Aim,
    /// With [`Aim::Both`], what the upstream sent back.
    pub upstream_outcome: Option<Outcome>,
    /// The upstream address the last send went to, when it went to one.
    pub upstream_addr: Option<String>,
    /// The upstream attempts' addresses the record logged.
    pub upstreams: Vec<String>,
    /// A line to show: (is it a problem, text).
    pub message: Option<(bool, String)>,
    /// The request as a curl command, after `y`.
    pub curl: Option<String>,
    /// Lines the response is scrolled by.
    pub scroll: u16,
    /// Where `ctrl-p`/`ctrl-n` are in this session's history.
    pub(super) history_at: Option<usize>,
    pub(super) task: Option<AbortHandle>,
    pub(super) seq: u64,
}

/// One row of a batch.
#[derive(Clone, Debug)]
pub struct BatchRow {
    /// `gateway-access.log:1234`.
    pub place: String,
    /// Method and target as logged.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The logged status.
    pub logged: Option<u16>,
    /// `None` while pending; `Some(None)` when skipped.
    pub result: Option<Option<Outcome>>,
}

/// Many requests, replayed under a rate, a concurrency and the circuit breaker.
pub struct BatchReplay {
    /// The base URL they go to.
    pub target: String,
    /// One row per request, oldest first.
    pub rows: Vec<BatchRow>,
    /// The counts and the matrix so far.
    pub summary: Summary,
    /// The circuit's state.
    pub circuit: Circuit,
    /// Requests started per second at most.
    pub rate: f64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Requests that are not idempotent among them.
    pub unsafe_count: usize,
    /// Waiting for the confirmation (the requests not yet handed to the task).
    pub pending: Option<Vec<(Request, SendOptions)>>,
    /// Running since then.
    pub started: Option<Instant>,
    /// All done, or cancelled.
    pub finished: Option<&'static str>,
    /// Rows scrolled by.
    pub scroll: u16,
    pub(super) task: Option<AbortHandle>,
    pub(super) seq: u64,
}

/// The replay pane's content.
pub enum ReplayView {
    /// One request.
    Single(Box<SingleReplay>),
    /// What the filter shows.
    Batch(Box<BatchReplay>),
}

impl ReplayView {
    /// Whether a task is running.
    pub fn in_flight(&self) -> bool {
        match self {
            ReplayView::Single(s) => matches!(s.sending, Sending::InFlight { .. }),
            ReplayView::Batch(b) => b.started.is_some() && b.finished.is_none(),
        }
    }

    pub(super) fn abort(&mut self) {
        let task = match self {
            ReplayView::Single(s) => s.task.take(),
            ReplayView::Batch(b) => b.task.take(),
        };
        if let Some(t) = task {
            t.abort();
        }
    }
}

impl Drop for ReplayView {
    fn drop(&mut self) {
        // closing the pane ends what it started
        self.abort();
    }
}
