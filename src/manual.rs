//! What ships beside the binary, generated from the code so it cannot drift from it: the man page (`gatewatch
//! man`: every subcommand and option from the clap definitions, every key binding from the keymap, the config
//! file from its commented example) and the shell completions (`gatewatch completions SHELL`).

use std::io::Write;

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::{Cli, VERSION};
use crate::ui::keymap::{Action, Context, Keymap};

/// The example config file, every key commented out with what it does; shipped in the Debian package and quoted
/// whole by the man page.
pub const EXAMPLE_CONFIG: &str = include_str!("config.example.toml");

/// The command-line definition as the man page and the completions see it.
fn command() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// Write the completion script for `shell` (bash, zsh, fish, elvish, powershell).
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = command();
    clap_complete::generate(shell, &mut cmd, "gatewatch", out);
}

/// `gatewatch completions SHELL`: the script on standard output.
pub fn print_completions(shell: clap_complete::Shell) -> anyhow::Result<i32> {
    let mut script = Vec::new();
    completions(shell, &mut script);
    print_all(&script)
}

/// `gatewatch man`: the roff on standard output.
pub fn print_man() -> anyhow::Result<i32> {
    print_all(man_page().as_bytes())
}

/// Write it all (a reader that stops early, `| head`, is no error: see [`crate::exit::exit_code`]).
fn print_all(bytes: &[u8]) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(crate::exit::EXIT_OK)
}

/// The subcommands the man page documents, in `--help` order (hidden ones and clap's `help` left out).
pub fn subcommands() -> Vec<clap::Command> {
    command().get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help").cloned().collect()
}

/// One default binding: its keys as the help overlay shows them (`j, ↓`), what it does, and the action's name
/// in the config file's `[keys]` table.
pub type Binding = (String, &'static str, &'static str);

/// The console's default key bindings, grouped by where they are read, in the help overlay's order. The man
/// page's KEYS section is made of this.
pub fn key_bindings() -> Vec<(Context, Vec<Binding>)> {
    let keymap = Keymap::default();
    let mut groups: Vec<(Context, Vec<Binding>)> = Vec::new();
    for &action in Action::ALL {
        let row = (keymap.keys_text(action, ", "), action.description(), action.name());
        match groups.iter_mut().find(|(c, _)| *c == action.context()) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((action.context(), vec![row])),
        }
    }
    groups
}

/// A clap-mangen section rendered on its own, without its `.SH` heading line, so it can sit under a heading of
/// ours.
fn body(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut buf = Vec::new();
    render(&mut buf).expect("writing to memory");
    let text = String::from_utf8(buf).expect("roff is UTF-8");
    text.lines().filter(|l| !l.starts_with(".SH ")).map(|l| format!("{l}\n")).collect()
}

/// The man page, as roff (`gatewatch man | man -l -`).
pub fn man_page() -> String {
    let cmd = command();
    let man = Man::new(cmd.clone()).manual("gatewatch manual");
    let mut out = Vec::new();
    man.render_title(&mut out).expect("writing to memory");
    man.render_name_section(&mut out).expect("writing to memory");
    man.render_synopsis_section(&mut out).expect("writing to memory");
    man.render_description_section(&mut out).expect("writing to memory");
    let mut page = String::from_utf8(out).expect("roff is UTF-8");

    let mut intro = Roff::new();
    intro
        .control("PP", [])
        .text([roman(
            "Without a subcommand, gatewatch opens the console: one pane per source, gateway logs left and \
             upstream logs right, live, through rotation. The subcommands below answer headless.",
        )])
        .control("SH", ["OPTIONS"])
        .text([roman("The console's options and sources.")]);
    page.push_str(&intro.to_roff());
    page.push_str(&body(|w| man.render_options_section(w)));

    let mut list = Roff::new();
    list.control("SH", ["COMMANDS"]);
    for sub in subcommands() {
        list.control("TP", []).text([bold(full_name(&sub))]);
        if let Some(about) = sub.get_about() {
            list.text([roman(about.to_string())]);
        }
    }
    page.push_str(&list.to_roff());

    for sub in subcommands() {
        let mut head = Roff::new();
        head.control("SH", [full_name(&sub).to_uppercase().as_str()]);
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            head.text([roman(about.to_string())]);
        }
        head.control("PP", []);
        page.push_str(&head.to_roff());
        let sub_man = Man::new(sub.clone());
        page.push_str(&body(|w| sub_man.render_synopsis_section(w)));
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            let mut opts = Roff::new();
            opts.control("SS", ["Options"]);
            page.push_str(&opts.to_roff());
            page.push_str(&body(|w| sub_man.render_options_section(w)));
        }
    }

    page.push_str(&keys_section().to_roff());
    page.push_str(&config_section().to_roff());

    let mut tail = Roff::new();
    tail.control("SH", ["EXIT STATUS"])
        .text([roman(
            "0: every source was read; 1: a source could not be read (named on standard error; the others are \
             still reported); 2: bad arguments or config; 3 (trace): no record carries the id. replay: 0 when every \
             selected request got a response, 1 when one got none or the circuit opened, 2 when refused or misused. \
             token: 0 no check failed, 3 a check failed, 1 a key or key set could not be read or fetched, 2 no token \
             in the input, or a misused flag.",
        )])
        .control("SH", ["VERSION"])
        .text([roman(format!("gatewatch {VERSION}"))]);
    page.push_str(&tail.to_roff());
    // each clap-mangen render starts with the same two-line preamble: once is enough
    let preamble = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let rest = page.strip_prefix(preamble).expect("the page starts with the preamble").replace(preamble, "");
    format!("{preamble}{rest}")
}

/// `gatewatch report`.
fn full_name(sub: &clap::Command) -> String {
    sub.get_bin_name().map_or_else(|| format!("gatewatch {}", sub.get_name()), str::to_string)
}

/// KEYS: the console's default bindings, from the keymap itself.
fn keys_section() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["KEYS"]).text([
        roman("The console's default keys. The config file's "),
        bold("[keys]"),
        roman(" table rebinds them by action name (in parentheses): a list replaces that action's keys. "),
        roman("The same key can mean one thing in the log panes and another in a pane that has the focus."),
    ]);
    for (context, rows) in key_bindings() {
        r.control("SS", [context.title()]);
        for (keys, description, name) in rows {
            r.control("TP", []).text([bold(keys)]).text([roman(format!("{description} (")), italic(name), roman(")")]);
        }
    }
    r
}

/// FILES: where the config file is, and the example config whole (every key, commented).
fn config_section() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["FILES"])
        .control("TP", [])
        .text([bold("$XDG_CONFIG_HOME/gatewatch/config.toml")])
        .text([roman(
            "The config file (default ~/.config/gatewatch/config.toml; --config FILE names another). Every key is \
             optional; an unknown key is an error. CONFIGURATION below lists every key it takes, commented out, with \
             what it does; the Debian package installs that example as \
             /usr/share/doc/gatewatch/examples/config.toml.",
        )])
        .control("TP", [])
        .text([bold("$XDG_CONFIG_HOME/gatewatch/themes/NAME.toml")])
        .text([roman("A colour theme of your own, picked with --theme NAME or theme = \"NAME\".")])
        .control("SH", ["CONFIGURATION"])
        .text([roman("The example config file:")])
        .control("RS", ["2"])
        .control("nf", []);
    for line in EXAMPLE_CONFIG.lines() {
        r.text([roman(line)]);
    }
    r.control("fi", []).control("RE", []);
    r
}
