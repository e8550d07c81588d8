//! `gatewatch replay`: send logged requests again and compare what comes back with what the log says happened.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use crate::cli::ReplayArgs;
use crate::config::Config;
use crate::exit::{EXIT_OK, EXIT_SOURCE_ERROR, usage, usage_msg};
use crate::filter::Filter;
use crate::output::{json_string, paint};
use crate::replay::batch::{self, BatchOptions, Logged, Summary, Verdict};
use crate::replay::compare;
use crate::replay::request::{self, BuildOptions, Request, expects_body, is_idempotent};
use crate::replay::safety::{Redactor, check_request};
use crate::replay::select::{Pick, pick};
use crate::replay::send::{Outcome, SendOptions};
use crate::replay::settings::{Settings, Transport, TransportFlags};
use crate::replay::show;
use crate::replay::upstream;
use crate::text::escape_control;

/// One request to replay, with where it came from.
struct Item {
    source: Option<String>,
    line: Option<u64>,
    logged: Option<Logged>,
    logged_id: Option<String>,
    sent_id: Option<String>,
    /// What is sent: through the gateway, or straight to the upstream (`--to-upstream`).
    request: Request,
    /// With `--both`, the same request straight to the upstream.
    upstream: Option<Request>,
    /// Whether `request` goes straight to the upstream.
    to_upstream: bool,
}

impl Item {
    /// What is sent for it, in order.
    fn requests(&self) -> impl Iterator<Item = &Request> {
        std::iter::once(&self.request).chain(&self.upstream)
    }
}

/// The body from a file, or standard input for `-`.
fn read_body(path: &str) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if path == "-" {
        std::io::stdin().read_to_end(&mut buf).context("cannot read the body from standard input")?;
    } else {
        buf = std::fs::read(path).with_context(|| format!("cannot read the body file {path}"))?;
    }
    Ok(buf)
}

/// Seconds from a flag, as a duration (a usage error when negative or not a number).
fn secs(s: f64, what: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| usage_msg(&format!("{what} takes a number of seconds, not {s}")))
}

