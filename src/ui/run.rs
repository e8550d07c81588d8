//! The console's loop: one `tokio::select!` over terminal events, source batches, signals and a frame timer.
//! It redraws only when something changed: at once (within `FRAME`) after a key, a click or a resize, and at
//! most every `LIVE_FRAME` when only new lines arrived, so a burst of lines costs a few frames and a followed
//! log crosses a slow link at a few frames a second.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event, EventStream,
};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::app::{App, Msg};
use super::keymap::Keymap;
use super::theme::{ColorDepth, Theme};
use crate::open::{SourceKind, named_sources, spawn_sources};
use crate::source::SourceMsg;
use crate::source::command::CommandOptions;
use crate::source::file::FollowOptions;
use crate::ui::args::ConsoleArgs;

/// Shortest time between two frames (~60 fps at most), after a key, a click or a resize.
const FRAME: Duration = Duration::from_millis(16);
/// Shortest time between two frames when only new lines changed the screen: a person reads a few frames a second
/// of scrolling text, and every frame crosses the link to the terminal (an SSH session on a congested network).
const LIVE_FRAME: Duration = Duration::from_millis(250);
/// Batches in flight from all sources together.
const CHANNEL: usize = 64;

/// Everything the console needs besides its sources.
pub struct Setup {
    /// Key bindings.
    pub keymap: Keymap,
    /// Colours.
    pub theme: Theme,
    /// Reading options.
    pub opts: crate::input::ScanOptions,
    /// How files are followed.
    pub follow: FollowOptions,
    /// How commands are run.
    pub commands: CommandOptions,
    /// Where and how `e` replays.
    pub replay: crate::replay::settings::Settings,
    /// What `J` checks tokens with.
    pub token: super::token::TokenSettings,
    /// The `--markers` sources: change events drawn on the charts.
    pub markers: Vec<crate::markers::MarkerSource>,
    /// `--marker-regex`.
    pub marker_regex: Option<regex::Regex>,
    /// Per source: its rotated files to read before it, oldest first (`--with-rotated`, or those `--since` needs).
    pub rotated: Vec<Vec<std::path::PathBuf>>,
}

/// The short name a pane shows for a source: a file's name, a command as typed.
pub fn short_name(source: &str) -> String {
    match source.rsplit_once('/') {
        Some((_, name)) if !name.is_empty() && !source.starts_with("ssh://") => name.to_string(),
        _ => source.to_string(),
    }
}

/// Theme and keymap from the config file and `--theme`.
pub fn setup(args: &ConsoleArgs) -> anyhow::Result<Setup> {
    let opts = crate::open::scan_options(&args.input)?;
    let config = crate::config::Config::load(args.input.config.as_deref())?;
    let keymap = Keymap::with_overrides(&config.keys).context("in the [keys] table of the config file")?;
    let name = args.theme.clone().or(config.theme.clone()).unwrap_or_else(|| "dark".into());
    let config_dir = crate::config::config_dir();
    let theme = Theme::load(&name, config_dir.as_deref(), ColorDepth::detect())?;
    let (follow, commands) = crate::open::follow_options(&args.live, args.tail, &opts);
    let replay = crate::replay::settings::Settings::new(&config.replay, args.replay_base.as_deref(), &[], false)?;
    // a [token] key that cannot be read is said in the pane, not a reason to refuse the console
    let token = match crate::token::from_config(&config.token) {
        Ok((key, expect)) => super::token::TokenSettings { key, expect, ..Default::default() },
        Err(e) => {
            super::token::TokenSettings { problem: Some(format!("[token] in the config: {e:#}")), ..Default::default() }
        }
    };
    let markers = args.markers.markers.iter().map(|m| crate::markers::MarkerSource::of(m)).collect();
    let marker_regex = crate::markers::regex_flag(args.markers.marker_regex.as_deref())?;
    Ok(Setup { keymap, theme, opts, follow, commands, replay, token, markers, marker_regex, rotated: Vec::new() })
}

