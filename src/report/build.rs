//! Scan every source of a report and build it, with the causes the error logs give for the gateway's failures.

use crate::format::Format;
use crate::input::ScanOptions;
use crate::record::Role;
use crate::report::{Report, ScannedSource, scan_source};

/// Scan every source and build the report; unreadable sources are reported on stderr.
pub fn build_report(
    opts: &ScanOptions,
    sources: &[(String, Option<Role>)],
    baseline: Option<crate::report::baseline::Baseline>,
    markers: Vec<(i64, crate::report::model::MarkerRow)>,
) -> (Report, bool) {
    let mut scanned = Vec::new();
    let mut failed = false;
    for (path, role) in sources {
        match scan_source(path, *role, opts) {
            Ok(s) => scanned.push(s),
            Err(e) => {
                failed = true;
                crate::output::warn(format_args!("{e:#}"));
            }
        }
    }
    error_log_causes(opts, sources, &mut scanned);
    (Report::build(scanned, &opts.alert_rules, baseline, markers), failed)
}

/// 502/504 records of the gateway sources joined per end of each source for the diagnosis' error-log causes.
const CAUSES_JOINED: usize = 200;

/// When the gateway answered 502, 503 or 504 and a source reads as nginx's error log or Envoy's own log, the
/// causes it gives for those requests go into the gateway's evidence (only then is anything read again).
fn error_log_causes(opts: &ScanOptions, sources: &[(String, Option<Role>)], scanned: &mut [ScannedSource]) {
    let failed = |s: &ScannedSource| (502..=504).any(|c| s.tally.evidence.0.contains_key(&c));
    let gateways: Vec<String> =
        scanned.iter().filter(|s| s.role == Role::Gateway && failed(s)).map(|s| s.path.clone()).collect();
    let plain: Vec<(String, Option<Role>)> = scanned
        .iter()
        .filter(|s| matches!(s.parser.format, Format::Plain))
        .map(|s| (s.path.clone(), sources.iter().find(|(p, _)| *p == s.path).and_then(|(_, r)| *r)))
        .collect();
    if gateways.is_empty() || plain.is_empty() {
        return;
    }
    let mut causes = crate::diagnose::EvidenceSet::default();
    crate::errorlog::causes_into(&plain, &gateways, opts, CAUSES_JOINED, &mut causes);
    crate::stream_join::causes_into(&plain, &gateways, opts, CAUSES_JOINED, &mut causes);
    if let Some(gw) = scanned.iter_mut().find(|s| s.path == gateways[0]) {
        // the causes only: the requests were counted from the access log
        gw.tally.evidence.merge(causes);
    }
}
