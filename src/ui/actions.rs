//! What tasks started from the console (replays, token checks) report back, and the channel they report on.

use tokio::sync::mpsc;

use crate::replay::batch;
use crate::replay::send::Outcome;

/// What an action task reports back.
#[derive(Debug)]
pub enum ActionMsg {
    /// A single replay finished.
    Replayed { seq: u64, outcome: Box<Outcome>, upstream: Option<Box<Outcome>> },
    /// A batch request finished or was skipped.
    BatchDone { seq: u64, done: Box<batch::Done> },
    /// The batch ended.
    BatchEnd { seq: u64, end: batch::End },
    /// The token pane's check finished: the inspections, or why the keys could not be had.
    TokenChecked { seq: u64, result: Result<Vec<crate::token::inspect::Inspection>, String> },
}

/// The sending end for action tasks, and the receiving end until the loop takes it.
pub struct ActionChannel {
    pub(crate) tx: mpsc::UnboundedSender<ActionMsg>,
    pub(crate) rx: Option<mpsc::UnboundedReceiver<ActionMsg>>,
}

impl Default for ActionChannel {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        ActionChannel { tx, rx: Some(rx) }
    }
}
