//! Bad input, on the stable toolchain: every input the fuzzers keep (tests/fixtures/fuzz/<harness>/) and every log
//! fixture goes through the harnesses the fuzz targets run (src/fuzzing.rs). None may panic; each is timed, and
//! a slow one (over a second on an unloaded machine) is named.

use std::path::Path;
use std::time::{Duration, Instant};

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn every_kept_input_and_fixture_passes_every_harness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut ran = 0;
    let mut slow = Vec::new();
    for (name, harness) in gatewatch::fuzzing::HARNESSES {
        // its own corpus, and every log fixture (bad input for some harnesses, good for others)
        let mut inputs = files(&root.join("fuzz").join(name));
        inputs.extend(["app", "nginx", "proxies", "haproxy", "jwt"].iter().flat_map(|d| files(&root.join(d))));
        for path in inputs {
            let data = std::fs::read(&path).unwrap();
            let start = Instant::now();
            let result = std::panic::catch_unwind(|| harness(&data));
            assert!(result.is_ok(), "{name} panicked on {}", path.display());
            let took = start.elapsed();
            if took > Duration::from_secs(1) {
                slow.push((format!("{name} {}", path.display()), took));
            }
            ran += 1;
        }
    }
    assert!(ran > 50, "inputs ran: {ran}");
    // a loaded CI machine is slower than the fuzzers' one second: only a hang-like time fails here
    assert!(slow.iter().all(|(_, took)| *took < Duration::from_secs(10)), "inputs that took too long: {slow:?}");
}
