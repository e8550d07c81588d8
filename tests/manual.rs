//! What ships beside the binary: `--version`, the shell completions, the man page and the example config, each
//! checked against the code it is generated from (the clap definitions, the keymap, the config structs), so none
//! of them can drift.

use std::collections::BTreeSet;
use std::process::Command as Process;

use assert_cmd::Command;
use clap::CommandFactory;
use gatewatch::cli::Cli;
use gatewatch::config::{Config, ReplayConfig, TokenConfig};
use gatewatch::manual::{EXAMPLE_CONFIG, key_bindings, man_page, subcommands};
use gatewatch::ui::keymap::{Action, Keymap};
use serde::de::DeserializeOwned;

fn gatewatch() -> Command {
    Command::cargo_bin("gatewatch").unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = gatewatch().args(args).output().unwrap();
    assert!(out.status.success(), "gatewatch {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Every subcommand name, from the clap definitions.
fn subcommand_names() -> Vec<String> {
    let names: Vec<String> = subcommands().iter().map(|s| s.get_name().to_string()).collect();
    assert!(names.len() >= 9, "{names:?}");
    names
}

/// Every long option of the command line, the console's and each subcommand's (hidden ones left out).
fn long_options() -> BTreeSet<String> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut longs = BTreeSet::new();
    let mut stack = vec![cmd];
    while let Some(c) = stack.pop() {
        for a in c.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(l) = a.get_long() {
                longs.insert(l.to_string());
            }
        }
        stack.extend(c.get_subcommands().filter(|s| s.get_name() != "help").cloned());
    }
    assert!(longs.contains("with-rotated") && longs.contains("break-cooldown"), "{longs:?}");
    longs
}

/// Text as the man page's roff writes it: backslashes doubled, hyphens as `\-`.
fn roff(s: &str) -> String {
    s.replace('\\', "\\\\").replace('-', "\\-")
}

