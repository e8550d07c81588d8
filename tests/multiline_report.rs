//! Stack traces under a service's error lines (Java in plain text, Python's traceback among JSON lines, a Go
//! panic among logfmt) belong to the record above them: counted as its continuation, not as unparsed lines, and
//! the exception they name is quoted by the 500s' diagnosis.

use std::process::Command;

use serde_json::Value;

fn report(name: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args(["report", "--json", &format!("tests/fixtures/multiline/{name}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn stack_traces_continue_their_record_and_name_the_cause() {
    for (name, format, records, continuation, exception) in [
        ("java.log", "plain", 4, 9, "java.lang.IllegalStateException: Connection pool exhausted (2)"),
        ("python.jsonl", "json", 3, 6, "KeyError: '1856' (1)"),
        ("go.logfmt", "logfmt", 3, 5, "panic: runtime error: invalid memory address or nil pointer dereference (1)"),
    ] {
        let r = report(name);
        let s = &r["sources"][0];
        assert_eq!(s["format"], format, "{name}");
        assert_eq!(
            (&s["parsed"], &s["unparsed"], &s["continuation"]),
            (&records.into(), &0.into(), &continuation.into()),
            "{name}: {s}"
        );
        let d = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 500).unwrap();
        let want = format!("service exception: {exception}");
        assert!(d["evidence"].as_array().unwrap().iter().any(|e| e == &Value::from(want.as_str())), "{name}: {d}");
        // the 200s after a trace are records again
        assert_eq!(r["status"]["200"], 2, "{name}");
    }
}

/// A gateway's line that does not fit is still unparsed, not taken for a continuation.
#[test]
fn a_gateway_line_that_does_not_fit_stays_unparsed() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("access.log");
    std::fs::write(
        &f,
        "10.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET /a HTTP/1.1\" 500 12 \"-\" \"curl/8\"\nsomething else entirely\n",
    )
    .unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_gatewatch")).args(["report", "--json", f.to_str().unwrap()]).output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&r["sources"][0]["unparsed"], &r["sources"][0]["continuation"]), (&1.into(), &0.into()));
}

fn trace(id: &str, name: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args(["trace", "--json", id, &format!("tests/fixtures/multiline/{name}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn trace_carries_each_error_records_stack_trace() {
    let lines = |t: &Value| -> Vec<String> {
        t["hops"][0]["continuation"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect()
    };
    let java = lines(&trace("1af7651916cd43dd8448eb211c80319c", "java.log"));
    assert_eq!(java.len(), 7, "{java:?}");
    assert_eq!(java[0], "java.lang.IllegalStateException: Connection pool exhausted");
    assert!(java[4].starts_with("Caused by: java.sql.SQLTransientConnectionException"));
    // the next error's trace is its own: two lines, then the 200 after it is not part of it
    assert_eq!(lines(&trace("2af7651916cd43dd8448eb211c80319c", "java.log")).len(), 2);
    let python = lines(&trace("5af7651916cd43dd8448eb211c80319c", "python.jsonl"));
    assert_eq!(
        (python.first().unwrap().as_str(), python.last().unwrap().as_str()),
        ("Traceback (most recent call last):", "KeyError: '1856'")
    );
    let go = lines(&trace("8af7651916cd43dd8448eb211c80319c", "go.logfmt"));
    assert_eq!(go.len(), 6, "the blank line inside the panic kept: {go:?}");
    assert!(go[5].contains("/app/handler.go:42"));
    // a record that is not an error carries none
    let ok = trace("0af7651916cd43dd8448eb211c80319c", "java.log");
    assert!(ok["hops"][0].get("continuation").is_none(), "{ok}");
}

/// `tail --json` carries a stack trace's lines with the record they continue (`continuation_of`: its line number),
/// and a filter keeps or drops them with their record.
#[test]
fn tail_json_carries_each_line_with_the_record_it_continues() {
    for (name, continuation) in [("java.log", 9), ("python.jsonl", 6), ("go.logfmt", 5)] {
        let out = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
            .args(["tail", "--json", "--filter", "status>=500", "-"])
            .stdin(std::fs::File::open(format!("tests/fixtures/multiline/{name}")).unwrap())
            .output()
            .unwrap();
        let lines: Vec<Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let records: Vec<u64> =
            lines.iter().filter(|l| l["parsed"] == true).map(|l| l["line"].as_u64().unwrap()).collect();
        assert!(!records.is_empty(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(lines.iter().filter(|l| l["parsed"] == true).all(|l| l["status"] == 500), "{name}: only the 500s");
        let mut of = None;
        let mut continued = 0;
        for l in &lines {
            match l["continuation_of"].as_u64() {
                // each continuation line follows its record, or another line of it
                Some(n) => {
                    assert_eq!(Some(n), of, "{name}: {l}");
                    assert!(l["raw"].is_string() && l.get("status").is_none(), "{name}: {l}");
                    continued += 1;
                }
                None => of = l["line"].as_u64(),
            }
        }
        assert_eq!(continued, continuation, "{name}: every stack trace line is under a 500");
    }
}
