//! The module graph looks down: no import circle. Circles are found from the code's own paths, file by file:
//! `crate::`, `super::` (and `super::super::`), `self::`, a child module's name, in `use` trees of any nesting and
//! in expressions; comments, strings and `#[cfg(test)]` items are not read (tests may look anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The circles the code may have: none. A module that needs one above it takes what it needs down instead.
const KNOWN: &[&[&str]] = &[];

/// The layers, top first, each named by the modules in it (a name covers its children: `cmd` covers
/// `cmd::tail`); every other module is the core. A module may use its own layer and those below it.
const LAYERS: &[(&str, &[&str])] = &[
    ("cli", &["cli", "cmd", "manual"]),
    ("console", &["ui"]),
    ("core", &[]),
    ("formats", &["format", "record", "ids", "synth"]),
    ("sources", &["source"]),
    ("vocabulary", &["text", "numbers"]),
];

/// The layer of `module`, as its index in [`LAYERS`].
fn layer(module: &str) -> usize {
    let named = |name: &&str| module == *name || module.starts_with(&format!("{name}::"));
    let core = LAYERS.iter().position(|(l, _)| *l == "core").unwrap();
    LAYERS.iter().position(|(_, names)| names.iter().any(named)).unwrap_or(core)
}

fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        if path.is_dir() {
            let inner = if prefix.is_empty() { name.clone() } else { format!("{prefix}::{name}") };
            modules(&path, &inner, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = match (prefix.is_empty(), name.as_str()) {
                (true, "lib" | "main") => continue,
                (_, "mod") => prefix.to_string(),
                (true, _) => name,
                (false, _) => format!("{prefix}::{name}"),
            };
            out.insert(module, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The known module a path (`a::b::Item`) names: its longest prefix that is a module.
fn resolve(path: &[&str], known: &BTreeMap<String, String>) -> Option<String> {
    (1..=path.len()).rev().map(|n| path[..n].join("::")).find(|m| known.contains_key(m))
}

/// `text` with comments, string and character literals blanked (kept as spaces, so offsets and lines hold): what
/// is left is code, where paths and braces can be read as they are.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if !prev_ident && (c[i] == 'r' || (c[i] == 'b' && c.get(i + 1) == Some(&'r'))) && {
            let j = if c[i] == 'b' { i + 2 } else { i + 1 };
            let hashes = c[j..].iter().take_while(|&&ch| ch == '#').count();
            c.get(j + hashes) == Some(&'"')
        } {
            // a raw string: r"…", r#"…"#, br"…"
            let j = if c[i] == 'b' { i + 2 } else { i + 1 };
            let hashes = c[j..].iter().take_while(|&&ch| ch == '#').count();
            let mut k = j + hashes + 1;
            while k < c.len()
                && !(c[k] == '"' && c[k + 1..].iter().take(hashes).filter(|&&ch| ch == '#').count() == hashes)
            {
                k += 1;
            }
            let end = (k + 1 + hashes).min(c.len());
            for &ch in &c[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else if c[i] == '"' {
            let mut k = i + 1;
            while k < c.len() && c[k] != '"' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            let end = (k + 1).min(c.len());
            for &ch in &c[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else if c[i] == '\'' && (c.get(i + 1) == Some(&'\\') || c.get(i + 2) == Some(&'\'')) {
            // a character literal ('x', '\n', '\u{1b}'), not a lifetime ('a)
            let mut k = i + 1;
            while k < c.len() && c[k] != '\'' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            let end = (k + 1).min(c.len());
            for &ch in &c[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// `code` without the items marked `#[cfg(test)]` (a test module, a test-only function or import): tests may look
/// anywhere.
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        // the item ends at its first `;` outside braces, or at the brace that closes its body
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, ch) in item.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        out.extend(item[..end].chars().map(|ch| if ch == '\n' { '\n' } else { ' ' }));
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The paths a use tree (or a path in an expression) at the start of `text` names, each as segments after
/// `base`: `a::b`, `a::{b, c::{d, e}}`, `a::*`, `a::{self, b}`.
fn use_paths(text: &str, base: &[String], out: &mut Vec<Vec<String>>) {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut path = base.to_vec();
    let mut rest = text.trim_start();
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            // split the group at its top-level commas
            let mut depth = 0usize;
            let mut start = 0;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        use_paths(&group[start..i], &path, out);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        use_paths(&group[start..i], &path, out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            return;
        }
        let len = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
        let seg = &rest[..len];
        if !seg.is_empty() && seg != "self" {
            path.push(seg.to_string());
        }
        rest = rest[len..].trim_start();
        match rest.strip_prefix("::") {
            Some(r) if !seg.is_empty() => rest = r.trim_start(),
            _ => break,
        }
    }
    out.push(path);
}

/// The modules `text` (the code of `module`) refers to: through `crate::`, `super::` (any number), `self::`, and
/// the names of its own child modules (`pub use model::Report;` in a `mod.rs`).
fn references(module: &str, text: &str, known: &BTreeMap<String, String>) -> BTreeSet<String> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let code = without_tests(&code_only(text));
    let here: Vec<String> = if module.is_empty() { Vec::new() } else { module.split("::").map(String::from).collect() };
    let child = |name: &str| if module.is_empty() { name.to_string() } else { format!("{module}::{name}") };
    let mut paths = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let len = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
        if len == 0 {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let word = &rest[..len];
        let after = &rest[len..];
        // a path starts at a word not itself after `::` (that is the middle of a path) or `.` (a field or method)
        let before = code[..at].trim_end();
        let starts = !before.ends_with("::") && !before.ends_with('.');
        let next = after.trim_start().strip_prefix("::");
        if let (true, Some(next)) = (starts, next) {
            let mut base: Option<Vec<String>> = match word {
                "crate" => Some(Vec::new()),
                "self" => Some(here.clone()),
                "super" => Some(here[..here.len().saturating_sub(1)].to_vec()),
                w if known.contains_key(&child(w)) => Some(child(w).split("::").map(String::from).collect()),
                _ => None,
            };
            let mut next = next;
            // `super::super::…`
            while let Some(b) = base.as_mut() {
                let t = next.trim_start();
                match t.strip_prefix("super").filter(|r| r.trim_start().starts_with("::")) {
                    Some(r) if word == "super" => {
                        b.pop();
                        next = r.trim_start().strip_prefix("::").unwrap();
                    }
                    _ => break,
                }
            }
            if let Some(base) = base {
                use_paths(next, &base, &mut paths);
            }
        }
        at += len;
    }
    let mut out = BTreeSet::new();
    for path in paths {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        if let Some(m) = resolve(&path, known).filter(|m| m != module) {
            out.insert(m);
        }
    }
    out
}

/// Strongly connected components of more than one module (Tarjan's algorithm).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut c = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                c.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if c.len() > 1 {
                s.out.push(c);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut known = BTreeMap::new();
    modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "", &mut known);
    known.iter().map(|(m, text)| (m.clone(), references(m, text, &known))).collect()
}

#[test]
fn no_new_import_circle() {
    let edges = graph();
    assert!(edges["input"].contains("format::detect"), "the graph reads `use crate::…` paths");
    assert!(edges["format::haproxy"].contains("format::textscan"), "and `super::` paths");
    let known: Vec<BTreeSet<String>> = KNOWN.iter().map(|c| c.iter().map(|m| m.to_string()).collect()).collect();
    let mut new = Vec::new();
    for c in circles(&edges) {
        if known.iter().any(|k| c.is_subset(k)) {
            continue;
        }
        let inside: Vec<String> = c
            .iter()
            .flat_map(|m| edges[m].iter().filter(|r| c.contains(*r)).map(move |r| format!("{m} → {r}")))
            .collect();
        new.push(format!("{c:?}, through {inside:?}"));
    }
    assert!(new.is_empty(), "import circles:\n{}", new.join("\n"));
}

#[test]
fn each_layer_looks_only_down() {
    let edges = graph();
    let mut up = Vec::new();
    for (m, refs) in &edges {
        for r in refs {
            if layer(r) < layer(m) {
                up.push(format!("{m} ({}) → {r} ({})", LAYERS[layer(m)].0, LAYERS[layer(r)].0));
            }
            // subcommands never import each other
            let sub = |x: &str| x.strip_prefix("cmd::").map(|s| s.split("::").next().unwrap_or(s).to_string());
            if let (Some(a), Some(b)) = (sub(m), sub(r))
                && a != b
            {
                up.push(format!("{m} → {r}: one subcommand uses another"));
            }
        }
    }
    assert!(up.is_empty(), "imports that look up (or sideways):\n{}", up.join("\n"));
    assert_eq!((layer("cmd::tail"), layer("ui::app"), layer("scan")), (0, 1, 2));
    assert_eq!((layer("format::nginx"), layer("source::ssh"), layer("text")), (3, 4, 5));
}

#[test]
fn a_circle_is_found() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        edges.entry(a.into()).or_default().insert(b.into());
        edges.entry(b.into()).or_default();
    }
    let found = circles(&edges);
    assert_eq!(found, [["a", "b", "c"].iter().map(|s| s.to_string()).collect::<BTreeSet<_>>()]);
}

#[test]
fn every_kind_of_path_is_read() {
    let known: BTreeMap<String, String> = ["a", "a::b", "a::b::c", "a::d", "e", "f", "g", "h", "s", "t"]
        .iter()
        .map(|m| (m.to_string(), String::new()))
        .collect();
    let text = r#"
use crate::{e, f::{self, X}};
use super::super::g;
use self::c::Y;
fn x() -> &'static str {
    let _ = '{';
    c::z();
    super::d::w();
    // crate::s::gone
    "crate::s::in_a_string"
}
#[cfg(test)]
mod tests {
    use crate::t;
}
fn later() {
    crate::h::k();
}
"#;
    let found = references("a::b", text, &known);
    let want: BTreeSet<String> = ["a::b::c", "a::d", "e", "f", "g", "h"].iter().map(|m| m.to_string()).collect();
    assert_eq!(found, want);
}