#[test]
fn version_names_the_version_and_the_commit() {
    let out = stdout(&["--version"]);
    let line = out.trim();
    let prefix = format!("gatewatch {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(&prefix) && line.ends_with(')'), "{line}");
    let commit = &line[prefix.len()..line.len() - 1];
    let head = Process::new("git").args(["rev-parse", "HEAD"]).current_dir(env!("CARGO_MANIFEST_DIR")).output();
    match head {
        Ok(h) if h.status.success() => {
            let head = String::from_utf8(h.stdout).unwrap();
            assert!(commit.len() >= 7 && head.starts_with(commit), "built from {commit}, checkout at {head}");
        }
        _ => assert_eq!(commit, "unknown", "outside a git checkout"),
    }
}

#[test]
fn help_lists_the_subcommands() {
    insta::assert_snapshot!("help", stdout(&["--help"]));
}

#[test]
fn the_bash_completion_is_valid_bash_and_completes_subcommands_and_options() {
    let script = stdout(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatewatch.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Process::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    // what Tab would offer after `gatewatch re` and after `gatewatch report --with`
    let complete = |words: &str| {
        let probe = format!(
            "source '{}'; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             _gatewatch gatewatch \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path.display()
        );
        let out = Process::new("bash").arg("-c").arg(probe).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let offered = complete("gatewatch re");
    assert_eq!(offered.split_whitespace().collect::<Vec<_>>(), ["report", "replay"], "{offered}");
    let offered = complete("gatewatch report --with");
    assert!(offered.split_whitespace().any(|w| w == "--with-rotated"), "{offered}");
}

#[test]
fn the_zsh_and_fish_completions_know_every_subcommand() {
    for shell in ["zsh", "fish"] {
        let script = stdout(&["completions", shell]);
        assert!(script.len() > 1000, "{shell}: {script}");
        for name in subcommand_names() {
            assert!(script.contains(&name), "{shell} completion lacks {name}");
        }
        for long in ["from-start", "with-rotated", "tls-server-name"] {
            assert!(script.contains(long), "{shell} completion lacks --{long}");
        }
    }
    assert!(!gatewatch().args(["completions", "tcsh"]).assert().failure().get_output().stderr.is_empty());
}

#[test]
fn the_man_page_documents_every_subcommand_option_and_key() {
    let page = stdout(&["man"]);
    assert_eq!(page, man_page(), "`gatewatch man` prints the generated page");
    assert!(page.starts_with(".ie \\n(.g .ds Aq") && page.contains("\n.TH gatewatch 1"), "{}", &page[..200]);
    for name in subcommand_names() {
        assert!(page.contains(&format!("\n.SH \"GATEWATCH {}\"\n", name.to_uppercase())), "no section for {name}");
        assert!(page.contains(&format!("\\fBgatewatch {name}\\fR")), "no synopsis for {name}");
    }
    for long in long_options() {
        assert!(page.contains(&format!("\\-\\-{}", roff(&long))), "--{long} is not in the man page");
    }
    let keymap = Keymap::default();
    let mut rows = 0;
    for (_, bindings) in key_bindings() {
        for (keys, description, name) in bindings {
            assert!(page.contains(&format!("\n.TP\n\\fB{}\\fR\n", roff(&keys))), "keys {keys} of {name}");
            assert!(page.contains(&format!("{} (\\fI{}\\fR)", roff(description), roff(name))), "{name}");
            rows += 1;
        }
    }
    assert_eq!(rows, Action::ALL.len(), "every action has a row");
    for &a in Action::ALL {
        for key in keymap.keys_for(a) {
            assert!(page.contains(&roff(&key)), "key {key} of {}", a.name());
        }
    }
    for line in EXAMPLE_CONFIG.lines().filter(|l| !l.is_empty()) {
        assert!(page.contains(&format!("\n{}\n", roff(line).replace("\n'", "\n\\&'"))), "config line {line}");
    }
    for section in ["NAME", "SYNOPSIS", "OPTIONS", "COMMANDS", "KEYS", "FILES", "CONFIGURATION", "EXIT STATUS"] {
        assert!(page.contains(&format!("\n.SH {section}\n")) || page.contains(&format!("\n.SH \"{section}\"\n")));
    }
    let headings: Vec<&str> = page.lines().filter(|l| l.starts_with(".SH") || l.starts_with(".SS")).collect();
    insta::assert_snapshot!("man_headings", headings.join("\n"));
}

#[test]
fn the_man_page_renders_without_warnings() {
    let Ok(groff) = Process::new("groff").arg("--version").output() else {
        eprintln!("groff is not installed: the man page's rendering is not checked");
        return;
    };
    assert!(groff.status.success());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatewatch.1");
    std::fs::write(&path, man_page()).unwrap();
    let out = Process::new("groff").args(["-man", "-Tutf8", "-K", "utf8", "-ww", "-z"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "groff: {stderr}");
}

/// The fields a config struct accepts, as serde sees them (the struct's own list, so a new field shows up here).
fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Grab(Option<&'static [&'static str]>);
    impl<'de> serde::Deserializer<'de> for &mut Grab {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("only a struct's fields are asked for"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(serde::de::Error::custom("fields taken"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut grab = Grab(None);
    let _ = T::deserialize(&mut grab);
    grab.0.expect("a struct")
}

/// The example with every setting switched on: `# key = value` lines lose their `# `, `##` comments stay.
fn example_uncommented() -> String {
    EXAMPLE_CONFIG
        .lines()
        .map(|l| if l.starts_with("##") { l } else { l.strip_prefix("# ").unwrap_or(l) })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_example_config_parses_and_lists_every_key_the_code_accepts() {
    // as shipped, everything is commented out: it parses, and changes nothing
    let shipped: Config = toml::from_str(EXAMPLE_CONFIG).unwrap();
    assert!(shipped.keys.is_empty() && shipped.alert.is_empty() && shipped.nginx_format.is_none());

    // with every setting switched on, it still parses (unknown keys are errors), and it names every key
    let text = example_uncommented();
    let config: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let table: toml::Table = toml::from_str(&text).unwrap();
    let has_all = |t: &toml::Table, want: &[&str], what: &str| {
        for key in want {
            assert!(t.contains_key(*key), "the example config lacks {what}{key}");
        }
    };
    has_all(&table, fields::<Config>(), "");
    has_all(table["replay"].as_table().unwrap(), fields::<ReplayConfig>(), "[replay] ");
    has_all(table["token"].as_table().unwrap(), fields::<TokenConfig>(), "[token] ");
    let alert = table["alert"].as_array().unwrap()[0].as_table().unwrap();
    has_all(alert, fields::<gatewatch::alerts::RuleConfig>(), "[[alert]] ");
    let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
    has_all(table["keys"].as_table().unwrap(), &names, "[keys] ");

    // and what it shows is what the code does by default
    let keymap = Keymap::with_overrides(&config.keys).unwrap();
    assert_eq!(keymap.help_rows(), Keymap::default().help_rows(), "[keys] in the example are the defaults");
    let rules: Vec<&str> = config.alert.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rules, gatewatch::alerts::DEFAULT_RULES, "[[alert]] in the example are the defaults");
    gatewatch::alerts::Rules::from_config(&config.alert).unwrap();
    assert_eq!(config.theme.as_deref(), Some("dark"));
}
