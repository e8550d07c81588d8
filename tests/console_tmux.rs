//! The console end to end, in a real terminal: the `gatewatch` binary runs inside tmux against real log files that
//! the test appends to while the console runs, and the assertions read the screen with `tmux capture-pane`.
//!
//! Each test has its own tmux server (socket in the test's temporary directory, no user config) so tests run in
//! parallel and never touch the user's tmux; the server is killed when the test ends, also when it fails. Waits
//! poll the screen with a deadline, never fixed sleeps. tmux is required: `.ci/run` installs it.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use unicode_width::UnicodeWidthChar;

/// Upper bound for any wait; generous for a loaded 2-core machine, normally reached in well under a second.
const DEADLINE: Duration = Duration::from_secs(15);
/// Log time of the first generated request (`generate`'s default start), in ms since the epoch.
const START_MS: i64 = 1_714_564_800_000;
/// In the 200-column tests the gateway pane is columns 0..100, the upstream pane 100..200.
const HALF: usize = 100;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_gatewatch")
}

fn tmux_installed() {
    let ok = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    assert!(ok, "tmux is not installed: these end-to-end tests need it (`.ci/run` installs it with apt-get)");
}

/// Single-quote `s` for `sh`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One test's tmux server and its single session; killed on drop.
struct Tmux {
    socket: String,
    name: String,
}

impl Tmux {
    /// Start `cmd` (a shell command) in a new `w`×`h` session, in `dir`, with `HOME` and the config dir in `dir`.
    /// Panes stay after their command ends (`remain-on-exit`), so an early exit can be seen and explained.
    fn start(test: &str, w: u16, h: u16, dir: &Path, cmd: &str) -> Tmux {
        tmux_installed();
        let conf = dir.join("tmux.conf");
        std::fs::write(&conf, "set -g remain-on-exit on\nset -g status off\nset -g history-limit 0\n").unwrap();
        let socket = dir.join("tmux.sock").to_string_lossy().into_owned();
        let t = Tmux { socket, name: format!("gw-{test}") };
        let home = dir.to_string_lossy().into_owned();
        let out = Command::new("tmux")
            .args(["-S", &t.socket, "-f"])
            .arg(&conf)
            .args(["new-session", "-d", "-s", &t.name, "-x", &w.to_string(), "-y", &h.to_string(), "-c", &home])
            .args(["-e", &format!("HOME={home}"), "-e", &format!("XDG_CONFIG_HOME={home}/config")])
            .arg(cmd)
            .output()
            .expect("run tmux");
        assert!(out.status.success(), "tmux new-session failed: {}", String::from_utf8_lossy(&out.stderr));
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux").args(["-S", &self.socket]).args(args).output().expect("run tmux")
    }

