//! Commands as sources: `--cmd 'kubectl logs -f -l app=gateway --prefix'`. The command string is the user's and
//! runs through `sh -c`; log content never reaches a shell. Its standard output is the log; its standard error and
//! exit status become events, and it can be restarted with a backoff, or run again when the user asks.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::Notify;
use tokio::sync::mpsc::Sender;

use super::resume::{RemoteFile, Resume};
use super::{SourceEvent, SourceId, SourceMsg, stream};

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// The program.
    pub program: String,
    /// Its arguments, passed as they are (no shell in between).
    pub args: Vec<String>,
    /// How the command is shown to the user.
    pub display: String,
    /// A label for its lines (e.g. the SSH host).
    pub label: Option<Arc<str>>,
    /// A remote file the command's last argument follows, resumed where it stopped on each run (an `ssh://`
    /// source): the remote command line is made for each run and appended to `args`.
    pub remote: Option<RemoteFile>,
}

impl CommandSpec {
    /// The user's command line, run by `sh -c`.
    pub fn shell(command: &str) -> Self {
        CommandSpec {
            program: "sh".into(),
            args: vec!["-c".into(), command.into()],
            display: command.into(),
            label: None,
            remote: None,
        }
    }
}

/// How to run it.
#[derive(Clone, Debug)]
pub struct CommandOptions {
    /// Run it again when it exits.
    pub restart: bool,
    /// First restart delay; doubles while the command keeps failing quickly, up to 30 s.
    pub restart_delay: Duration,
    /// Largest batch sent at once.
    pub max_batch_bytes: usize,
    /// When the command has ended (and `restart` is off) or cannot start, wait for this to be notified and run
    /// it again, instead of ending the source (the console's restart key).
    pub rerun: Option<Arc<Notify>>,
}

impl Default for CommandOptions {
    fn default() -> Self {
        CommandOptions {
            restart: false,
            restart_delay: Duration::from_secs(1),
            max_batch_bytes: 256 << 10,
            rerun: None,
        }
    }
}

/// Send `event`, then wait until `rerun` asks for another run; false when the source should end instead.
async fn wait_for_rerun(rerun: Option<&Notify>, event: SourceMsg, tx: &Sender<SourceMsg>) -> bool {
    let Some(rerun) = rerun else {
        let _ = tx.send(event).await;
        return false;
    };
    // listening before the event goes out: a request made as soon as it is seen is not missed
    let mut asked = std::pin::pin!(rerun.notified());
    asked.as_mut().enable();
    if tx.send(event).await.is_err() {
        return false;
    }
    tokio::select! {
        _ = asked => true,
        _ = tx.closed() => false,
    }
}

/// Longest stderr line reported.
const MAX_STDERR_LINE: usize = 500;

/// Runs the command (again, if asked) until the receiver goes away. The child is killed when this task ends.
pub async fn follow_command(id: SourceId, spec: CommandSpec, opts: CommandOptions, tx: Sender<SourceMsg>) {
    let mut delay = opts.restart_delay;
    let mut next_line = 1;
    let mut resume = spec.remote.as_ref().map(|_| Resume::new());
    loop {
        let started = Instant::now();
        let event = |e| SourceMsg::Event(id, e);
        let remote = spec.remote.as_ref().zip(resume.as_mut()).map(|(f, r)| r.command(f));
        let mut child = match Command::new(&spec.program)
            .args(&spec.args)
            .args(remote)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                let failed = SourceEvent::Failed { command: spec.display.clone(), error: e.to_string() };
                if !wait_for_rerun(opts.rerun.as_deref(), event(failed), &tx).await {
                    return;
                }
                continue;
            }
        };
        if tx.send(event(SourceEvent::Started { command: spec.display.clone() })).await.is_err() {
            return;
        }
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let err_tx = tx.clone();
        let display = spec.display.clone();
        let stderr_task = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(mut line)) = lines.next_line().await {
                if line.len() > MAX_STDERR_LINE {
                    let mut cut = MAX_STDERR_LINE;
                    while !line.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    line.truncate(cut);
                }
                let e = SourceEvent::Stderr {
                    command: display.clone(),
                    line: crate::text::escape_control(line.as_bytes()),
                };
                if err_tx.send(SourceMsg::Event(id, e)).await.is_err() {
                    break;
                }
            }
        });
        let to = stream::Sink {
            id,
            label: spec.label.clone(),
            name: &spec.display,
            max_batch: opts.max_batch_bytes,
            tx: &tx,
        };
        let alive = stream::pump(&to, stdout, &mut next_line, resume.as_mut()).await;
        if let Some(r) = &mut resume {
            r.dropped();
        }
        if !alive {
            return; // the child is killed on drop
        }
        let status = tokio::select! {
            s = child.wait() => s.ok(),
            _ = tx.closed() => return,
        };
        let _ = stderr_task.await;
        // a command that ran for a while starts over with the short delay
        if started.elapsed() > Duration::from_secs(10) {
            delay = opts.restart_delay;
        }
        let restart_in = opts.restart.then_some(delay);
        let exited =
            SourceEvent::Exited { command: spec.display.clone(), code: status.and_then(|s| s.code()), restart_in };
        if !opts.restart {
            if !wait_for_rerun(opts.rerun.as_deref(), event(exited), &tx).await {
                return;
            }
            delay = opts.restart_delay;
            continue;
        }
        if tx.send(event(exited)).await.is_err() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = tx.closed() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// What a command run to its end (or to its time limit) printed.
