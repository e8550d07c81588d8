//! `gatewatch trace` joins nginx error-log lines (no request id) to the traced request: exact, ambiguous, none,
//! and an error log in another zone than the access log said rather than missed.

use std::process::Command;

use serde_json::Value;

const RID: &str = "0af7651916cd43dd8448eb211c80319c";

fn access(offset: &str, time: &str) -> String {
    format!(
        "10.0.0.1 - - [01/May/2024:{time} {offset}] \"GET /v1/orders/1 HTTP/1.1\" 502 157 \"-\" \"curl/8\" rid={RID} \
         rt=0.001 urt=\"0.001\" us=\"502\" ua=\"10.0.0.7:8080\"\n"
    )
}

fn error(time: &str, conn: u32) -> String {
    format!(
        "2024/05/01 {time} [error] 31#31: *{conn} connect() failed (111: Connection refused) while connecting to \
         upstream, client: 10.0.0.1, server: api, request: \"GET /v1/orders/1 HTTP/1.1\", upstream: \
         \"http://10.0.0.7:8080/v1/orders/1\", host: \"api\"\n"
    )
}

fn trace(access_log: &str, error_log: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let (a, e) = (dir.path().join("access.log"), dir.path().join("error.log"));
    std::fs::write(&a, access_log).unwrap();
    std::fs::write(&e, error_log).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args(["trace", "--json", RID, a.to_str().unwrap(), e.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn joined(t: &Value) -> Vec<&Value> {
    t["hops"].as_array().unwrap().iter().filter(|h| h["joined_by"] == "client+request+time").collect()
}

#[test]
fn exact_ambiguous_and_none() {
    let t = trace(&access("+0200", "12:03:18"), &error("12:03:17", 5));
    let j = joined(&t);
    assert_eq!(j.len(), 1, "{t:#}");
    assert_eq!(j[0]["ambiguous"], false);
    assert_eq!(j[0]["record"]["time"], "2024-05-01T10:03:17.000Z");

    let t = trace(&access("+0200", "12:03:18"), &(error("12:03:17", 5) + &error("12:03:17", 6)));
    let j = joined(&t);
    assert_eq!(j.len(), 2, "{t:#}");
    assert!(j.iter().all(|h| h["ambiguous"] == true), "{t:#}");

    let t = trace(&access("+0200", "12:03:18"), &error("12:03:40", 5));
    assert!(joined(&t).is_empty(), "{t:#}");
}

#[test]
fn an_error_log_in_another_zone_is_said() {
    // the access log is written in UTC, the error log in the host's +02:00
    let t = trace(&access("+0000", "10:03:18"), &error("12:03:17", 5));
    assert!(joined(&t).is_empty(), "{t:#}");
    let notes: Vec<&str> = t["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(notes.iter().any(|n| n.contains("2h00 away") && n.contains("another zone")), "{notes:?}");
}