    /// Send keys (tmux key names: `k`, `G`, `Escape`, `Tab`, `?`), one after the other.
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = self.run(&["send-keys", "-t", &self.name, k]);
            assert!(out.status.success(), "send-keys {k}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }

    /// A tmux format of the session's pane (`#{pane_dead}`, `#{alternate_on}` …).
    fn format(&self, f: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", &self.name, f]);
        assert!(out.status.success(), "display-message {f}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn screen(&self) -> Screen {
        let out = self.run(&["capture-pane", "-p", "-t", &self.name]);
        assert!(out.status.success(), "capture-pane: {}", String::from_utf8_lossy(&out.stderr));
        Screen { lines: String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect() }
    }

    /// Poll the screen until `ok` holds; fail with `what` and the last screen at the deadline.
    fn wait(&self, what: &str, ok: impl Fn(&Screen) -> bool) -> Screen {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > DEADLINE {
                let dead = self.format("#{pane_dead} #{pane_dead_status}");
                panic!("timed out waiting for {what}\n(pane dead, status: {dead})\nlast screen:\n{}", s.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Poll the screen until every check in `checks` passes (a frame can be captured half drawn, so a screen is
    /// judged only once it is whole); fail with the last check's complaint and the screen at the deadline.
    fn expect(&self, what: &str, checks: impl Fn(&Screen) -> Result<(), String>) -> Screen {
        let start = Instant::now();
        loop {
            let s = self.screen();
            let err = match checks(&s) {
                Ok(()) => return s,
                Err(e) => e,
            };
            if start.elapsed() > DEADLINE {
                let dead = self.format("#{pane_dead} #{pane_dead_status}");
                panic!("{what}: {err}\n(pane dead, status: {dead})\nlast screen:\n{}", s.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Poll a tmux format until it equals `want`.
    fn wait_format(&self, f: &str, want: &str) {
        let start = Instant::now();
        loop {
            let got = self.format(f);
            if got == want {
                return;
            }
            if start.elapsed() > DEADLINE {
                panic!("timed out waiting for {f} = {want:?} (is {got:?})\nlast screen:\n{}", self.screen().text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// In an [`Tmux::expect`] check: fail with the message unless `cond`.
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// What `capture-pane -p` showed.
struct Screen {
    lines: Vec<String>,
}

/// Display columns `from..to` of `line`.
fn columns(line: &str, from: usize, to: usize) -> String {
    let mut col = 0;
    let mut out = String::new();
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if col >= from && col + w <= to {
            out.push(c);
        }
        col += w;
    }
    out
}

impl Screen {
    fn text(&self) -> String {
        self.lines.join("\n")
    }
    fn has(&self, s: &str) -> bool {
        self.lines.iter().any(|l| l.contains(s))
    }
    /// Columns 0..100: the gateway pane when 200 wide.
    fn left(&self) -> String {
        self.lines.iter().map(|l| columns(l, 0, HALF)).collect::<Vec<_>>().join("\n")
    }
    /// Columns 100..: the upstream pane when 200 wide.
    fn right(&self) -> String {
        self.lines.iter().map(|l| columns(l, HALF, usize::MAX)).collect::<Vec<_>>().join("\n")
    }
    /// The pane titles row (row 1), left half.
    fn left_title(&self) -> String {
        self.lines.get(1).map(|l| columns(l, 0, HALF)).unwrap_or_default()
    }
    fn status_bar(&self) -> &str {
        self.lines.last().map_or("", String::as_str)
    }
    /// The whole request id the status bar shows (` id <id> `).
    fn selected_id(&self) -> Option<String> {
        let bar = self.status_bar();
        let at = bar.find(" id ")?;
        bar[at + 4..].split_whitespace().next().map(str::to_string)
    }
}

/// A request the test writes itself, in both logs.
struct Req {
    id: String,
    path: String,
    /// ms after the first generated request.
    at_ms: i64,
}

impl Req {
    /// Request `n` of test `test`: a 32-hex id whose first 12 characters are unique (`e2e` + test + `n`).
    fn new(test: u8, n: u32, path: &str, at_ms: i64) -> Req {
        Req { id: format!("e2e{test:x}{n:08x}{:020x}", 0xfeed_u32), path: path.to_string(), at_ms }
    }

    /// Like a generated nginx line: `rt` 120 ms, of which 100 ms upstream.
    fn gateway_line(&self) -> String {
        let t = START_MS + self.at_ms;
        let secs = (t / 1000) % 60;
        let mins = (t / 60_000) % 60;
        format!(
            "203.0.113.9 - e2e-client [01/May/2024:12:{mins:02}:{secs:02} +0000] \"GET {} HTTP/1.1\" 200 512 \"-\" \
             \"curl/8.5.0\" rid={} rt=0.120 urt=\"0.100\" us=\"200\" ua=\"10.0.0.7:8080\"\n",
            self.path, self.id
        )
    }

    /// Like a generated JSON upstream line: the service logged 95 ms.
    fn upstream_line(&self) -> String {
        format!(
            "{{\"level\":30,\"time\":{},\"pid\":1,\"hostname\":\"e2e-7d9f6b\",\"req\":{{\"id\":\"{}\",\"method\":\"GET\",\
             \"url\":\"{}\"}},\"res\":{{\"statusCode\":200}},\"responseTime\":95.0,\"msg\":\"request completed\"}}\n",
            START_MS + self.at_ms + 20,
            self.id,
            self.path
        )
    }
}

/// Generated logs in a temporary directory, and a console on them.
struct Logs {
    dir: tempfile::TempDir,
    gw: PathBuf,
    up: PathBuf,
}

impl Logs {
    /// 200 requests over 4 s of log time (12:00:00 to 12:00:03), upstream records sharing the ids.
    fn generate() -> Logs {
        let dir = tempfile::tempdir().unwrap();
        let (gw, up) = (dir.path().join("GW.log"), dir.path().join("UP.log"));
        let out = Command::new(bin())
            .args(["generate", "--format", "nginx", "--requests", "200", "--rate", "50", "--seed", "3"])
            .arg("--gateway-out")
            .arg(&gw)
            .arg("--upstream-out")
            .arg(&up)
            .output()
            .unwrap();
        assert!(out.status.success(), "generate: {}", String::from_utf8_lossy(&out.stderr));
        Logs { dir, gw, up }
    }

    /// The request ids of the gateway log, in line order (`rid=<id>`).
    fn gateway_ids(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.gw).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| l.split(" rid=").nth(1).and_then(|r| r.split(' ').next()).expect("rid=").to_string())
            .collect();
        assert!(ids.len() >= 200 && ids.iter().all(|i| i.len() == 32), "32-hex ids: {:?}", &ids[..3]);
        ids
    }

    fn console_cmd(&self) -> String {
        format!(
            "{} --gateway {} --upstream {}",
            quote(bin()),
            quote(&self.gw.to_string_lossy()),
            quote(&self.up.to_string_lossy())
        )
    }

    fn append(path: &Path, text: &str) {
        let mut f = OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f.flush().unwrap();
    }

    /// Append these requests to both logs (each file in one write, gateway first).
    fn append_requests(&self, reqs: &[Req]) {
        Logs::append(&self.gw, &reqs.iter().map(Req::gateway_line).collect::<String>());
        Logs::append(&self.up, &reqs.iter().map(Req::upstream_line).collect::<String>());
    }

    /// The console in a `w`×`h` tmux, waited for until both panes show their files and follow them.
    fn open(&self, test: &str, w: u16, h: u16) -> Tmux {
        let t = Tmux::start(test, w, h, self.dir.path(), &self.console_cmd());
        t.wait("both panes loaded and following", |s| {
            s.has("gw GW.log") && s.has("up UP.log") && s.text().matches("● live").count() == 2 && s.has("394 lines")
        });
        t
    }
}

/// Both panes side by side; appended lines appear while following; moving the cursor selects a request, shows
/// its whole id in the status bar and moves the upstream pane to the same request, also to a part of the log
/// that was not on screen.
#[test]
fn side_by_side_follow_and_correlate() {
    let logs = Logs::generate();
    let ids = logs.gateway_ids();
    let t = logs.open("correlate", 200, 50);
    let before = t.expect("the side-by-side layout", |s| {
        check!(s.lines.len() == 50, "{} rows", s.lines.len());
        check!(s.lines[0].contains("2xx") && s.lines[0].contains("5xx"), "no status strip on row 0");
        check!(s.left_title().starts_with("┌ gw GW.log"), "the gateway pane is not on the left");
        check!(columns(&s.lines[1], HALF, 200).starts_with("┌ up UP.log"), "the upstream pane is not on the right");
        check!(s.lines[2..48].iter().all(|l| columns(l, 99, 101) == "││"), "the panes do not meet at column 100");
        check!(s.selected_id().is_none(), "an id is selected before any key");
        Ok(())
    });
    assert!(!before.has("e2e-live"), "no marker before it is written:\n{}", before.text());

    let live: Vec<Req> =
        (1..=3).map(|n| Req::new(1, n, &format!("/v1/e2e-live-{n}"), 4_000 + 100 * n as i64)).collect();
    logs.append_requests(&live);
    t.expect("the appended lines in both panes, following", |s| {
        let (l, r) = (s.left(), s.right());
        for n in 1..=3 {
            let marker = format!("/v1/e2e-live-{n} ");
            check!(l.contains(&marker) && r.contains(&marker), "{marker} is not in both halves");
        }
        check!(s.status_bar().contains("FOLLOW  400 lines"), "the status bar does not count 400 lines, following");
        Ok(())
    });

    // three up from the bottom (live-3): the last generated request
    t.keys(&["k", "k", "k"]);
    let last = &ids[199];
    t.expect("the last generated request selected in both panes", |s| {
        check!(s.selected_id().as_deref() == Some(last.as_str()), "the status bar does not show id {last}");
        let short = format!("id={}…", &last[..12]);
        check!(s.left().contains(&short), "{short} is not in the gateway pane");
        check!(s.right().contains(&short), "{short} is not in the upstream pane");
        check!(s.left_title().contains("PAUSED"), "moving up did not pause the gateway pane");
        Ok(())
    });

    // the first two requests: far above both panes' views, so the upstream pane has to scroll to show them
    let before = t.screen();
    for id in &ids[..2] {
        assert!(!before.has(&id[..12]), "{id} is on screen before g:\n{}", before.text());
    }
    for (key, id) in [("g", &ids[0]), ("j", &ids[1])] {
        t.keys(&[key]);
        t.expect(&format!("after {key}, request {id} in both panes"), |s| {
            check!(s.selected_id().as_deref() == Some(id.as_str()), "the status bar does not show id {id}");
            let short = format!("id={}…", &id[..12]);
            check!(s.left().contains(&short), "{short} is not in the gateway pane");
            check!(s.right().contains(&short), "the upstream pane did not move to {short}");
            check!(!s.has("e2e-live"), "a pane still shows the bottom");
            Ok(())
        });
    }

    // back to the bottom, then a live request selected by its known id
    t.keys(&["G", "k"]);
    t.expect("live-2 selected in both panes", |s| {
        check!(s.selected_id().as_deref() == Some(live[1].id.as_str()), "the status bar does not show live-2's id");
        let short = format!("id={}…", &live[1].id[..12]);
        check!(s.left().contains(&short) && s.right().contains(&short), "{short} is not in both panes");
        Ok(())
    });
}

/// Moving up pauses the gateway pane: appended lines are counted in its title (`PAUSED +N`) but not shown; `G`
/// follows again and shows them.
#[test]
fn pause_and_resume_following() {
    let logs = Logs::generate();
    let t = logs.open("pause", 200, 50);
    t.keys(&["k"]);
    t.expect("the gateway pane paused", |s| {
        check!(s.left_title().contains(" PAUSED "), "no PAUSED in the gateway title");
        check!(s.status_bar().starts_with(" PAUSED "), "no PAUSED in the status bar");
        Ok(())
    });

    let reqs: Vec<Req> =
        (1..=2).map(|n| Req::new(2, n, &format!("/v1/e2e-paused-{n}"), 5_000 + 100 * n as i64)).collect();
    logs.append_requests(&reqs);
    // the count proves the console read them: only then does "not shown" mean something
    t.expect("new lines counted but not shown while paused", |s| {
        check!(s.left_title().contains(" PAUSED +2 "), "no PAUSED +2 in the gateway title");
        check!(s.status_bar().contains(" 398 lines "), "the status bar does not count 398 lines");
        check!(!s.left().contains("/v1/e2e-paused-"), "the paused gateway pane scrolled to the new lines");
        Ok(())
    });

    t.keys(&["G"]);
    t.expect("the new lines shown after G", |s| {
        let l = s.left();
        check!(l.contains("/v1/e2e-paused-1 ") && l.contains("/v1/e2e-paused-2 "), "the new lines are not shown");
        check!(s.left_title().contains("● live") && !s.left_title().contains("PAUSED"), "the title is not live");
        check!(s.status_bar().starts_with(" FOLLOW "), "the status bar does not say FOLLOW");
        Ok(())
    });

    // and it keeps following
    logs.append_requests(&[Req::new(2, 3, "/v1/e2e-paused-3", 6_000)]);
    t.wait("a later line while following", |s| s.left().contains("/v1/e2e-paused-3 "));
}

/// `t` on a request the test wrote: a box with both records in time order and the latency breakdown computed
/// from the logged times; Esc closes it.
#[test]
fn trace_view_of_a_live_request() {
    let logs = Logs::generate();
    let t = logs.open("trace", 200, 50);
    let req = Req::new(3, 1, "/v1/e2e-trace-1", 4_500);
    logs.append_requests(std::slice::from_ref(&req));
    t.wait("the traced request in both panes", |s| {
        s.left().contains("/v1/e2e-trace-1 ") && s.right().contains("/v1/e2e-trace-1 ")
    });
    // select it: up one, down one
    t.keys(&["k", "j"]);
    t.wait("the request selected", |s| s.selected_id().as_deref() == Some(req.id.as_str()));

    t.keys(&["t"]);
    t.expect("the trace box", |s| {
        let title = format!("┌ trace · {} · Esc closes ─", req.id);
        let Some(top) = s.lines.iter().position(|l| l.contains(&title)) else { return Err(format!("no {title}")) };
        let bottom = s.lines.iter().rposition(|l| l.contains('└')).unwrap_or(0);
        check!(bottom > top + 5, "no box under the title");
        check!(s.has("2 record(s) in time order, from 2 source(s)"), "not 2 records from 2 sources");
        let hop = |name: &str| s.lines.iter().any(|l| l.contains(name) && l.contains("/v1/e2e-trace-1 "));
        check!(hop("gateway  GW.log:201"), "no gateway record at GW.log:201");
        check!(hop("upstream UP.log:195"), "no upstream record at UP.log:195");
        check!(
            s.has("latency: gateway 120 ms  = upstream 100 ms + gateway overhead 20 ms;  service logged 95 ms"),
            "not the breakdown of rt=0.120 urt=0.100 responseTime=95"
        );
        Ok(())
    });

    t.keys(&["Escape"]);
    t.expect("the trace box closed", |s| {
        check!(!s.has("record(s) in time order") && !s.has("┌ trace · "), "the trace box is still there");
        check!(s.left_title().starts_with("┌ gw GW.log"), "the gateway pane title is not back");
        Ok(())
    });
}

/// Every row 80 columns wide, pane rows framed by borders at columns 0 and 79: nothing garbled.
fn framed_80(s: &Screen) -> Result<(), String> {
    check!(s.lines.len() == 24, "{} rows, not 24", s.lines.len());
    for (i, l) in s.lines.iter().enumerate() {
        let w: usize = l.chars().map(|c| c.width().unwrap_or(0)).sum();
        check!(w <= 80, "row {i} is {w} columns wide");
    }
    for (i, l) in s.lines.iter().enumerate().take(23).skip(1) {
        let (first, last) = (columns(l, 0, 1), columns(l, 79, 80));
        check!(["┌", "│", "└"].contains(&first.as_str()), "row {i} does not start with a border: {first:?}");
        check!(["┐", "│", "┘"].contains(&last.as_str()), "row {i} does not end with a border at column 79: {last:?}");
    }
    Ok(())
}

/// 80×24: the panes stack, nothing is garbled, `?` shows the key table, any key closes it, `q` ends the process.
#[test]
fn narrow_terminal_help_and_quit() {
    let logs = Logs::generate();
    let t = logs.open("narrow", 80, 24);
    t.expect("the stacked layout", |s| {
        framed_80(s)?;
        check!(s.lines[0].contains("2xx") && s.lines[0].contains("5xx"), "no status strip on row 0");
        check!(s.status_bar().starts_with(" FOLLOW "), "the status bar does not say FOLLOW");
        check!(s.status_bar().ends_with("? help  c charts  q quit"), "no short key hints at the end of the status bar");
        let row_of = |title: &str| s.lines.iter().position(|l| l.starts_with(&format!("┌ {title}")));
        let (gw, up) = (row_of("gw GW.log"), row_of("up UP.log"));
        check!(gw == Some(1), "the gateway pane is not on top (title row {gw:?})");
        check!(up.is_some_and(|u| u > 4 && u < 20), "the upstream pane is not below it (title row {up:?})");
        Ok(())
    });

    t.keys(&["?"]);
    t.expect("the help overlay", |s| {
        framed_80(s)?;
        check!(s.has("keys · ↑↓ PgUp PgDn scroll · any other key closes"), "no help title");
        check!(!s.has("mouse: click"), "80x24 shows the whole help at once?");
        for (keys, what) in
            [("q / Ctrl-c", "quit"), ("j / ↓", "move down"), ("k / ↑", "move up"), ("g / Home", "go to the first line")]
        {
            check!(
                s.lines.iter().any(|l| l.contains(&format!("{keys}  {what}"))),
                "help does not list {keys:?} {what:?}"
            );
        }
        Ok(())
    });

    // it scrolls to its end, which is where it stops
    t.keys(&["PPage", "NPage", "NPage", "NPage", "NPage", "NPage", "NPage", "NPage", "NPage", "NPage"]);
    t.expect("the help scrolled to its end", |s| {
        framed_80(s)?;
        check!(s.has("mouse: click selects a line"), "the help's last line is not shown");
        check!(s.has("paste or type a token to inspect"), "the token pane's keys are not listed");
        Ok(())
    });
    t.keys(&["PPage"]);
    t.expect("a page up shows the replay prompt's key", |s| {
        check!(s.has("yes, send it"), "the replay prompt's key is not listed");
        Ok(())
    });
    t.keys(&["x"]);
    t.expect("the help closed by any other key", |s| {
        check!(!s.has("any other key closes"), "the help is still there");
        framed_80(s)?;
        check!(s.has("┌ gw GW.log"), "the gateway pane is not back");
        Ok(())
    });
    assert_eq!(t.format("#{pane_dead}"), "0", "still running");

    t.keys(&["q"]);
    t.wait_format("#{pane_dead}", "1");
    // tmux 3.3 does not always learn the status of a pane that died with remain-on-exit: check it when it does
    // (the exit status is checked for sure in quit_restores_the_terminal)
    let status = t.format("#{pane_dead_status}");
    assert!(status.is_empty() || status == "0", "exit status {status}");
}

/// After `q` the terminal is as the shell left it: main screen (the console's frame gone), cooked mode, mouse
/// reporting off, cursor shown; the shell's next output starts at the beginning of a line.
#[test]
fn quit_restores_the_terminal() {
    let logs = Logs::generate();
    let cmd = then_tty_state(&logs.console_cmd());
    let t = Tmux::start("restore", 100, 30, logs.dir.path(), &cmd);
    t.wait("the console", |s| s.text().matches("● live").count() == 2);
    // while it runs: the alternate screen, mouse reporting and no cursor, as the checks below can tell
    assert_eq!(t.format("#{alternate_on} #{mouse_any_flag} #{cursor_flag}"), "1 1 0");

    t.keys(&["q"]);
    let s = t.expect("the shell after the console", |s| {
        check!(s.lines.iter().any(|l| l == "CONSOLE-EXITED rc=0"), "no line `CONSOLE-EXITED rc=0`");
        check!(s.lines.iter().any(|l| l == "TTY-COOKED"), "no line `TTY-COOKED`");
        Ok(())
    });
    assert!(!s.has("● live") && !s.has("? help") && !s.has("GW.log"), "the console's frame is gone:\n{}", s.text());
    // the shell still runs (sleep): a dead pane would hide the cursor itself
    assert_eq!(t.format("#{pane_dead}"), "0");
    assert_eq!(t.format("#{alternate_on}"), "0", "left the alternate screen");
    assert_eq!(t.format("#{mouse_any_flag}"), "0", "mouse reporting off");
    assert_eq!(t.format("#{cursor_flag}"), "1", "cursor shown");
}

/// `console`, then a line with its exit code and one saying whether the tty is cooked again; the shell stays.
fn then_tty_state(console: &str) -> String {
    format!(
        "{console}; echo \"CONSOLE-EXITED rc=$?\"; if stty -a | grep -q -- '-icanon'; then echo TTY-RAW; else echo TTY-COOKED; fi; sleep 60"
    )
}

/// A signal (the SSH session dropping sends SIGHUP; `kill` sends SIGTERM) ends the console and restores the tty.
fn signal_restores_the_terminal(name: &str, signal: &str) {
    let logs = Logs::generate();
    let pid_file = logs.dir.path().join("console.pid");
    let cmd = format!(
        "{} < /dev/tty & echo $! > {}; wait $!; echo \"CONSOLE-EXITED rc=$?\"; if stty -a | grep -q -- '-icanon'; then echo TTY-RAW; else echo TTY-COOKED; fi; sleep 60",
        logs.console_cmd(),
        pid_file.display()
    );
    let t = Tmux::start(name, 100, 30, logs.dir.path(), &cmd);
    t.wait("the console", |s| s.text().matches("● live").count() == 2);
    assert_eq!(t.format("#{alternate_on} #{mouse_any_flag}"), "1 1");
    let pid = std::fs::read_to_string(&pid_file).expect("the shell wrote the console's pid");
    let killed = std::process::Command::new("kill").args([&format!("-{signal}"), pid.trim()]).status().unwrap();
    assert!(killed.success());
    t.expect("the shell after the console", |s| {
        check!(s.lines.iter().any(|l| l == "CONSOLE-EXITED rc=0"), "no line `CONSOLE-EXITED rc=0`");
        check!(s.lines.iter().any(|l| l == "TTY-COOKED"), "no line `TTY-COOKED`");
        Ok(())
    });
    assert_eq!(t.format("#{alternate_on} #{mouse_any_flag} #{cursor_flag}"), "0 0 1", "screen, mouse and cursor back");
}

/// A panic (a test-only switch makes one) gives the terminal back too: screen, mouse, cursor and a cooked tty, and
/// the panic message on the restored screen.
#[test]
fn a_panic_restores_the_terminal() {
    let logs = Logs::generate();
    let cmd = then_tty_state(&format!("RUST_BACKTRACE=0 GATEWATCH_TEST_PANIC_AFTER_MS=1500 {}", logs.console_cmd()));
    let t = Tmux::start("panic", 100, 30, logs.dir.path(), &cmd);
    t.wait("the console", |s| s.text().matches("● live").count() == 2);
    let s = t.expect("the shell after the panic", |s| {
        check!(
            s.lines.iter().any(|l| l.starts_with("CONSOLE-EXITED rc=") && l != "CONSOLE-EXITED rc=0"),
            "no failing exit"
        );
        check!(s.lines.iter().any(|l| l == "TTY-COOKED"), "no line `TTY-COOKED`");
        Ok(())
    });
    assert!(s.has("the test panic"), "the panic message is shown on the restored screen:\n{}", s.text());
    assert_eq!(t.format("#{alternate_on} #{mouse_any_flag} #{cursor_flag}"), "0 0 1", "screen, mouse and cursor back");
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_restores_the_terminal("sigterm", "TERM");
}

#[test]
fn sighup_restores_the_terminal() {
    signal_restores_the_terminal("sighup", "HUP");
}

/// A `--cmd` source that exits: its pane's bottom border says so and offers the restart key, the status bar too;
/// the key runs the command again, and the new run's lines follow the first run's in the same pane.
#[test]
fn an_exited_command_runs_again_on_the_restart_key() {
    let dir = tempfile::tempdir().unwrap();
    // each run counts itself in `runs` (in the session's directory) and prints two lines naming the run
    let script = r#"n=$(cat runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > runs; echo "cmd-run-$n first"; echo "cmd-run-$n second"; exit 3"#;
    let t = Tmux::start("restart", 120, 30, dir.path(), &format!("{} --cmd {}", quote(bin()), quote(script)));
    let bottom = |s: &Screen| s.lines.iter().rev().find(|l| l.starts_with('└')).cloned().unwrap_or_default();
    t.expect("the first run, ended", |s| {
        check!(s.has("cmd-run-1 first") && s.has("cmd-run-1 second"), "the first run's lines are not shown");
        let b = bottom(s);
        check!(b.contains("exited 3") && b.contains(" R  runs it again"), "the border does not offer the key: {b}");
        check!(s.status_bar().contains("R restart"), "the status bar does not offer the key");
        Ok(())
    });
    assert!(!t.screen().has("cmd-run-2"), "not run again before the key");
    t.keys(&["R"]);
    t.expect("the second run", |s| {
        check!(s.has("cmd-run-2 first") && s.has("cmd-run-2 second"), "the second run's lines are not shown");
        check!(s.has("cmd-run-1 first"), "the first run's lines are gone");
        check!(s.status_bar().contains(" 4 lines "), "not 4 lines in all: {}", s.status_bar());
        check!(bottom(s).contains("exited 3"), "the second exit is not on the border");
        Ok(())
    });
    assert_eq!(std::fs::read_to_string(dir.path().join("runs")).unwrap().trim(), "2", "run exactly twice");
    assert_eq!(t.format("#{pane_dead}"), "0", "the console still runs");
}

/// The outage whose traffic dies away: the banner keeps the error alert, at low volume, beside the traffic drop.
#[test]
fn the_banner_keeps_an_outage_whose_traffic_died_away() {
    let dir = tempfile::tempdir().unwrap();
    let gw = generated(dir.path(), "gw.log", &["generate", "--scenario", "outage-trickle", "--rate", "50"]);
    let cmd = format!("{} {}", quote(bin()), quote(&gw.to_string_lossy()));
    let t = Tmux::start("trickle", 200, 30, dir.path(), &cmd);
    t.expect("both alerts in the banner", |s| {
        let bar = s.status_bar();
        check!(bar.contains("▲ 5xx > 5% over 1m since 12:02:04 (100.0%, low volume)"), "no held 5xx alert: {bar}");
        check!(bar.contains("▲ requests < 10% of previous 15m since 12:04:"), "no traffic drop alert: {bar}");
        check!(bar.contains("% of before)"), "the drop does not say by how much: {bar}");
        Ok(())
    });
}

/// A live log that stops: after the configured silence the banner says how long it has been quiet, and the
/// alert goes once lines come again.
#[test]
fn a_busy_live_log_that_stops_raises_the_silence_alert() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config/gatewatch");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "[[alert]]\nrule = \"silence > 3s\"\n").unwrap();
    let log = dir.path().join("live.log");
    let write_now = |n: usize| {
        let stamp = jiff::Timestamp::now().strftime("%d/%b/%Y:%H:%M:%S +0000").to_string();
        let mut f = OpenOptions::new().create(true).append(true).open(&log).unwrap();
        for i in 0..n {
            writeln!(f, r#"10.0.0.1 - - [{stamp}] "GET /v1/orders/{i} HTTP/1.1" 200 12 "-" "curl/8""#).unwrap();
        }
    };
    write_now(30);
    let cmd = format!("{} {}", quote(bin()), quote(&log.to_string_lossy()));
    let t = Tmux::start("silence", 160, 24, dir.path(), &cmd);
    t.wait("the lines", |s| s.status_bar().contains(" 30 lines "));
    assert!(!t.screen().status_bar().contains("silence"), "not yet");
    let s = t.wait("the silence alert", |s| s.status_bar().contains("▲ silence > 3s since"));
    assert!(s.status_bar().contains("(quiet "), "{}", s.status_bar());
    write_now(30);
    t.wait("the alert gone once lines come again", |s| {
        s.status_bar().contains(" 60 lines ") && !s.status_bar().contains("silence")
    });
}

/// `gatewatch generate ARGS --gateway-out DIR/NAME`: the log's path.
fn generated(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let out = Command::new(bin()).args(args).arg("--gateway-out").arg(&path).output().unwrap();
    assert!(out.status.success(), "generate: {}", String::from_utf8_lossy(&out.stderr));
    path
}

/// A stand-in `ssh` on PATH that runs the remote command here, with `/HOST/` in it replaced by the host's name:
/// each host of `ssh://gw1,gw2/…/HOST/access.log` has its own log.
fn fake_ssh_per_host(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = "#!/bin/sh\nwhile [ \"$1\" != \"--\" ]; do host=$1; shift; done\nshift\n\
                  exec sh -c \"$(printf '%s' \"$*\" | sed \"s#/HOST/#/$host/#g\")\"\n";
    std::fs::write(bin.join("ssh"), script).unwrap();
    Command::new("chmod").arg("+x").arg(bin.join("ssh")).status().unwrap();
    format!("PATH={}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

/// "Is it one bad gateway node?": over `ssh://gw1,gw2/…`, gw2 answers every request with 502 while gw1 is
/// healthy. `node=gw2` filters `tail` and the console to it, and the diagnosis names the node.
#[test]
fn one_bad_node_is_filterable_and_named_by_the_diagnosis() {
    let dir = tempfile::tempdir().unwrap();
    let path = fake_ssh_per_host(dir.path());
    for (host, status) in [("gw1", 200), ("gw2", 502)] {
        std::fs::create_dir_all(dir.path().join(host)).unwrap();
        let lines: Vec<String> = (0..40)
            .map(|i| format!(r#"10.0.0.{i} - - [01/May/2024:12:00:{i:02} +0000] "GET /v1/orders/{i} HTTP/1.1" {status} 12 "-" "curl/8""#))
            .collect();
        std::fs::write(dir.path().join(host).join("access.log"), lines.join("\n") + "\n").unwrap();
    }
    let url = format!("ssh://gw1,gw2{}/HOST/access.log", dir.path().display());
    // tail: only gw2's records pass
    let tail = format!("{path} timeout 3 {} tail --json --tail 100 --filter node=gw2 {}", quote(bin()), quote(&url));
    let out = Command::new("sh").arg("-c").arg(&tail).output().unwrap();
    let recs: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(recs.len(), 40, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(recs.iter().all(|r| r["source"] == "gw2" && r["status"] == 502), "{recs:?}");
    // the console: the same filter, then `d` on a 502
    let t = Tmux::start("node", 200, 40, dir.path(), &format!("{path} {} {}", quote(bin()), quote(&url)));
    t.wait("both hosts' lines", |s| s.status_bar().contains(" 80 lines "));
    t.keys(&["f"]);
    t.keys(&["node=gw2", "Enter"]);
    t.wait("the filter", |s| s.status_bar().contains("filter: node=gw2 · 40 of 80 lines"));
    t.keys(&["d"]);
    // the whole overlay, not a frame caught half drawn
    t.wait("the diagnosis", |s| s.has("diagnosis") && s.has("100% of 502s from node gw2 (40 of 40)"));
}

/// "What changed?" in the console: `d` on a source's row ranks the incident's 502s and 504s above the 404s that
/// were there all along.
#[test]
fn d_on_a_source_ranks_what_changed_first() {
    let dir = tempfile::tempdir().unwrap();
    let gw = generated(dir.path(), "gw.log", &["generate", "--incident", "--rate", "50", "--requests", "30000"]);
    // tall enough for the overlay to show four families with their evidence
    let t = Tmux::start("changed", 200, 90, dir.path(), &format!("{} {}", quote(bin()), quote(&gw.to_string_lossy())));
    t.wait("the lines", |s| s.status_bar().contains(" 30,000 lines "));
    t.keys(&["c"]);
    t.wait("the charts", |s| s.has("charts ·"));
    // the whole span, by source
    // codes → routes → upstreams → hosts → nodes → clients → user agents → consumers → sources
    t.keys(&["c", "]", "]", "]"]);
    t.keys(&["b"; 8]);
    t.wait("the sources list", |s| s.has("sources · ") && s.has(" in window") && s.has("window all"));
    t.keys(&["d"]);
    // the whole overlay, not a frame caught half drawn: down to the 504s and a family that was always there
    let s = t.wait("the diagnosis", |s| {
        s.has("what changed first") && s.has("│504 ×") && s.has("steady since 12:00:00, not new")
    });
    let at = |code: &str| s.lines.iter().position(|l| l.contains(&format!("│{code} ×"))).unwrap_or(usize::MAX);
    // 404 comes last: below the overlay's fold, or under both
    assert!(at("502") < at("404") && at("504") < at("404") && at("504") < usize::MAX, "{}", s.text());
    assert!(s.has("steady since 12:00:00, not new"), "{}", s.text());
}

/// A latency-only incident in the console: the upstreams list gives each one's p99, and `d` on the slow one says
/// it is slow against its peers, with no error to diagnose.
#[test]
fn d_on_a_slow_upstream_names_it_with_its_p99() {
    let dir = tempfile::tempdir().unwrap();
    let gw = generated(
        dir.path(),
        "slow.log",
        &["generate", "--scenario", "slow-upstream", "--rate", "50", "--requests", "30000"],
    );
    let t = Tmux::start("slow", 200, 50, dir.path(), &format!("{} {}", quote(bin()), quote(&gw.to_string_lossy())));
    t.wait("the lines", |s| s.status_bar().contains(" 30,000 lines "));
    t.keys(&["c"]);
    t.wait("the charts", |s| s.has("charts ·"));
    t.keys(&["c", "b", "b"]);
    let listed = |s: &Screen| s.lines.iter().any(|l| l.contains("10.0.0.8:8080") && l.contains('%'));
    // indexed to the end: the rows keep their order from here on
    let s = t.wait("the upstreams list", |s| s.has("upstreams · ") && s.has(" in window") && listed(s));
    // the list's row (the log panes show the address too, without a share)
    let row = s.lines.iter().find(|l| l.contains("10.0.0.8:8080") && l.contains('%')).unwrap();
    assert!(row.trim_end().trim_end_matches('│').trim_end().ends_with('s'), "its p99 is in seconds: {row}");
    // the selection starts on the first row: down to the slow one
    let rows: Vec<&String> = s.lines.iter().filter(|l| l.contains(":8080 ") && l.contains('%')).collect();
    let at = rows.iter().position(|l| l.contains("10.0.0.8:8080")).unwrap();
    for i in 0..at {
        t.keys(&["Down"]);
        let next = rows[i + 1].split(' ').find(|w| w.ends_with(":8080")).unwrap().to_string();
        t.wait("the next row selected", |s| s.has(&format!("▶ {next}")));
    }
    t.wait("the slow upstream selected", |s| s.has("▶ 10.0.0.8:8080"));
    t.keys(&["d"]);
    t.wait("the diagnosis", |s| s.has("Latency: slow upstream 10.0.0.8:8080: p99 2.") && s.has("the others "));
}

/// A source far faster than the console draws: frames are skipped, never lines, and the status bar says so while
/// it catches up.
#[test]
fn a_source_faster_than_frames_drops_frames_not_lines_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let line = r#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /v1/orders/1 HTTP/1.1" 200 12 "-" "curl/8""#;
    let script = dir.path().join("fast.sh");
    std::fs::write(&script, format!("yes {} | head -n 400000\n", quote(line))).unwrap();
    let cmd = format!("{} --cmd {}", quote(bin()), quote(&format!("sh {}", script.display())));
    let t = Tmux::start("fast", 120, 30, dir.path(), &cmd);
    let s = t.wait("the console catching up", |s| s.status_bar().contains("catching up"));
    assert!(s.status_bar().contains("lines a frame, none dropped"), "{}", s.status_bar());
    t.expect("every line, and caught up", |s| {
        check!(s.status_bar().contains(" 400,000 lines "), "not every line: {}", s.status_bar());
        check!(!s.status_bar().contains("catching up"), "still catching up: {}", s.status_bar());
        Ok(())
    });
}

/// Replay straight to the upstream from the pane: on a logged 502, `u` sends the request to the upstream address
/// the record logged over TLS (the CA from the config), keeping the logged Host as the name; `b` sends it through
/// the gateway too and shows the two beside each other.
#[test]
fn replay_pane_sends_straight_to_the_logged_upstream_over_tls() {
    use common::server::{Reply, Server};
    use common::tls::{Pki, TlsServer};
    let pki = Pki::new(&["api.internal"]);
    let upstream = TlsServer::start(&pki, "api.internal", false, 200);
    let gateway = Server::always(Reply::json(502, r#"{"error":"bad gateway"}"#));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gw.log");
    std::fs::write(
        &log,
        format!(
            "203.0.113.5 - - [01/May/2024:12:00:00 +0000] \"GET /v1/orders/42 HTTP/1.1\" 502 0 \"-\" \"probe/1\" \
             rid={} rt=0.020 urt=\"0.020\" us=\"502\" ua=\"127.0.0.1:{}\" host=api.internal\n",
            "6".repeat(32),
            upstream.port()
        ),
    )
    .unwrap();
    let config = common::tls::write(dir.path(), "config.toml", &format!("[replay]\ncacert = {:?}\n", pki.ca()));
    let cmd = format!(
        "{} --replay-base {} --config {} {}",
        quote(bin()),
        quote(&gateway.base()),
        quote(&config.to_string_lossy()),
        quote(&log.to_string_lossy())
    );
    let t = Tmux::start("upstream", 200, 50, dir.path(), &cmd);
    t.wait("the log", |s| s.has("/v1/orders/42"));
    t.keys(&["e"]);
    t.expect("the replay pane", |s| {
        check!(s.has("502 Bad Gateway"), "the logged status is not shown");
        Ok(())
    });
    // Esc alone, and seen done, before `u`: ESC and a key read together are Alt and that key
    t.keys(&["Escape"]);
    t.expect("the editor left: the pane's own keys in its hints", |s| {
        check!(s.has("u to upstream · b both"), "still editing");
        Ok(())
    });
    t.keys(&["u"]);
    t.expect("the question before going around the gateway", |s| {
        check!(s.has(&format!("straight to the upstream 127.0.0.1:{}", upstream.port())), "no question");
        Ok(())
    });
    t.keys(&["y"]);
    t.expect("the upstream's answer beside the logged 502", |s| {
        let row =
            s.lines.iter().find(|l| l.contains(&format!("upstream 127.0.0.1:{} HTTP/1.1 200 OK", upstream.port())));
        check!(row.is_some(), "no upstream status");
        check!(row.unwrap().contains("logged gw.log:1"), "the logged side is not beside it");
        check!(s.has("changed") && s.has("\"served_by\": \"tls\""), "no verdict or body");
        Ok(())
    });
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].sni.as_deref(), seen[0].host.as_deref()), (Some("api.internal"), Some("api.internal")));
    assert!(gateway.seen().is_empty(), "nothing went through the gateway");

    t.keys(&["b"]);
    t.expect("the question for both", |s| {
        check!(s.has("skipping the gateway"), "no question");
        Ok(())
    });
    t.keys(&["y"]);
    t.expect("the gateway and the upstream side by side", |s| {
        let status =
            s.lines.iter().find(|l| l.contains("status") && l.contains("502 Bad Gateway") && l.contains("200 OK"));
        check!(status.is_some(), "no status row with both");
        check!(s.has("differ") && s.has("status, body"), "the differences are not named");
        check!(s.has("sha256:"), "no body digests");
        Ok(())
    });
    // the gateway's 502 is retried as any replay's is; the upstream answered the first time
    assert!(!gateway.seen().is_empty());
    assert_eq!(upstream.seen().len(), 2);
}

/// Replay in a real terminal: the ▶ request is sent with `e` then Ctrl-s, its response shows beside the logged
/// status; a slow one leaves the console answering keys while it is in flight, and Esc cancels it.
#[test]
fn replay_sends_the_selected_request_and_esc_cancels_a_slow_one() {
    use common::server::{Reply, Server};
    let server = Server::start(|_, seen| {
        if seen.target.starts_with("/v1/slow") {
            Reply::json(200, "{}").after(Duration::from_secs(20))
        } else {
            Reply::json(200, r#"{"order":42,"state":"shipped"}"#)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gw.log");
    let line = |target: &str, rid: &str| {
        format!(
            "203.0.113.5 - - [01/May/2024:12:00:00 +0000] \"GET {target} HTTP/1.1\" 504 0 \"-\" \"probe/1\" rid={rid} \
             rt=1.000 urt=\"1.000\" us=\"504\" ua=\"10.0.0.8:8080\"\n"
        )
    };
    let rid_slow = "5".repeat(32);
    let rid = "4".repeat(32);
    std::fs::write(&log, line("/v1/slow/1", &rid_slow) + &line("/v1/orders/42?expand=items", &rid)).unwrap();
    let cmd = format!("{} --replay-base {} {}", quote(bin()), quote(&server.base()), quote(&log.to_string_lossy()));
    let t = Tmux::start("replay", 200, 50, dir.path(), &cmd);
    t.wait("the log", |s| s.has("/v1/orders/42"));
    t.keys(&["e"]);
    t.expect("the replay pane on the ▶ request", |s| {
        check!(s.has(&format!("GET {}/v1/orders/42?expand=items", server.base())), "the request is not in the editor");
        check!(s.has("504 Gateway Timeout"), "the logged status is not shown");
        Ok(())
    });
    t.keys(&["C-s"]);
    t.expect("the response beside the logged status", |s| {
        let row = s.lines.iter().find(|l| l.contains("replayed HTTP/1.1 200 OK"));
        check!(row.is_some(), "no response status");
        check!(row.unwrap().contains("logged gw.log:2"), "the logged side is not beside it");
        check!(s.has("changed") && s.has("\"state\": \"shipped\""), "no verdict or body");
        Ok(())
    });
    assert_eq!(server.seen()[0].target, "/v1/orders/42?expand=items");

    // y: the request as curl, on the clipboard through OSC 52 (tmux takes it as a paste buffer)
    t.run(&["set-option", "-g", "set-clipboard", "on"]);
    t.keys(&["y"]);
    t.expect("the curl command shown", |s| {
        check!(s.has("curl (copied)"), "no curl command in the pane");
        Ok(())
    });
    let start = Instant::now();
    let buffer = loop {
        let out = t.run(&["show-buffer"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.starts_with("curl ") || start.elapsed() > DEADLINE {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(buffer.contains(&format!("'{}/v1/orders/42?expand=items'", server.base())), "clipboard: {buffer:?}");

    // the slow one: in flight, the console still answers keys; Esc cancels it
    // Esc alone first: ESC and a key read together are Alt and that key
    t.keys(&["Escape"]);
    t.expect("the first replay closed", |s| {
        check!(!s.has("replay →"), "the replay pane is still open");
        Ok(())
    });
    t.keys(&["k", "e", "C-s"]);
    t.expect("the slow request in flight", |s| {
        check!(s.has("sending…") && s.has("Esc cancels"), "no spinner");
        Ok(())
    });
    t.keys(&["BTab", "j"]);
    t.expect("the selection moved while the request is in flight", |s| {
        let selected = s.lines.iter().find(|l| l.contains('▶')).cloned().unwrap_or_default();
        check!(selected.contains("/v1/orders/42"), "▶ is not on the second line: {selected}");
        check!(s.has("sending…"), "the request is no longer in flight");
        Ok(())
    });
    t.keys(&["Tab", "Escape"]);
    t.expect("the request cancelled", |s| {
        check!(s.has("cancelled: the request in flight was aborted"), "not cancelled");
        check!(!s.has("sending…"), "still sending");
        Ok(())
    });
    assert!(server.seen().iter().any(|r| r.target == "/v1/slow/1"), "the slow request reached the server");
    t.keys(&["Escape"]);
    t.expect("the pane closed", |s| {
        check!(!s.has("replay →"), "the replay pane is still open");
        Ok(())
    });
    assert_eq!(t.format("#{pane_dead}"), "0", "the console still runs");
}

/// `J` in a real terminal: the token in the ▶ record's line, decoded and judged at the record's time.
#[test]
fn j_shows_the_token_verdict_of_the_selected_record() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let dir = tempfile::tempdir().unwrap();
    // the request at 2025-11-23T13:02:30Z; its token expired 40 s later
    let claims = serde_json::json!({"sub": "user-42", "exp": 1_763_902_990i64});
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k").unwrap())
        .unwrap();
    let log = dir.path().join("gw.log");
    std::fs::write(
        &log,
        format!(
            "203.0.113.5 - - [23/Nov/2025:13:02:30 +0000] \"GET /v1/orders?access_token={token} HTTP/1.1\" 401 17 \
             \"-\" \"curl/8\" rid=0123456789abcdef0123456789abcdef rt=0.002 urt=\"-\" us=\"-\" ua=\"-\"\n"
        ),
    )
    .unwrap();
    let config = dir.path().join("config").join("gatewatch");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("k.secret"), "k\n").unwrap();
    std::fs::write(config.join("config.toml"), format!("[token]\nsecret_file = {:?}\n", config.join("k.secret")))
        .unwrap();
    let t = Tmux::start("token", 160, 40, dir.path(), &format!("{} {}", quote(bin()), quote(&log.to_string_lossy())));
    t.wait("the log", |s| s.has("/v1/orders"));
    t.keys(&["J"]);
    t.expect("the token's verdict", |s| {
        check!(s.has("token in query access_token"), "the token is not found");
        check!(s.has("signature valid (HS256, secret)"), "the signature is not checked with the config's secret");
        check!(
            s.has("valid when the request was made at 2025-11-23T13:02:30Z; expired 40 s later"),
            "no verdict at the request's time"
        );
        Ok(())
    });
    t.keys(&["Escape"]);
    t.expect("the pane closed", |s| {
        check!(!s.has("tokens ·"), "the token pane is still open");
        Ok(())
    });
}

/// "Which node?" in the charts: over `ssh://gw1,gw2/…`, gw2 turns to 502s half way. The nodes breakdown lists
/// gw2 first with its errors per minute before → now; Enter filters to it; `B` on a moment sets the baseline.
#[test]
fn the_nodes_breakdown_puts_the_node_that_changed_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = fake_ssh_per_host(dir.path());
    for host in ["gw1", "gw2"] {
        std::fs::create_dir_all(dir.path().join(host)).unwrap();
        let lines: Vec<String> = (0..240)
            .map(|i| {
                let status = if host == "gw2" && i >= 120 { 502 } else { 200 };
                let (m, s) = (i / 2 / 60, i / 2 % 60);
                format!(r#"10.0.0.{} - - [01/May/2024:12:{m:02}:{s:02} +0000] "GET /v1/orders/{i} HTTP/1.1" {status} 12 "-" "curl/8""#, i % 9)
            })
            .collect();
        std::fs::write(dir.path().join(host).join("access.log"), lines.join("\n") + "\n").unwrap();
    }
    let url = format!("ssh://gw1,gw2{}/HOST/access.log", dir.path().display());
    let t = Tmux::start("nodes", 200, 50, dir.path(), &format!("{path} {} {}", quote(bin()), quote(&url)));
    t.wait("both hosts' lines", |s| s.status_bar().contains(" 480 lines "));
    // charts, then codes → routes → upstreams → hosts → nodes
    t.keys(&["c"]);
    t.wait("the charts", |s| s.has("charts ·"));
    t.keys(&["b", "b", "b", "b"]);
    let s = t.wait("the nodes", |s| s.has("nodes ·") && s.has("▶ gw2"));
    let row = s.text().lines().find(|l| l.contains("▶ gw2")).unwrap().to_string();
    // gw2's errors per minute: a few before (up to the alert, in 10-second buckets), 120 a minute since
    let change = row.split_whitespace().find(|w| w.contains('→')).unwrap_or_else(|| panic!("{row}"));
    let (before, now) = change.split_once('→').unwrap();
    let (before, now): (f64, f64) = (before.parse().unwrap(), now.parse().unwrap());
    assert!(before * 4.0 < now && (100.0..=125.0).contains(&now), "{row}");
    let gw1 = s.text().lines().find(|l| l.contains(" gw1 ") && l.contains('→')).unwrap().to_string();
    assert!(gw1.contains("0→0"), "gw1 had no errors before or since: {gw1}");
    // Enter: the log panes show gw2 only
    t.keys(&["Enter"]);
    t.wait("the filter", |s| s.status_bar().contains("filter: node=gw2"));
    // d on the row: gw2's own records, its 502s and where they came from
    t.keys(&["d"]);
    // waited for whole: a frame can be caught half drawn
    t.wait("the node's diagnosis", |s| s.has("diagnosis · node gw2") && s.has("502 ×120"));
    t.keys(&["Escape"]);
    t.wait("the overlay closed", |s| !s.has("diagnosis · node gw2"));
    // a moment a minute back picked (3-second columns), then B: the baseline ends there
    t.keys(&["Left"; 20]);
    t.keys(&["B"]);
    t.wait("the baseline", |s| s.has("what changed: everything before 12:0"));
    t.keys(&["B"]);
    t.wait("back to the default", |s| s.has("baseline: before the first alert"));
}

/// `d` on a latency alert: with the follow cursor on a healthy record while the p99 alert holds, `d` opens the
/// latency finding (the slow upstream, and that its time goes to connecting) instead of "not an error".
#[test]
fn d_on_a_latency_alert_opens_the_latency_finding() {
    let dir = tempfile::tempdir().unwrap();
    let gw = generated(
        dir.path(),
        "slow.log",
        &["generate", "--scenario", "slow-connect", "--rate", "50", "--requests", "30000"],
    );
    let t = Tmux::start("latency", 200, 50, dir.path(), &format!("{} {}", quote(bin()), quote(&gw.to_string_lossy())));
    t.wait("the lines and the alert", |s| s.status_bar().contains(" 30,000 lines ") && s.has("p99 > 2s"));
    t.keys(&["d"]);
    t.wait("the finding", |s| {
        s.has("latency since ")
            && s.has("Latency: slow upstream 10.0.0.8:8080: p99 2.")
            && s.has("the time goes to connecting")
    });
}

/// Access lines at 12:00:00 … 12:00:59, one a second, with the line of `extra` at its second among them.
fn access_minute(extra: &[(u32, &str)]) -> String {
    let mut text = String::new();
    for s in 0..60u32 {
        for (at, line) in extra {
            if *at == s {
                text += line;
                text.push('\n');
            }
        }
        let status = if s >= 35 { 502 } else { 200 };
        text += &format!(
            "10.0.0.{s} - - [01/May/2024:12:00:{s:02} +0000] \"GET /v1/orders/{s} HTTP/1.1\" {status} 12 \"-\" \"curl/8\" rt=0.0{s:02}\n"
        );
    }
    text
}

/// An nginx reload among the access lines (as `docker logs` interleaves nginx's error and access logs): the
/// charts mark it over its column with its label, and list it with its time, source and message.
#[test]
fn a_reload_in_the_log_is_marked_on_the_charts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mixed.log");
    std::fs::write(&log, access_minute(&[(30, "2024/05/01 12:00:30 [notice] 1#1: signal process started")])).unwrap();
    let cmd = format!("{} {}", quote(bin()), quote(&log.to_string_lossy()));
    let t = Tmux::start("reload-marker", 200, 50, dir.path(), &cmd);
    t.wait("the lines", |s| s.status_bar().contains(" 61 lines "));
    t.keys(&["c"]);
    let s = t.expect("the reload on the charts", |s| {
        check!(s.has("charts ·"), "no charts");
        check!(s.has("▼ reload"), "no label over the reload's column");
        check!(s.has("▼ 12:00:30 gateway reload (mixed.log: signal process started)"), "the reload is not listed");
        Ok(())
    });
    // the mark runs down its column, above the bars
    let lane = s.lines.iter().position(|l| l.contains("▼ reload")).unwrap();
    let col = s.lines[lane].chars().position(|c| c == '▼').unwrap();
    let below: String = s.lines[lane + 1..lane + 4].iter().filter_map(|l| l.chars().nth(col)).collect();
    assert!(below.contains('┊'), "no mark down the column under the label ({below:?}):\n{}", s.text());
}

/// `--markers` with a command: it runs, its lines are followed as they come, and each is marked (at its own
/// time) and listed as a change.
#[test]
fn a_marker_command_is_followed_and_its_lines_marked() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gw.log");
    std::fs::write(&log, access_minute(&[])).unwrap();
    // a second line a moment later: followed, not read once
    std::fs::write(
        dir.path().join("deploys.sh"),
        "echo '2024-05-01T12:00:20Z deploy orders-api v2.3.1'\nsleep 1\n\
         echo '2024-05-01T12:00:34Z rollout restart deployment/orders'\nsleep 30\n",
    )
    .unwrap();
    // `sh deploys.sh` names no file: it is a command
    let cmd = format!("{} --markers 'sh deploys.sh' {}", quote(bin()), quote(&log.to_string_lossy()));
    let t = Tmux::start("marker-cmd", 200, 50, dir.path(), &cmd);
    t.wait("the lines", |s| s.status_bar().contains(" 60 lines "));
    t.keys(&["c"]);
    let s = t.expect("both changes on the charts", |s| {
        check!(s.has("▼ change"), "no label over a change's column");
        check!(s.has("▼ 12:00:34 change (sh deploys.sh: rollout restart deployment/orders)"), "the later line");
        check!(s.has("▼ 12:00:20 change (sh deploys.sh: deploy orders-api v2.3.1)"), "the first line");
        Ok(())
    });
    assert!(!s.has("12:00:00 change"), "{}", s.text());
}

/// A log too long to read line by line before the first screen: its newest lines are on screen at once, its
/// history is indexed apart and put in front of them, lines appended meanwhile come after it, and the first line
/// of the file is where `g` goes, with its request selected.
#[test]
fn a_long_history_is_indexed_apart_and_put_in_front_of_the_newest_lines() {
    let dir = tempfile::tempdir().unwrap();
    // about 15 MB: more than the console reads before its first screen
    let gw = generated(dir.path(), "gw.log", &["generate", "--format", "nginx", "--requests", "60000"]);
    let text = std::fs::read_to_string(&gw).unwrap();
    assert!(text.len() > 12 << 20, "{} bytes", text.len());
    let rid = |l: &str| l.split(" rid=").nth(1).and_then(|r| r.split(' ').next()).expect("rid=").to_string();
    let (first, last) = (rid(text.lines().next().unwrap()), rid(text.lines().last().unwrap()));
    let lines = text.lines().count();
    let cmd = format!("{} --from-start {}", quote(bin()), quote(&gw.to_string_lossy()));
    let t = Tmux::start("history", 200, 50, dir.path(), &cmd);
    t.wait("the newest line", |s| s.has(&format!("id={}…", &last[..12])));
    // written while the history may still be indexed: it comes after every line of the file
    let mut f = OpenOptions::new().append(true).open(&gw).unwrap();
    writeln!(
        f,
        "203.0.113.9 - - [01/May/2024:12:40:00 +0000] \"GET /v1/e2e-after-history HTTP/1.1\" 200 5 \"-\" \"probe/1\" \
         rid={} rt=0.001",
        "a".repeat(32)
    )
    .unwrap();
    let total = format!("FOLLOW  {} lines", thousands(lines + 1));
    t.expect("every line of the file and the appended one", |s| {
        check!(s.status_bar().contains(&total), "the status bar does not say {total}");
        check!(!s.status_bar().contains("history"), "the history is still being indexed");
        check!(s.left().lines().rev().nth(2).is_some_and(|l| l.contains("e2e-after-history")), "not at the bottom");
        Ok(())
    });
    t.keys(&["g"]);
    t.expect("the file's first request selected", |s| {
        check!(s.selected_id().as_deref() == Some(first.as_str()), "the status bar does not show id {first}");
        Ok(())
    });
}

/// The clock time (`HH:MM:SS`) of a generated nginx line: `[01/May/2024:HH:MM:SS +0000]`.
fn clock(line: &str) -> String {
    line.split("2024:").nth(1).map(|t| t[..8].to_string()).expect("a time")
}

/// A generated nginx log from 12:00 to 14:30, in order, two requests a second: its path and text.
fn two_and_a_half_hours(dir: &Path) -> (PathBuf, String) {
    let gw = generated(dir, "gw.log", &["generate", "--format", "nginx", "--requests", "18000", "--rate", "2"]);
    let text = std::fs::read_to_string(&gw).unwrap();
    assert!(clock(text.lines().last().unwrap()).as_str() > "14:29:00");
    (gw, text)
}

/// `--until` ends the console's lines where the window ends: the lines after it in the file are not read, and
/// those the follower reads (the newest) are left out; the status line says until when.
#[test]
fn until_ends_the_loaded_lines_where_the_window_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, text) = two_and_a_half_hours(dir.path());
    let within = |from: &str, to: &str| text.lines().filter(|l| (from..to).contains(&clock(l).as_str())).count();
    let cmd = format!(
        "{} --since 2024-05-01T13:00:00Z --until 2024-05-01T13:30:00Z {}",
        quote(bin()),
        quote(&gw.to_string_lossy())
    );
    let t = Tmux::start("until", 200, 50, dir.path(), &cmd);
    // from two minutes early (lines logged out of order are looked for), to the window's end
    let loaded = format!("{} lines since 12:58:00 until 13:30:00", thousands(within("12:58:00", "13:30:00")));
    t.expect("the half hour, and nothing after it", |s| {
        check!(s.status_bar().contains(&loaded), "the status bar does not say {loaded}");
        check!(!s.status_bar().contains("history"), "the history is still being indexed");
        Ok(())
    });
    let s = t.screen();
    let rows = s.left();
    let last = rows.lines().rev().find(|l| l.starts_with('│') && l.contains(" 13:")).expect("a line of the window");
    assert!(last.contains("13:29:5"), "the last line shown is the window's last: {last}\n{}", s.text());
}

/// A Java service's log long enough to be indexed apart: its stack traces are folded under their records, the
/// record's row says so, and Enter's detail names the exception and its cause.
#[test]
fn stack_traces_fold_under_their_records_in_a_real_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let java = std::fs::read("tests/fixtures/multiline/java.log").unwrap();
    let log = dir.path().join("orders.log");
    std::fs::write(&log, java.repeat(8_000)).unwrap();
    assert!(std::fs::metadata(&log).unwrap().len() > 9 << 20, "more than the console reads before its first screen");
    let cmd = format!("{} --from-start {}", quote(bin()), quote(&log.to_string_lossy()));
    let t = Tmux::start("folding", 200, 50, dir.path(), &cmd);
    t.expect("the history indexed", |s| {
        check!(s.status_bar().contains("104,000 lines"), "the status bar does not count every line");
        check!(!s.status_bar().contains("history"), "the history is still being indexed");
        Ok(())
    });
    t.keys(&["g"]);
    let s = t.expect("the first records, the traces folded", |s| {
        check!(s.has("request failed id=1af7651916cd… ⋯ 7 more lines"), "no fold marker on the first 500");
        check!(s.has("⋯ 2 more lines"), "no fold marker on the second 500");
        check!(!s.has("at com.zaxxer"), "a trace's line shows as a row");
        Ok(())
    });
    assert!(s.text().matches("request completed").count() > 10, "rows are records:\n{}", s.text());
    t.keys(&["j", "Enter"]);
    t.expect("the detail of the first 500", |s| {
        check!(s.has("exception java.lang.IllegalStateException: Connection pool exhausted"), "no exception");
        check!(s.has("caused by java.sql.SQLTransientConnectionException: HikariPool-1"), "no cause");
        Ok(())
    });
}

/// A log on a slow disk (every read waits 40 ms, past the page cache): the newest lines show at once while the
/// history is indexed, keys answer meanwhile, and every line comes in whole and in order.
#[test]
fn a_log_on_a_slow_disk_shows_at_once_and_comes_in_whole() {
    let dir = tempfile::tempdir().unwrap();
    // about 15 MB: more than the console reads before its first screen
    let real = generated(dir.path(), "real.log", &["generate", "--format", "nginx", "--requests", "60000"]);
    let text = std::fs::read_to_string(&real).unwrap();
    let rid = |l: &str| l.split(" rid=").nth(1).and_then(|r| r.split(' ').next()).expect("rid=").to_string();
    let (first, last) = (rid(text.lines().next().unwrap()), rid(text.lines().last().unwrap()));
    let slow = dir.path().join("slow");
    let _mounted = common::slow_fs::mount(&real, &slow, Duration::from_millis(40));
    let log = slow.join(common::slow_fs::NAME);
    let started = Instant::now();
    assert_eq!(std::fs::read(&log).unwrap().len(), text.len(), "the slow disk serves the file whole");
    let whole_read = started.elapsed();
    let cmd = format!("{} --from-start {}", quote(bin()), quote(&log.to_string_lossy()));
    let t = Tmux::start("slow", 200, 50, dir.path(), &cmd);
    let started = Instant::now();
    // the newest lines, while the history is still being read
    t.expect("the newest line, the history on its way", |s| {
        check!(s.has(&format!("id={}…", &last[..12])), "the newest line is not shown");
        check!(s.status_bar().contains("history"), "no progress of the history");
        Ok(())
    });
    let first_screen = started.elapsed();
    eprintln!("slow disk: the whole file read in {whole_read:?}, the console's first screen in {first_screen:?}");
    assert!(first_screen < whole_read, "the first screen waited for the whole file");
    // keys answer while it is read
    t.keys(&["?"]);
    t.expect("the help, the history still on its way", |s| {
        check!(s.has("keys ·"), "no help");
        check!(s.status_bar().contains("history"), "the history was read before the help showed");
        Ok(())
    });
    t.keys(&["Escape"]);
    let total = format!("FOLLOW  {} lines", thousands(text.lines().count()));
    t.expect("every line", |s| {
        check!(s.status_bar().contains(&total), "the status bar does not say {total}");
        check!(!s.status_bar().contains("history"), "the history is still being indexed");
        Ok(())
    });
    // the first lines, read back from the slow disk
    eprintln!("slow disk: every line in after {:?}", started.elapsed());
    t.keys(&["g"]);
    t.expect("the file's first request selected", |s| {
        check!(s.selected_id().as_deref() == Some(first.as_str()), "the status bar does not show id {first}");
        Ok(())
    });
}

/// `n` with thousands separators, as the status bar writes counts.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `H` loads the hour before a pane's first line from its file while the console runs: opened on the last half
/// hour of a 2.5-hour log with `--since`, one press brings the hour before, found by binary search on the file's
/// times (with its two minutes of slack for lines out of order), in front of the lines already there.
#[test]
fn h_loads_the_hour_before_the_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, text) = two_and_a_half_hours(dir.path());
    let from = |t: &str| text.lines().filter(|l| clock(l).as_str() >= t).count();
    let cmd = format!("{} --since 2024-05-01T14:00:00Z {}", quote(bin()), quote(&gw.to_string_lossy()));
    let t = Tmux::start("earlier", 200, 50, dir.path(), &cmd);
    let loaded = format!("FOLLOW  {} lines since 13:58:00", thousands(from("13:58:00")));
    t.expect("the last half hour and two minutes", |s| {
        check!(s.status_bar().contains(&loaded), "the status bar does not say {loaded}");
        Ok(())
    });
    t.keys(&["H"]);
    let more = format!("{} lines since 12:56:00", thousands(from("12:56:00")));
    t.expect("an hour more in front", |s| {
        check!(s.status_bar().contains(&more), "the status bar does not say {more}");
        Ok(())
    });
    t.keys(&["g"]);
    t.expect("the first line loaded at the top", |s| {
        check!(s.left().lines().nth(2).is_some_and(|l| l.contains("▶12:56:00")), "12:56:00 is not selected at the top");
        Ok(())
    });
}

/// `--with-rotated` reads a log's rotated files first, oldest first, in its pane (`access.log.3.zst` of several
/// frames, decoded on several threads, and `access.log.2.gz` decompressed, then `access.log.1`, then the followed
/// file), each line labelled with its file; `--since` alone reads those its window needs.
#[test]
fn rotated_files_come_first_in_one_pane() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let all = generated(dir.path(), "all.log", &["generate", "--format", "nginx", "--requests", "9000", "--rate", "2"]);
    let text = std::fs::read_to_string(&all).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
    // three frames, as pzstd writes a file
    let zst: Vec<u8> = lines[..1500]
        .chunks(500)
        .flat_map(|c| {
            ruzstd::encoding::compress_to_vec(join(c).as_bytes(), ruzstd::encoding::CompressionLevel::Fastest)
        })
        .collect();
    std::fs::write(dir.path().join("access.log.3.zst"), zst).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(join(&lines[1500..3000]).as_bytes()).unwrap();
    std::fs::write(dir.path().join("access.log.2.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.path().join("access.log.1"), join(&lines[3000..6000])).unwrap();
    std::fs::write(dir.path().join("access.log"), join(&lines[6000..])).unwrap();
    let rid = |l: &str| l.split(" rid=").nth(1).and_then(|r| r.split(' ').next()).expect("rid=").to_string();
    let live = dir.path().join("access.log").to_string_lossy().into_owned();

    let cmd = format!("{} --with-rotated {}", quote(bin()), quote(&live));
    let t = Tmux::start("rotated", 200, 50, dir.path(), &cmd);
    t.expect("the three files in one pane", |s| {
        check!(s.status_bar().contains("FOLLOW  9,000 lines"), "the status bar does not count 9,000 lines");
        check!(s.left().lines().rev().nth(2).is_some_and(|l| l.contains("access.log ")), "the newest is not labelled");
        Ok(())
    });
    t.keys(&["g"]);
    let first = rid(lines[0]);
    t.expect("the oldest file's first line", |s| {
        check!(s.selected_id().as_deref() == Some(first.as_str()), "the status bar does not show id {first}");
        check!(s.left().lines().nth(2).is_some_and(|l| l.contains("access.log.3.zst")), "not labelled with its file");
        Ok(())
    });
    drop(t);

    // a window that starts in the middle of access.log.1: the .gz is not needed (with two minutes' slack)
    let since = clock(lines[4500]);
    let (h, m) = (since[..2].parse::<u32>().unwrap(), since[3..5].parse::<u32>().unwrap());
    let slack = format!("{:02}:{:02}:{}", h - (m < 2) as u32, (m + 58) % 60, &since[6..]);
    let want = lines.iter().filter(|l| clock(l) >= slack).count();
    let cmd = format!("{} --since 2024-05-01T{since}Z {}", quote(bin()), quote(&live));
    let t = Tmux::start("rotated-since", 200, 50, dir.path(), &cmd);
    let count = format!("FOLLOW  {} lines", thousands(want));
    t.expect("the window from access.log.1 on", |s| {
        check!(s.status_bar().contains(&count), "the status bar does not say {count}");
        check!(!s.has("access.log.2.gz") && !s.has("access.log.3.zst"), "a compressed file was read");
        Ok(())
    });
}