#[derive(Debug)]
pub struct Ran {
    /// Its standard output, whole or up to the time limit.
    pub stdout: Vec<u8>,
    /// The first line it wrote to its standard error, if any.
    pub stderr: Option<String>,
    /// How the shell exited; `None` when it was stopped at the time limit or ended by a signal.
    pub code: Option<i32>,
    /// It still ran at the time limit and was stopped.
    pub timed_out: bool,
}

/// Run `command` with `sh -c` until it ends or `limit` passes, whichever comes first; at the limit it is killed
/// (with everything it started, as one process group) and what it printed so far is kept.
pub fn run_to_end(command: &str, limit: Duration) -> std::io::Result<Ran> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use std::sync::Mutex;
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + limit;
    // readers on threads: a pipe held open by something the command left running must not hold the caller
    let read = |mut from: Box<dyn Read + Send>, into: Arc<Mutex<Vec<u8>>>, done: std::sync::mpsc::Sender<()>| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 64 << 10];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                into.lock().map(|mut v| v.extend_from_slice(&buf[..n])).ok();
            }
            let _ = done.send(());
        })
    };
    let (out, err) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let (done_tx, done) = std::sync::mpsc::channel();
    read(Box::new(child.stdout.take().expect("stdout is piped")), out.clone(), done_tx.clone());
    read(Box::new(child.stderr.take().expect("stderr is piped")), err.clone(), done_tx);
    // both pipes at their end, then the exit; or the deadline
    let mut ended = 0;
    while ended < 2 && done.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_ok() {
        ended += 1;
    }
    let mut status = child.try_wait()?;
    while status.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        status = child.try_wait()?;
    }
    // still running, or something it started still holds its output open
    let timed_out = status.is_none() || ended < 2;
    if timed_out {
        // the whole group: `sh -c` may have started the real command as a child of its own
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("kill -KILL -{} 2>/dev/null", child.id()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // what was already in the pipes
        let grace = Instant::now() + Duration::from_millis(200);
        while ended < 2 && done.recv_timeout(grace.saturating_duration_since(Instant::now())).is_ok() {
            ended += 1;
        }
    }
    let take = |v: &Arc<Mutex<Vec<u8>>>| v.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
    let stderr = take(&err);
    let first = stderr.split(|&b| b == b'\n').find(|l| !l.iter().all(u8::is_ascii_whitespace));
    Ok(Ran {
        stdout: take(&out),
        stderr: first.map(|l| crate::text::escape_control(&l[..l.len().min(MAX_STDERR_LINE)])),
        code: status.and_then(|s| s.code()),
        timed_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn next_event(rx: &mut tokio::sync::mpsc::Receiver<SourceMsg>) -> (Vec<u8>, SourceEvent) {
        let mut lines = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a message in time") {
                Some(SourceMsg::Lines(b)) => lines.extend(b.data),
                Some(SourceMsg::Event(_, e @ (SourceEvent::Exited { .. } | SourceEvent::Failed { .. }))) => {
                    return (lines, e);
                }
                Some(SourceMsg::Event(..)) => {}
                None => panic!("the source ended"),
            }
        }
    }

    #[tokio::test]
    async fn an_ended_command_runs_again_when_asked() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let rerun = Arc::new(Notify::new());
        let opts = CommandOptions { rerun: Some(rerun.clone()), ..CommandOptions::default() };
        let task = tokio::spawn(follow_command(0, CommandSpec::shell("echo run; exit 4"), opts, tx));
        let (lines, exited) = next_event(&mut rx).await;
        assert_eq!(lines, b"run\n");
        assert!(matches!(exited, SourceEvent::Exited { code: Some(4), restart_in: None, .. }), "{exited:?}");
        assert!(
            tokio::time::timeout(Duration::from_millis(300), rx.recv()).await.is_err(),
            "nothing runs again until asked"
        );
        rerun.notify_waiters();
        let (lines, _) = next_event(&mut rx).await;
        assert_eq!(lines, b"run\n", "the second run's output");
        drop(rx);
        tokio::time::timeout(Duration::from_secs(10), task).await.expect("the source ends with its receiver").unwrap();
    }

    #[test]
    fn a_command_run_to_its_end_gives_its_output_and_exit() {
        let ran = run_to_end("echo one; echo two; echo oops >&2; exit 3", Duration::from_secs(10)).unwrap();
        assert_eq!(ran.stdout, b"one\ntwo\n");
        assert_eq!((ran.code, ran.timed_out, ran.stderr.as_deref()), (Some(3), false, Some("oops")));
    }

    #[test]
    fn a_command_past_its_limit_is_stopped_and_what_it_printed_kept() {
        let start = Instant::now();
        // the shell's child holds the pipe too: it goes with the group
        let ran = run_to_end("echo early; sleep 30; echo late", Duration::from_millis(500)).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
        assert_eq!((ran.stdout.as_slice(), ran.timed_out, ran.code), (&b"early\n"[..], true, None));
        // a background child left holding the pipe after the shell exits is no reason to wait past the limit
        let start = Instant::now();
        let ran = run_to_end("sleep 30 & echo bg", Duration::from_millis(500)).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
        assert_eq!((ran.stdout.as_slice(), ran.timed_out), (&b"bg\n"[..], true));
    }

    #[tokio::test]
    async fn without_rerun_an_ended_command_ends_the_source() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        follow_command(0, CommandSpec::shell("exit 0"), CommandOptions::default(), tx).await;
        let mut exited = false;
        while let Some(m) = rx.recv().await {
            exited |= matches!(m, SourceMsg::Event(_, SourceEvent::Exited { .. }));
        }
        assert!(exited);
    }
}