/// The requests the arguments select, rebuilt.
fn plan(args: &ReplayArgs, settings: &Settings, body: Option<Vec<u8>>) -> anyhow::Result<Vec<Item>> {
    let build = |base: &str| BuildOptions {
        base_host: args.base_host.clone(),
        keep_id: args.keep_id,
        body: body.clone(),
        follow_redirects: args.follow_redirects,
        ..settings.build_options(base.to_string())
    };
    if let Some(cmd) = &args.from_curl {
        let mut req = crate::replay::curl::from_curl(cmd).map_err(usage)?;
        if let Some(base) = &settings.base {
            req.url = request::join(base, &req.url).map_err(usage)?;
        }
        if let Some(host) = &args.base_host {
            req.set_header("Host", host);
        }
        let (logged_id, sent_id) = request::assign_id(&mut req, &settings.id_header, args.keep_id);
        for (n, v) in &settings.headers {
            req.set_header(n, v);
        }
        if let Some(b) = body {
            req.body = Some(b);
        }
        req.follow_redirects |= args.follow_redirects;
        settings.transport.apply(&mut req);
        return Ok(vec![Item {
            source: None,
            line: None,
            logged: None,
            logged_id,
            sent_id: Some(sent_id),
            request: req,
            upstream: None,
            to_upstream: false,
        }]);
    }
    // straight to the upstream, the base only gives the scheme (and the address is replaced)
    let base = match (settings.base.as_deref(), args.to_upstream) {
        (Some(b), _) => b,
        (None, true) => "http://upstream.invalid",
        (None, false) => {
            return Err(usage_msg("no target: give --base URL (or base_url in the config's [replay] table)"));
        }
    };
    let opts = crate::open::scan_options(&args.input).map_err(usage)?;
    let sources = crate::open::sources(&args.input, &args.sources);
    if sources.is_empty() {
        return Err(usage_msg(
            "no log files given (try `gatewatch replay access.log --base http://127.0.0.1:8080 --id …`)",
        ));
    }
    let what = match (&args.id, args.line, &args.filter) {
        (Some(id), _, _) => Pick::Id(id.clone()),
        (_, Some(n), _) => Pick::Line(n),
        (_, _, Some(f)) => Pick::Filter { filter: Filter::parse(f).map_err(usage)?, max: args.max },
        _ => unreachable!("clap requires one of --id, --line, --filter, --from-curl"),
    };
    let picked = pick(&sources, &what, &opts).map_err(usage)?;
    if picked.is_empty() {
        return Err(usage_msg(
            match &what {
                Pick::Id(id) => format!("no request in the sources carries id {id}"),
                _ => "no record matches the filter".to_string(),
            }
            .as_str(),
        ));
    }
    let opts = build(base);
    picked
        .into_iter()
        .map(|p| {
            let rebuilt = request::from_record(&p.record, &opts).map_err(usage)?;
            let upstream = if args.to_upstream || args.both {
                let place = format!("{}:{}", p.source, p.line);
                let addr = upstream::pick(&upstream::addresses(&p.record), args.attempt)
                    .map_err(|e| usage_msg(&format!("{place}: {e}")))?;
                let up = settings.transport.to_upstream(&rebuilt.request, &addr);
                Some(up.map_err(|e| usage_msg(&format!("{place}: {e}")))?)
            } else {
                None
            };
            let mut gateway = rebuilt.request;
            settings.transport.apply(&mut gateway);
            let (request, upstream) =
                if args.to_upstream { (upstream.expect("aimed above"), None) } else { (gateway, upstream) };
            Ok(Item {
                source: Some(p.source),
                line: Some(p.line),
                logged: Some(Logged::of(&p.record)),
                logged_id: rebuilt.logged_id,
                sent_id: rebuilt.sent_id,
                request,
                upstream,
                to_upstream: args.to_upstream,
            })
        })
        .collect()
}

/// Refuse before anything is sent: a target outside the allowlist, and (when it would be sent) a method that is
/// not idempotent without `--allow-unsafe`.
fn check(items: &[Item], settings: &Settings, unsafe_refused: bool) -> anyhow::Result<()> {
    for req in items.iter().flat_map(Item::requests) {
        check_request(req, settings.allow_hosts.as_deref()).map_err(usage)?;
    }
    let unsafe_items: Vec<&Item> = items.iter().filter(|it| !is_idempotent(&it.request.method)).collect();
    match unsafe_items.first() {
        Some(first) if unsafe_refused => {
            let refusal = crate::replay::safety::Refusal::Unsafe(first.request.method.clone());
            if items.len() == 1 {
                return Err(usage(refusal));
            }
            let place = match (&first.source, first.line) {
                (Some(s), Some(l)) => format!("{s}:{l}"),
                _ => "the request".into(),
            };
            Err(usage_msg(&format!(
                "{refusal}; {} of the {} selected requests are not idempotent, the first at {place} (nothing sent; \
                 narrow the filter, e.g. `and method=GET`)",
                unsafe_items.len(),
                items.len()
            )))
        }
        _ => Ok(()),
    }
}

