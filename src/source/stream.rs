//! Turning a byte stream (standard input, a command's output) into batches of complete lines.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc::Sender;

use super::resume::{Resume, Resumed};
use super::{Batch, SourceEvent, SourceId, SourceMsg};

use super::MAX_LINE;

/// Where a stream's lines go.
pub struct Sink<'a> {
    /// The source they belong to.
    pub id: SourceId,
    /// Their label (the SSH host).
    pub label: Option<Arc<str>>,
    /// The stream's name, for what is reported about it.
    pub name: &'a str,
    /// Largest batch sent at once.
    pub max_batch: usize,
    /// The channel.
    pub tx: &'a Sender<SourceMsg>,
}

impl Sink<'_> {
    async fn event(&self, e: SourceEvent) -> bool {
        self.tx.send(SourceMsg::Event(self.id, e)).await.is_ok()
    }
}

/// Reads `input` to its end, sending complete lines in batches of at most `max_batch` bytes (a final line without
/// `\n` gets one). Numbers lines from `*next_line`. Returns false when the receiver is gone.
///
/// With `resume` (a remote tail that can start again where it stopped), its marker lines are taken out and
/// reported, every byte is counted, and a final line without `\n` is left for the next run to send whole.
pub async fn pump<R: AsyncRead + Unpin>(
    to: &Sink<'_>,
    mut input: R,
    next_line: &mut u64,
    mut resume: Option<&mut Resume>,
) -> bool {
    let tx = to.tx;
    let mut buf: Vec<u8> = Vec::with_capacity(to.max_batch.min(1 << 16));
    let mut chunk = vec![0u8; 64 << 10];
    let mut skipping = false;
    let mut cuts = 0;
    loop {
        let n = tokio::select! {
            r = input.read(&mut chunk) => r.unwrap_or(0),
            _ = tx.closed() => return false,
        };
        if n == 0 {
            if !buf.is_empty() && resume.is_none() {
                buf.push(b'\n');
                return send(to, std::mem::take(&mut buf), next_line).await;
            }
            return true;
        }
        let mut read = &chunk[..n];
        if skipping {
            // the rest of a line cut at the limit: up to its newline
            let skipped = memchr::memchr(b'\n', read).map_or(read.len(), |nl| nl + 1);
            if let Some(r) = &mut resume {
                r.adjust(skipped as i64);
            }
            if skipped == read.len() && read.last() != Some(&b'\n') {
                continue;
            }
            skipping = false;
            read = &read[skipped..];
        }
        buf.extend_from_slice(read);
        // send every complete line now: a live stream must not wait for a batch to fill
        let mut added = 0;
        let cut = match memchr::memrchr(b'\n', &buf) {
            Some(nl) => nl + 1,
            None if buf.len() >= MAX_LINE => {
                buf.push(b'\n');
                added = 1;
                skipping = true;
                buf.len()
            }
            None => continue,
        };
        let rest = buf.split_off(cut);
        let mut whole = std::mem::replace(&mut buf, rest);
        if let Some(r) = &mut resume {
            let found = r.take_markers(&mut whole);
            r.adjust(-added);
            for Resumed { away, how } in found {
                if !to.event(SourceEvent::Resumed { command: to.name.to_string(), away, how }).await {
                    return false;
                }
            }
            if whole.is_empty() {
                continue;
            }
        }
        let cut_line = *next_line + memchr::memchr_iter(b'\n', &whole).count() as u64 - 1;
        for piece in split_batches(whole, to.max_batch) {
            if !send(to, piece, next_line).await {
                return false;
            }
        }
        if added == 1 {
            cuts += 1;
            let name = to.label.as_deref().unwrap_or(to.name).to_string();
            if !to.event(SourceEvent::LineCut { name, line: cut_line, total: cuts }).await {
                return false;
            }
        }
    }
}

/// Cut a block of whole lines into pieces of at most `max` bytes (at line ends; a longer line stays whole).
fn split_batches(data: Vec<u8>, max: usize) -> Vec<Vec<u8>> {
    if data.len() <= max {
        return vec![data];
    }
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let limit = (start + max).min(data.len());
        let end = match memchr::memrchr(b'\n', &data[start..limit]) {
            Some(i) if limit < data.len() => start + i + 1,
            _ if limit == data.len() => limit,
            _ => memchr::memchr(b'\n', &data[limit..]).map_or(data.len(), |i| limit + i + 1),
        };
        out.push(data[start..end].to_vec());
        start = end;
    }
    out
}

async fn send(to: &Sink<'_>, data: Vec<u8>, next_line: &mut u64) -> bool {
    let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
    let batch = Batch { source: to.id, label: to.label.clone(), first_line: *next_line, data };
    *next_line += lines;
    to.tx.send(SourceMsg::Lines(batch)).await.is_ok()
}

