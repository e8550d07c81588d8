//! `H`: the hour before a file pane's first line, loaded while the console runs. The bytes are found by binary
//! search on the file's times (as `--since` finds its start), indexed apart on every core as the history at start
//! is ([`crate::history`]), and put in front of the pane's lines.

use super::app::App;

/// How much further back one press loads.
const STEP_MS: i64 = 3_600_000;

impl App {
    /// Load the hour before the focused pane's first line from its file (see the module's comment).
    pub(crate) fn earlier(&mut self) {
        let i = self.focus;
        let mut job = None;
        let Some(p) = self.panes.get_mut(i) else { return };
        let said = match (&mut p.origin, &p.parser, &self.history_tx) {
            _ if p.history.is_some() => "earlier lines are still being read".to_string(),
            (None, ..) => "only a file's pane loads earlier lines (a glob, a command or ssh does not)".to_string(),
            (Some(o), ..) if o.start == 0 => format!(
                "{}: the whole file is loaded; older lines are in its rotated files (open it with `--with-rotated`)",
                p.name
            ),
            (Some(_), None, _) | (_, _, None) => "no line read yet".to_string(),
            (Some(o), Some(parser), Some(_)) => {
                let first = if p.lines.is_empty() { i64::MAX / 1000 } else { p.lines.meta(0).time_ms() };
                let target_us = first.saturating_sub(STEP_MS).saturating_mul(1000);
                let found = crate::window::first_at(&mut o.file, o.start, parser, target_us);
                let path = p.file.clone();
                let span = found.and_then(|from| {
                    Ok(crate::history::Span { file: o.file.try_clone()?, start: from, end: o.start, path })
                });
                let label = p.default_label.clone();
                let part = span.and_then(|span| Ok((span.start, span.part(label)?)));
                match part {
                    Err(e) => format!("{}: cannot read earlier lines: {e}", p.name),
                    Ok((_, part)) if part.bytes == 0 => format!("{}: no earlier line found", p.name),
                    Ok((start, part)) => {
                        let bytes = part.bytes;
                        o.start = start;
                        p.history = Some((0, bytes));
                        job = Some((part, parser.clone()));
                        format!("{}: loading {} before its first line", p.name, crate::numbers::bytes_text(bytes))
                    }
                }
            }
        };
        if let Some((part, parser)) = job {
            self.spawn_history(i, vec![part], parser);
        }
        self.notice = Some(said);
    }

    /// Index `parts` of pane `i`'s history apart, on every core at low priority (see [`crate::history::spawn`]);
    /// what happens comes back through [`App::history_tx`].
    pub(crate) fn spawn_history(&self, i: usize, parts: Vec<crate::history::Part>, parser: crate::format::Parser) {
        let Some(tx) = self.history_tx.clone() else { return };
        crate::history::spawn(parts, parser, self.opts.threads, move |e| {
            let _ = tx.send((i, e));
        });
    }
}