/// `gatewatch replay`.
pub fn run(args: ReplayArgs) -> anyhow::Result<i32> {
    let config = Config::load(args.input.config.as_deref()).map_err(usage)?;
    let mut settings =
        Settings::new(&config.replay, args.base.as_deref(), &args.header, args.show_secrets).map_err(usage)?;
    let flags = TransportFlags {
        connect_to: args.connect_to.clone(),
        resolve: args.resolve.clone(),
        cacert: args.cacert.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
        tls_server_name: args.tls_server_name.clone(),
        insecure: args.insecure,
        upstream_scheme: args.upstream_scheme.clone(),
    };
    settings.transport = Transport::new(&config.replay, &flags).map_err(usage)?;
    if args.both && settings.base.is_none() {
        return Err(usage_msg("--both sends through the gateway too: give --base URL (or [replay] base_url)"));
    }
    if args.attempt.is_some() && !(args.to_upstream || args.both) {
        return Err(usage_msg("--attempt picks the upstream attempt for --to-upstream or --both"));
    }
    let body = args.body.as_deref().map(read_body).transpose().map_err(usage)?;
    let timeout = secs(args.timeout, "--timeout")?;
    let cap = secs(args.max_backoff, "--max-backoff")?;
    let cooldown = secs(args.break_cooldown, "--break-cooldown")?;
    let rate = match args.rate {
        Some(r) if !(r.is_finite() && (0.001..=1e6).contains(&r)) => {
            return Err(usage_msg(&format!("--rate takes requests per second from 0.001 to 1000000, not {r}")));
        }
        r => r,
    };
    let items = plan(&args, &settings, body)?;
    // --curl and --dry-run send nothing: only what is sent needs --allow-unsafe
    let sends = !(args.curl || args.dry_run);
    check(&items, &settings, sends && !args.allow_unsafe)?;
    for it in items.iter().filter(|it| expects_body(&it.request.method) && it.request.body.is_none()).take(1) {
        crate::output::warn(format_args!(
            "note: logs do not carry bodies; {} is sent without one (give it with --body FILE)",
            it.request.method
        ));
    }
    if let Some((it, wire)) = items.iter().find_map(|it| Some((it, request::rewritten(&it.request.url)?))) {
        crate::output::warn(format_args!(
            "note: {} goes out as {wire}: the HTTP client encodes what a URL may not hold raw and resolves ./.. segments",
            it.request.url
        ));
    }
    let redactor = &settings.redactor;
    let mut out = std::io::stdout().lock();
    if args.curl {
        for req in items.iter().flat_map(Item::requests) {
            writeln!(out, "{}", crate::replay::curl::to_curl(req, redactor))?;
        }
        return Ok(EXIT_OK);
    }
    let color = !args.json && crate::output::color_wanted();
    if args.dry_run {
        for it in &items {
            if args.json {
                writeln!(out, "{}", json_string(&item_json(it, None, redactor), false))?;
            } else {
                write!(out, "{}", item_text(it, None, redactor, color))?;
            }
        }
        if !args.json {
            writeln!(out, "dry run: {} request(s) shown, nothing sent", items.len())?;
        }
        return Ok(EXIT_OK);
    }
    // each item's requests in turn: with --both, its gateway request, then its upstream one
    let mut owner = Vec::new();
    let mut jobs: Vec<(Request, SendOptions)> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        for req in it.requests() {
            owner.push(i);
            jobs.push((req.clone(), SendOptions::for_method(&req.method, timeout, args.retries, cap)));
        }
    }
    let opts = BatchOptions {
        concurrency: args.concurrency,
        rate,
        break_after: args.break_after,
        cooldown: (!cooldown.is_zero()).then_some(cooldown),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let mut summary = Summary::default();
    let mut pending: BTreeMap<usize, Option<Outcome>> = BTreeMap::new();
    let (mut next_job, mut all_answered) = (0, true);
    let end = runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let run = tokio::spawn(batch::run(jobs, opts, tx));
        // printed in the order selected, each as soon as those before it are done
        while let Some((i, outcome, _)) = rx.recv().await {
            pending.insert(i, outcome);
            while let Some(&item) = owner.get(next_job) {
                let n = items[item].requests().count();
                if !(next_job..next_job + n).all(|j| pending.contains_key(&j)) {
                    break;
                }
                let got: Vec<Option<Outcome>> =
                    (next_job..next_job + n).map(|j| pending.remove(&j).expect("checked above")).collect();
                let it = &items[item];
                all_answered &= got.iter().all(|o| o.as_ref().is_some_and(Outcome::responded));
                let logged_status = it.logged.as_ref().and_then(|l| l.status);
                summary.add(logged_status, got[0].as_ref());
                if let Some(up) = got.get(1) {
                    summary.add_upstream(logged_status, up.as_ref());
                }
                let sides: Vec<Option<&Outcome>> = got.iter().map(Option::as_ref).collect();
                if args.json {
                    writeln!(out, "{}", json_string(&item_json(it, Some(&sides), redactor), false))?;
                } else {
                    write!(out, "{}", item_text(it, Some(&sides), redactor, color))?;
                }
                out.flush()?;
                next_job += n;
            }
        }
        run.await.context("the replay task failed")
    })?;
    summary.circuit = end.circuit.name();
    summary.circuit_opened = end.opened;
    if args.json {
        writeln!(out, "{}", json_string(&json!({ "summary": summary }), false))?;
    } else {
        write!(out, "{}", summary_text(&summary, color))?;
    }
    out.flush()?;
    Ok(if all_answered && summary.circuit_opened == 0 { EXIT_OK } else { EXIT_SOURCE_ERROR })
}