/// `gatewatch [SOURCE...]`: open the console.
pub fn run(args: ConsoleArgs) -> anyhow::Result<i32> {
    use crate::exit::{usage, usage_msg};
    let mut setup = setup(&args).map_err(usage)?;
    let lines = if args.live.from_start { None } else { Some(args.tail) };
    let sources = named_sources(&args.input, &args.sources, &args.live.cmd, lines).map_err(usage)?;
    setup.rotated = sources.iter().map(|(_, kind, _)| rotated_before(kind, args.with_rotated, &setup.opts)).collect();
    if sources.is_empty() {
        return Err(usage_msg("no source to show. Try `gatewatch access.log app.log`, `gatewatch demo`, or --help"));
    }
    if sources.iter().any(|(_, k, _)| *k == SourceKind::Stdin) {
        return Err(usage_msg("the console reads keys from the terminal; pipe into `gatewatch tail -` instead"));
    }
    open(sources, setup)
}

/// The rotated files to read before a file source, oldest first: all of them with `--with-rotated`, those the
/// window needs with `--since`, else none.
fn rotated_before(kind: &SourceKind, all: bool, opts: &crate::input::ScanOptions) -> Vec<std::path::PathBuf> {
    let SourceKind::File(path) = kind else { return Vec::new() };
    if !crate::input::reads_rotated(all, opts) {
        return Vec::new();
    }
    let mut files = crate::input::rotated_set(path, opts);
    // the followed file comes last; it is read by its follower (and its own history scan)
    files.pop();
    files
}

/// Open the console on these sources (name, kind, role) until the user quits or a signal ends it.
pub fn open(sources: Vec<(String, SourceKind, Option<crate::record::Role>)>, setup: Setup) -> anyhow::Result<i32> {
    anyhow::ensure!(
        std::io::stdout().is_terminal() && std::io::stdin().is_terminal(),
        "the console needs a terminal (for scripts: `gatewatch report`, `gatewatch tail`)"
    );
    let panes = sources.iter().map(|(name, _, role)| (short_name(name), name.clone(), *role)).collect();
    let kinds: Vec<SourceKind> = sources.into_iter().map(|(_, k, _)| k).collect();
    // a long history (and the rotated files before it) is indexed apart, on all cores, while the followers start
    // near the ends of their files
    let rotated = |i: usize| setup.rotated.get(i).is_some_and(|r| !r.is_empty());
    let files: Vec<Option<(&std::path::Path, bool)>> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| if let SourceKind::File(p) = k { Some((p.as_path(), rotated(i))) } else { None })
        .collect();
    let (plans, follow) = crate::history::plan_all(&files, &setup.follow, &setup.opts);
    let mut app = App::new(panes, setup.opts, setup.keymap, setup.theme);
    let jobs = history_jobs(&mut app, &files, plans, &setup.rotated);
    app.set_replay_settings(setup.replay);
    app.set_token_settings(setup.token);
    let feeds = setup.markers.iter().map(marker_name).collect();
    app.markers = super::chart_markers::Markers::new(feeds, setup.marker_regex);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let (tx, rx) = mpsc::channel::<SourceMsg>(CHANNEL);
        // an ended command waits for the restart key instead of ending its source
        let first_marker = kinds.len();
        let reruns = spawn_sources(kinds, &follow, &setup.commands, true, tx.clone());
        spawn_marker_sources(setup.markers, first_marker, &setup.follow, &setup.commands, tx);
        let (history_tx, history) = mpsc::unbounded_channel();
        app.history_tx = Some(history_tx);
        for (i, parts, parser) in jobs {
            app.spawn_history(i, parts, parser);
        }
        drive(app, rx, history, reruns).await
    })
}

