//! Parsed summaries of the lines a frame draws, kept for the next frames.

use super::pane::Pane;
use crate::output::{Part, record_parts};

/// Characters of `id=…` shown in a pane's summary lines.
const ID_SHOWN: usize = 15;

/// Parsed summaries of lines recently drawn, by (pane, line): a line is parsed once for many frames.
#[derive(Default)]
pub struct LineCache {
    parts: rustc_hash::FxHashMap<(usize, usize), Parts>,
}

/// A line's summary, shared between the cache and the frame drawing it.
pub(crate) type Parts = std::rc::Rc<[(Part, String)]>;

impl LineCache {
    const MAX: usize = 4096;

    pub(crate) fn parts(&mut self, p: &Pane, pane: usize, line: usize) -> Option<Parts> {
        if let Some(parts) = self.parts.get(&(pane, line)) {
            return Some(parts.clone());
        }
        let text = p.lines.line(line);
        let r = p.parser.as_ref()?.parse(&text)?;
        let mut parts = record_parts(&r);
        for (part, text) in &mut parts {
            if matches!(part, Part::Id | Part::Trace) && text.chars().count() > ID_SHOWN {
                // enough to tell ids apart by eye; the status bar and the detail show it whole
                *text = text.chars().take(ID_SHOWN).chain(['…']).collect();
            }
        }
        if self.parts.len() >= Self::MAX {
            self.parts.clear(); // simpler than LRU, and the next frame refills what it shows
        }
        let parts: Parts = parts.into();
        self.parts.insert((pane, line), parts.clone());
        Some(parts)
    }
}
