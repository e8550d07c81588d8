//! Pretty-printed JSON records (Kong file-log entries run through `jq .`): every reader — `tail`, `report`, the
//! console — joins each object back into one record and reads it as the same entry written on one line.

mod common;

use std::process::Command;

use gatewatch::record::Role;
use serde_json::Value;

const PRETTY: &str = "tests/fixtures/proxies/kong-pretty.log";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gatewatch"))
}

/// `tail --json -` on a file given as standard input (it ends with the input).
fn tail_json(path: &std::path::Path) -> Vec<Value> {
    let out = bin().args(["tail", "--json", "-"]).stdin(std::fs::File::open(path).unwrap()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The same entries, one per line, as Kong writes them.
fn one_per_line() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for name in ["kong.log", "kong-versions.log"] {
        let text = std::fs::read(format!("tests/fixtures/proxies/{name}")).unwrap();
        std::io::Write::write_all(&mut f, &text).unwrap();
    }
    f
}

#[test]
fn tail_reads_each_pretty_object_as_the_entry_it_is() {
    let flat = one_per_line();
    let pretty = tail_json(PRETTY.as_ref());
    let expected = tail_json(flat.path());
    assert_eq!((pretty.len(), expected.len()), (7, 7), "one record per object, not per line");
    for (p, e) in pretty.iter().zip(&expected) {
        assert_eq!((&p["format"], &p["parsed"]), (&Value::from("kong"), &Value::from(true)));
        let fields = |v: &Value| {
            let mut v = v.clone();
            v.as_object_mut().unwrap().remove("line");
            v
        };
        assert_eq!(fields(p), fields(e));
    }
    // each numbered by the line its object begins on
    let text = std::fs::read_to_string(PRETTY).unwrap();
    let starts: Vec<u64> = text.lines().enumerate().filter(|(_, l)| *l == "{").map(|(i, _)| i as u64 + 1).collect();
    let lines: Vec<u64> = pretty.iter().map(|p| p["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, starts);
    // what the entries hold, as logged
    let statuses: Vec<u64> = pretty.iter().map(|p| p["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [200, 200, 429, 200, 502, 504, 204]);
}

#[test]
fn report_counts_objects_not_lines() {
    let report = |path: &str| {
        let out = bin().args(["report", "--json", path]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let flat = one_per_line();
    let (pretty, expected) = (report(PRETTY), report(flat.path().to_str().unwrap()));
    assert_eq!(pretty["sources"][0]["format"], "kong");
    assert_eq!(pretty["sources"][0]["unparsed"], 0);
    assert_eq!(pretty["status"], expected["status"]);
    assert_eq!(pretty["requests"], 7);
}

#[test]
fn the_console_joins_objects_split_across_batches() {
    let mut app = common::console(vec![("kong.log".into(), PRETTY.into(), Some(Role::Gateway))], 160, 30);
    let text = std::fs::read(PRETTY).unwrap();
    // the file arrives in pieces cut at line ends inside objects, as a follower reads a growing file
    let cut = text.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(40).unwrap().0 + 1;
    app.update(common::batch(0, &text[..cut]));
    app.update(common::batch(0, &text[cut..]));
    let pane = &app.panes[0];
    assert_eq!(pane.lines.len(), 7);
    let parser = pane.parser.as_ref().unwrap();
    let statuses: Vec<Option<u16>> = (0..7).map(|i| parser.parse(&pane.lines.line(i)).unwrap().status).collect();
    assert_eq!(statuses, [200, 200, 429, 200, 502, 504, 204].map(Some));
    let screen = common::screen(&app);
    assert!(screen.contains("502"), "{screen}");
}