/// The history scans to start, one per pane that has one: its rotated files (`--with-rotated`, or those `--since`
/// needs), oldest first, then the span of its file before where its follower starts; and the panes told so.
fn history_jobs(
    app: &mut App,
    files: &[Option<(&std::path::Path, bool)>],
    plans: Vec<Option<(crate::history::Span, crate::format::Parser)>>,
    rotated: &[Vec<std::path::PathBuf>],
) -> Vec<(usize, Vec<crate::history::Part>, crate::format::Parser)> {
    let mut jobs = Vec::new();
    for (i, plan) in plans.into_iter().enumerate() {
        let pane = &mut app.panes[i];
        let file = files[i].map(|(p, _)| p);
        pane.file = file.map(std::path::Path::to_path_buf);
        let older = rotated.get(i).map_or(&[][..], Vec::as_slice);
        let since = app.opts.window.and_then(|w| w.since_us);
        let (mut parts, problems) = crate::history::rotated_parts(older, since, &app.opts);
        if let Some(p) = problems.first() {
            pane.note = Some(p.clone());
        }
        // the lines of several files say which each came from, the followed file's too
        let label: Option<Arc<str>> =
            (!parts.is_empty()).then(|| Arc::from(file.map_or(String::new(), |f| f.display().to_string())));
        pane.default_label = label.clone();
        let parser = match plan {
            Some((span, parser)) => {
                pane.origin = span.file.try_clone().ok().map(|file| super::pane::Origin { file, start: span.start });
                match span.part(label) {
                    Ok(part) => parts.push(part),
                    Err(e) => pane.note = Some(format!("history: {e}")),
                }
                Some(parser)
            }
            // the followed file could not be planned (it is not there yet): the newest rotated file's lines choose
            None => older
                .last()
                .and_then(|f| crate::input::file_head(f))
                .map(|head| crate::input::choose_parser(&head, &app.opts)),
        };
        let (Some(parser), false) = (parser, parts.is_empty()) else { continue };
        let pane = &mut app.panes[i];
        pane.parser = Some(parser.clone());
        pane.history = Some((0, parts.iter().map(|p| p.bytes).sum()));
        jobs.push((i, parts, parser));
    }
    jobs
}

/// How a `--markers` source is named in the charts' list: a file's name, a command as typed (its start, when long).
fn marker_name(m: &crate::markers::MarkerSource) -> String {
    const LONGEST: usize = 32;
    match m {
        crate::markers::MarkerSource::File(p) => short_name(&p.to_string_lossy()),
        crate::markers::MarkerSource::Command(c) if c.chars().count() > LONGEST => {
            c.chars().take(LONGEST - 1).collect::<String>() + "…"
        }
        crate::markers::MarkerSource::Command(c) => c.clone(),
    }
}

/// Follow the `--markers` files and run their commands, with source ids from `first` on: a command runs once
/// (its lines stay as changes when it ends).
fn spawn_marker_sources(
    markers: Vec<crate::markers::MarkerSource>,
    first: usize,
    follow: &FollowOptions,
    commands: &CommandOptions,
    tx: mpsc::Sender<SourceMsg>,
) {
    use crate::markers::MarkerSource;
    use crate::source::command::{CommandSpec, follow_command};
    for (k, m) in markers.into_iter().enumerate() {
        let id = first + k;
        match m {
            MarkerSource::File(p) => {
                tokio::spawn(crate::source::file::follow_file(id, p, follow.clone(), tx.clone()));
            }
            MarkerSource::Command(c) => {
                let opts = CommandOptions { restart: false, rerun: None, ..commands.clone() };
                tokio::spawn(follow_command(id, CommandSpec::shell(&c), opts, tx.clone()));
            }
        }
    }
}

/// How often a spinner moves.
const SPIN: Duration = Duration::from_millis(100);

/// The next action result, or never when there is no channel.
async fn recv(
    rx: &mut Option<mpsc::UnboundedReceiver<super::actions::ActionMsg>>,
) -> Option<super::actions::ActionMsg> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Put `text` on the clipboard of the terminal the operator sits at: OSC 52 crosses SSH, and tmux passes it on
/// (with `set-clipboard on`).
fn copy_to_clipboard(text: &str) -> anyhow::Result<()> {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout().lock();
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()?;
    Ok(())
}

/// Restores the terminal when dropped: on quit, on error, and (through the panic hook) on a panic.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> anyhow::Result<(Self, ratatui::DefaultTerminal)> {
        let terminal = ratatui::try_init().context("cannot set up the terminal")?;
        // ratatui's hook restores the screen; the mouse must be released too
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture, DisableBracketedPaste);
            hook(info);
        }));
        crossterm::execute!(std::io::stdout(), EnableMouseCapture, EnableBracketedPaste)?;
        Ok((TerminalGuard, terminal))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // on a panic the hook has restored the terminal already; leaving the alternate screen twice would move
        // the cursor back over the panic's message
        if std::thread::panicking() {
            return;
        }
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture, DisableBracketedPaste);
        ratatui::restore();
    }
}