/// An outcome as JSON, its response headers redacted.
fn outcome_json(o: &Outcome, redactor: &Redactor) -> Value {
    let mut r = serde_json::to_value(o).unwrap_or(Value::Null);
    // response headers can carry secrets too (Set-Cookie)
    r["headers"] = show::headers_json(&o.headers, redactor);
    r
}

/// One request as JSON: `sides` is `None` for a dry run; each side `None` when skipped. With `--both`, the
/// upstream's outcome is `upstream`, and `differ` says where it and the gateway's differ.
fn item_json(it: &Item, sides: Option<&[Option<&Outcome>]>, redactor: &Redactor) -> Value {
    let mut v = json!({
        "source": it.source,
        "line": it.line,
        "method": it.request.method,
        "url": it.request.url,
        "request_id": it.logged_id,
        "sent_request_id": it.sent_id,
        "request": {
            "headers": show::headers_json(&it.request.headers, redactor),
            "body_bytes": it.request.body.as_ref().map(Vec::len),
        },
        "logged": it.logged,
    });
    if it.to_upstream {
        v["to"] = json!("upstream");
    }
    if let Some(wire) = request::rewritten(&it.request.url) {
        v["sent_url"] = Value::String(wire);
    }
    if let Some(up) = &it.upstream {
        v["upstream_url"] = json!(up.url);
    }
    let Some(sides) = sides else {
        v["dry_run"] = Value::Bool(true);
        return v;
    };
    let first = sides.first().copied().flatten();
    v["replayed"] = first.map_or(Value::Null, |o| outcome_json(o, redactor));
    v["verdict"] = json!(Verdict::of(it.logged.as_ref().and_then(|l| l.status), first).name());
    if let Some(up) = sides.get(1) {
        v["upstream"] = up.map_or(Value::Null, |o| outcome_json(o, redactor));
        v["upstream_verdict"] = json!(Verdict::of(it.logged.as_ref().and_then(|l| l.status), *up).name());
        if let (Some(g), Some(u)) = (first, up) {
            v["differ"] = json!(compare::differences(g, u));
        }
    }
    v
}

/// A status with its reason, coloured by class on a terminal.
fn status_paint(color: bool, s: u16) -> String {
    paint(color, crate::output::status_color(s), &show::status_text(s))
}

/// The names of the columns beside the logged one.
fn side_names(it: &Item) -> Vec<&'static str> {
    match (it.to_upstream, it.upstream.is_some()) {
        (true, _) => vec!["upstream"],
        (false, true) => vec!["gateway", "upstream"],
        (false, false) => vec!["replayed"],
    }
}

