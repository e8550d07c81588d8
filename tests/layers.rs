//! The module graph looks down: no new import circle. Circles are found from the code's own `crate::` and
//! `super::` paths, file by file; the circles that exist today are listed below and may only shrink (a file that
//! leaves one is fine, a new circle or a file joining one fails).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The circles the code has today, each a set of modules; they are to be taken apart, not added to.
const KNOWN: &[&[&str]] =
    &[&["replay::curl", "replay::request"], &["source::command", "source::resume", "source::ssh", "source::stream"]];

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

/// The modules `text` (the code of `module`) refers to.
fn references(module: &str, text: &str, known: &BTreeMap<String, String>) -> BTreeSet<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = BTreeSet::new();
    // code only: the tests inside a file may look anywhere, and comments (doc links) import nothing
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let code: String = code.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let code = code.as_str();
    let parent: Vec<&str> = module.split("::").collect();
    for (at, _) in code.match_indices("crate::").chain(code.match_indices("super::")) {
        if at > 0 && code[..at].ends_with(ident) {
            continue;
        }
        let rest = &code[at..];
        let (base, rest): (Vec<&str>, &str) = if let Some(r) = rest.strip_prefix("crate::") {
            (Vec::new(), r)
        } else {
            let r = rest.strip_prefix("super::").unwrap();
            (parent[..parent.len().saturating_sub(1)].to_vec(), r)
        };
        // `a::b::c`, or a group `{a, b::c}`
        let items: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            group.split('}').next().unwrap_or("").split(',').collect()
        } else {
            vec![rest]
        };
        for item in items {
            let segs: Vec<&str> = item
                .trim()
                .split("::")
                .map(|s| s.split(|c: char| !ident(c)).next().unwrap_or(""))
                .take_while(|s| !s.is_empty())
                .collect();
            let mut path = base.clone();
            path.extend(segs);
            if let Some(m) = resolve(&path, known).filter(|m| m != module) {
                out.insert(m);
            }
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
    for c in circles(&edges) {
        let allowed = known.iter().any(|k| c.is_subset(k));
        assert!(allowed, "a new import circle (or a module joined an old one): {c:?}");
    }
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