async fn drive(
    mut app: App,
    mut rx: mpsc::Receiver<SourceMsg>,
    mut history: mpsc::UnboundedReceiver<(usize, crate::history::Event)>,
    reruns: Vec<Option<Arc<tokio::sync::Notify>>>,
) -> anyhow::Result<i32> {
    let (_guard, mut terminal) = TerminalGuard::enter()?;
    let size = terminal.size()?;
    app.update(Msg::Resize(size.width, size.height));
    let mut events = EventStream::new();
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_frame = Instant::now() - LIVE_FRAME;
    // what the screen shows: rows that only moved are scrolled by the terminal, not drawn again
    let mut shown = None;
    // whether the user did something since the last frame: then the next one comes at once, else at the live pace
    let mut urgent = true;
    let mut sources_open = true;
    let mut history_open = true;
    let mut results = app.take_action_results();
    // for the end-to-end test that a panic gives the terminal back: a panic this many ms in
    let test_panic = std::env::var("GATEWATCH_TEST_PANIC_AFTER_MS").ok().and_then(|v| v.parse::<u64>().ok());
    let panic_at = tokio::time::Instant::now() + Duration::from_millis(test_panic.unwrap_or(0));
    while !app.quit {
        if let Some(text) = app.take_clipboard() {
            copy_to_clipboard(&text)?;
        }
        for pane in app.take_restarts() {
            if let Some(Some(rerun)) = reruns.get(pane) {
                // wakes the source's commands that ended; those still running are not waiting for it
                rerun.notify_waiters();
            }
        }
        let gap = if urgent { FRAME } else { LIVE_FRAME };
        if app.dirty && last_frame.elapsed() >= gap {
            app.pace.frame(rx.len(), CHANNEL, Instant::now());
            super::scroll::draw(&mut terminal, &mut shown, |f| super::draw::draw(&app, f))?;
            app.dirty = false;
            urgent = false;
            last_frame = Instant::now();
        }
        let next_frame = tokio::time::Instant::from_std(last_frame + gap);
        let busy = app.dirty || app.has_work();
        // a request in flight shows its spinner and elapsed time: a few frames a second, not sixty
        let animating = app.replay.as_ref().is_some_and(|r| r.in_flight());
        tokio::select! {
            ev = events.next() => {
                urgent = true;
                match ev {
                    Some(Ok(Event::Key(k))) => app.update(Msg::Key(k)),
                    Some(Ok(Event::Mouse(m))) => app.update(Msg::Mouse(m)),
                    Some(Ok(Event::Resize(w, h))) => app.update(Msg::Resize(w, h)),
                    Some(Ok(Event::Paste(text))) => app.update(Msg::Paste(text)),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e).context("cannot read the terminal"),
                    None => break,
                }
            }
            msg = rx.recv(), if sources_open => match msg {
                Some(m) => {
                    app.update(Msg::Source(m));
                    // take what else is waiting: a burst becomes one frame
                    for _ in 0..CHANNEL {
                        match rx.try_recv() {
                            Ok(m) => app.update(Msg::Source(m)),
                            Err(_) => break,
                        }
                    }
                }
                None => sources_open = false,
            },
            msg = history.recv(), if history_open => match msg {
                Some((i, e)) => app.update(Msg::History(i, e)),
                None => history_open = false,
            },
            _ = tokio::time::sleep_until(next_frame), if busy => {
                app.update(Msg::Tick(Instant::now()));
            }
            Some(m) = recv(&mut results) => {
                // a replay's answer, a token's check: what the user is waiting for
                urgent = true;
                app.update(Msg::Action(m));
            }
            _ = tokio::time::sleep(SPIN), if animating => {
                app.update(Msg::Tick(Instant::now()));
                app.dirty = true;
            }
            _ = tick.tick() => app.update(Msg::Tick(Instant::now())),
            _ = tokio::time::sleep_until(panic_at), if test_panic.is_some() => panic!("the test panic (GATEWATCH_TEST_PANIC_AFTER_MS)"),
            _ = term.recv() => break,
            _ = hup.recv() => break,
            _ = int.recv() => break,
        }
    }
    Ok(crate::exit::EXIT_OK)
}