/// One request as text: where it came from, what was sent, the logged outcome beside what each send got (the
/// gateway's and the upstream's with `--both`), the response. `sides` is `None` for a dry run.
fn item_text(it: &Item, sides: Option<&[Option<&Outcome>]>, redactor: &Redactor, color: bool) -> String {
    use std::fmt::Write as _;
    let e = |s: &str| escape_control(s.as_bytes());
    let mut o = String::new();
    let place = match (&it.source, it.line) {
        (Some(s), Some(l)) => format!("{}:{l}", e(s)),
        _ => "curl".to_string(),
    };
    let _ = writeln!(o, "{}  {} {}", paint(color, "1", &place), e(&it.request.method), e(&it.request.url));
    let id = |v: &Option<String>| v.as_deref().map_or("-".to_string(), e);
    let _ = writeln!(o, "  ids       logged {}  sent {}", id(&it.logged_id), id(&it.sent_id));
    for (n, v) in &it.request.headers {
        let _ = writeln!(o, "  > {}: {}", e(n), e(&redactor.shown(n, v)));
    }
    if let Some(b) = &it.request.body {
        let _ = writeln!(o, "  > ({} byte body)", b.len());
    }
    for (name, req) in side_names(it).iter().zip(it.requests()) {
        if let Some(c) = req.route.connect_to.first() {
            let _ = writeln!(o, "  {:<9} {name} via --connect-to {}", "connect", e(&c.to_arg()));
        }
    }
    let Some(sides) = sides else {
        let _ = writeln!(o, "  not sent (--dry-run)\n");
        return o;
    };
    let logged = it.logged.clone().unwrap_or_default();
    const W: usize = 24;
    // at least two spaces between columns, however wide a cell
    let pad = |s: String, visible: usize| format!("{s}{}", " ".repeat(W.saturating_sub(visible).max(2)));
    let row = |o: &mut String, label: &str, logged: String, cells: Vec<(String, usize)>| {
        let n = cells.len();
        let mut line = format!("  {label:<9} {}", pad(logged.clone(), logged.chars().count()));
        for (i, (c, visible)) in cells.into_iter().enumerate() {
            line.push_str(&if i + 1 < n { pad(c, visible) } else { c });
        }
        let _ = writeln!(o, "{}", line.trim_end());
    };
    let names = side_names(it);
    row(&mut o, "", "logged".into(), names.iter().map(|n| (n.to_string(), n.len())).collect());
    let status_cell = |side: &Option<&Outcome>| match side {
        None => ("skipped (circuit open)".to_string(), 22),
        Some(out) => match out.status {
            Some(s) => (status_paint(color, s), show::status_text(s).chars().count()),
            None => {
                let err = e(out.error.as_deref().unwrap_or("no response"));
                let n = err.chars().count();
                (paint(color, "1;31", &err), n)
            }
        },
    };
    let logged_status = logged.status.map_or("-".into(), show::status_text);
    row(&mut o, "status", logged_status, sides.iter().map(status_cell).collect());
    let plain = |s: String| {
        let n = s.chars().count();
        (s, n)
    };
    let logged_ms = logged.latency_ms.map_or("-".into(), show::ms_text);
    let total = |side: &Option<&Outcome>| plain(side.and_then(|o| o.latency_ms).map_or("-".into(), show::ms_text));
    let headers = |side: &Option<&Outcome>| plain(side.and_then(|o| o.headers_ms).map_or("-".into(), show::ms_text));
    if sides.len() == 1 {
        // one send: total with the time to headers, as it always was
        let cell =
            sides[0].and_then(|out| out.latency_ms.map(|m| (m, out.headers_ms))).map_or("-".to_string(), |(m, h)| {
                format!("{} (headers {})", show::ms_text(m), h.map_or("-".into(), show::ms_text))
            });
        row(&mut o, "latency", logged_ms, vec![plain(cell)]);
    } else {
        row(&mut o, "headers", "-".into(), sides.iter().map(headers).collect());
        row(&mut o, "total", logged_ms, sides.iter().map(total).collect());
        let body = |side: &Option<&Outcome>| plain(side.map_or("-".into(), compare::body_text));
        row(&mut o, "body", "-".into(), sides.iter().map(body).collect());
    }
    if let Some(up) = &logged.upstream_status {
        let _ = writeln!(o, "  {:<9} {}", "upstream", e(up));
    }
    for (name, out) in names.iter().zip(sides.iter()) {
        let Some(out) = out else { continue };
        let label = if sides.len() > 1 { format!("{name}: ") } else { String::new() };
        let attempts: Vec<String> = out.attempts.iter().enumerate().map(|(i, a)| show::attempt_text(i, a)).collect();
        let _ = writeln!(o, "  {:<9} {label}{}", "attempts", e(&attempts.join(" · ")));
        if let Some(to) = &out.connected_to {
            let _ = writeln!(o, "  {:<9} {label}connected to {}", "via", e(to));
        }
        if let Some(note) = &out.note {
            let _ = writeln!(o, "  {:<9} {label}{}", "note", e(note));
        }
        if out.insecure {
            let warn = "certificate NOT checked (--insecure): anyone could have answered";
            let _ = writeln!(o, "  {:<9} {label}{}", "tls", paint(color, "1;31", warn));
        }
    }
    if let [Some(g), Some(u)] = sides {
        let differ = compare::differences(g, u);
        let text = if differ.is_empty() { "nothing".to_string() } else { differ.join(", ") };
        let _ = writeln!(o, "  {:<9} {}", "differ", paint(color, if differ.is_empty() { "2" } else { "1;33" }, &text));
    }
    // against the logged status, each side's: with --both, the gateway's first
    let verdicts: Vec<String> = names
        .iter()
        .zip(sides.iter())
        .map(|(name, side)| {
            let verdict = Verdict::of(logged.status, *side);
            let vcolor = match verdict {
                Verdict::Same => "2",
                Verdict::Changed => "1;33",
                Verdict::Failed | Verdict::Skipped => "1;31",
            };
            let label = if sides.len() > 1 { format!("{name} ") } else { String::new() };
            format!("{label}{}", paint(color, vcolor, verdict.name()))
        })
        .collect();
    let _ = writeln!(o, "  {:<9} {}", "verdict", verdicts.join(", "));
    for (name, out) in names.iter().zip(sides.iter()) {
        let Some(out) = out.filter(|out| out.responded()) else { continue };
        if sides.len() > 1 {
            let _ = writeln!(o, "  {name}:");
        }
        for (n, v) in &out.headers {
            let _ = writeln!(o, "  < {}: {}", e(n), e(&redactor.shown(n, v)));
        }
        const SHOWN: usize = 40;
        let lines = show::body_lines(out);
        for l in lines.iter().take(SHOWN) {
            let _ = writeln!(o, "  | {}", e(l));
        }
        if lines.len() > SHOWN {
            let _ = writeln!(o, "  | … {} more lines (--json has the first 64 KiB)", lines.len() - SHOWN);
        }
    }
    o.push('\n');
    o
}