/// Follows standard input until it ends (`kubectl logs -f … | gatewatch tail -`).
pub async fn follow_stdin(id: SourceId, max_batch: usize, tx: Sender<SourceMsg>) {
    let mut next = 1;
    let to = Sink { id, label: None, name: "standard input", max_batch, tx: &tx };
    if pump(&to, tokio::io::stdin(), &mut next, None).await {
        let _ = tx.send(SourceMsg::Event(id, SourceEvent::Ended { name: "standard input".into() })).await;
    }
}

/// Reads a compressed file (a rotated log) decompressed, to its end: it does not grow, so it is not followed.
pub async fn read_compressed(id: SourceId, path: std::path::PathBuf, max_batch: usize, tx: Sender<SourceMsg>) {
    use tokio::io::AsyncWriteExt;
    let name = path.display().to_string();
    let (mut writer, reader) = tokio::io::duplex(256 << 10);
    let runtime = tokio::runtime::Handle::current();
    let failed = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || -> Option<String> {
            let opened = std::fs::File::open(&path).and_then(crate::source::compressed::open);
            let mut input = match opened {
                Ok((input, _)) => input,
                Err(e) => return Some(e.to_string()),
            };
            let mut chunk = vec![0u8; 64 << 10];
            loop {
                match std::io::Read::read(&mut input, &mut chunk) {
                    Ok(0) => return None,
                    Ok(n) => {
                        if runtime.block_on(writer.write_all(&chunk[..n])).is_err() {
                            return None; // nobody reads any more
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Some(e.to_string()),
                }
            }
        })
    };
    let mut next = 1;
    let to = Sink { id, label: None, name: &name, max_batch, tx: &tx };
    if !pump(&to, reader, &mut next, None).await {
        return;
    }
    let event = match failed.await {
        Ok(Some(error)) => SourceEvent::Undecodable { path, error },
        _ => SourceEvent::Ended { name },
    };
    let _ = tx.send(SourceMsg::Event(id, event)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_at_line_ends() {
        let data = b"aaaa\nbb\ncccccc\nd\n".to_vec();
        let parts = split_batches(data.clone(), 8);
        assert_eq!(parts.concat(), data);
        assert!(parts.iter().all(|p| p.ends_with(b"\n")));
        assert_eq!(parts[0], b"aaaa\nbb\n");
    }

    /// Pump `input` through and collect the batches sent: (first line, data), and the next line number after.
    async fn pump_all(input: &[u8]) -> (Vec<(u64, Vec<u8>)>, u64) {
        let (all, _, next) = pump_with_events(input).await;
        (all, next)
    }

    /// [`pump_all`], with the events sent.
    async fn pump_with_events(input: &[u8]) -> (Vec<(u64, Vec<u8>)>, Vec<SourceEvent>, u64) {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let collector = tokio::spawn(async move {
            let (mut all, mut events) = (Vec::new(), Vec::new());
            while let Some(m) = rx.recv().await {
                match m {
                    SourceMsg::Lines(b) => all.push((b.first_line, b.data)),
                    SourceMsg::Event(_, e) => events.push(e),
                }
            }
            (all, events)
        });
        let mut next = 1;
        let to = Sink { id: 0, label: None, name: "test", max_batch: 1024, tx: &tx };
        assert!(pump(&to, input, &mut next, None).await);
        drop(tx);
        let (all, events) = collector.await.unwrap();
        (all, events, next)
    }

    #[tokio::test]
    async fn pump_sends_every_line_once() {
        let (got, next) = pump_all(b"one\ntwo\nthree without newline").await;
        let text: Vec<u8> = got.iter().flat_map(|(_, d)| d.clone()).collect();
        assert_eq!(text, b"one\ntwo\nthree without newline\n");
        assert_eq!(got[0].0, 1);
        assert_eq!(next, 4);
    }

    #[tokio::test]
    async fn a_line_past_the_limit_is_cut_once_and_the_rest_skipped() {
        let mut input = b"first\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE * 3 + 5));
        input.extend_from_slice(b"\nnext\n");
        let (got, events, next) = pump_with_events(&input).await;
        assert_eq!(events, [SourceEvent::LineCut { name: "test".into(), line: 2, total: 1 }], "reported once");
        let text: Vec<u8> = got.iter().flat_map(|(_, d)| d.clone()).collect();
        let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 3, "the long line is one line");
        assert_eq!(lines[0], b"first\n");
        assert!((MAX_LINE..MAX_LINE + (64 << 10) + 1).contains(&(lines[1].len() - 1)), "{}", lines[1].len());
        assert_eq!(lines[2], b"next\n");
        assert_eq!(next, 4, "and the next line's number is right");
        assert_eq!(got.last().unwrap().0, 3);
    }
}