/// The summary as text: the counts, the circuit, then the logged → replayed matrix (with `--both`, the gateway's
/// and the upstream's).
fn summary_text(s: &Summary, color: bool) -> String {
    let mut o = format!(
        "replayed {}: {} same, {} changed, {} failed, {} skipped; circuit {}{}\n",
        s.replayed,
        s.same,
        s.changed,
        s.failed,
        s.skipped,
        s.circuit,
        match s.circuit_opened {
            0 => String::new(),
            n => paint(color, "1;31", &format!(" (opened {n}×)")),
        }
    );
    let cells = |m: &BTreeMap<String, BTreeMap<String, u64>>| -> Vec<String> {
        m.iter().flat_map(|(from, row)| row.iter().map(move |(to, n)| format!("{from} → {to} ×{n}"))).collect()
    };
    let (replayed, upstream) = (cells(&s.matrix), cells(&s.upstream_matrix));
    // with --both, the first matrix is the gateway's
    let first = if upstream.is_empty() { "replayed" } else { "gateway" };
    if !replayed.is_empty() {
        o.push_str(&format!("logged → {first}: {}\n", replayed.join(", ")));
    }
    if !upstream.is_empty() {
        o.push_str(&format!("logged → upstream: {}\n", upstream.join(", ")));
    }
    o
}
