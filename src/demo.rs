//! `gatewatch demo`: simulate an incident with the generator and show what gatewatch makes of it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::cli::{DemoArgs, GenerateArgs};
use crate::generate::{GenConfig, StatusMix};
use crate::record::{LogTime, Role};

/// The generator settings for `gatewatch generate`'s flags.
pub fn gen_config(args: &GenerateArgs) -> anyhow::Result<GenConfig> {
    let mut cfg =
        GenConfig { requests: args.requests, incident: args.incident, seed: args.seed, ..GenConfig::default() };
    anyhow::ensure!(args.rate > 0.0 && args.rate.is_finite(), "--rate must be a positive number");
    cfg.rate = args.rate;
    if let Some(sc) = args.scenario {
        cfg.scenario = Some(sc);
        cfg.requests = sc.requests(args.rate).unwrap_or(args.requests);
    }
    if let Some(mix) = &args.mix {
        cfg.mix = StatusMix::parse(mix)?;
    }
    if let Some(start) = &args.start {
        let t = crate::format::time::parse_iso(start.as_bytes())
            .ok_or_else(|| anyhow::anyhow!("--start {start:?}: want RFC 3339, e.g. 2024-05-01T12:00:00Z"))?;
        cfg.start = t;
    }
    Ok(cfg)
}

/// The demo's simulation: ten minutes of a gateway at 50 requests/s, with an incident in the middle.
pub fn demo_config(seed: u64) -> GenConfig {
    GenConfig {
        requests: 30_000,
        rate: 50.0,
        start: LogTime { unix_us: 1_714_564_800_000_000, offset_s: 0 },
        incident: true,
        seed,
        ..GenConfig::default()
    }
}

/// Write the demo's gateway and upstream logs into `dir`; returns their paths.
pub fn write_demo_logs(dir: &std::path::Path, seed: u64) -> anyhow::Result<(PathBuf, PathBuf)> {
    let gw_path = dir.join("gateway-access.log");
    let up_path = dir.join("orders-api.log");
    let mut gw = std::io::BufWriter::new(
        std::fs::File::create(&gw_path).with_context(|| format!("cannot create {}", gw_path.display()))?,
    );
    let mut up = std::io::BufWriter::new(
        std::fs::File::create(&up_path).with_context(|| format!("cannot create {}", up_path.display()))?,
    );
    let gw_writer = crate::format::writers::gateway("nginx").expect("nginx writer");
    let up_writer = crate::format::writers::upstream("json").expect("json writer");
    crate::generate::generate(demo_config(seed), gw_writer, &mut gw, Some((up_writer, &mut up)))?;
    gw.flush()?;
    up.flush()?;
    Ok((gw_path, up_path))
}

/// Run the demo: the live console on a terminal, else (or with `--report`/`--json`) the report.
pub fn run(args: DemoArgs) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    if args.report || args.json || !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return report(args);
    }
    live(args)
}

/// Where the demo writes its logs: `--dir` (created if needed), else a temporary directory that lives as long as
/// the returned guard.
fn demo_dir(dir: Option<&std::path::Path>) -> anyhow::Result<(Option<tempfile::TempDir>, PathBuf)> {
    Ok(match dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            (None, d.to_path_buf())
        }
        None => {
            let temp = tempfile::Builder::new().prefix("gatewatch-demo-").tempdir()?;
            let path = temp.path().to_path_buf();
            (Some(temp), path)
        }
    })
}

/// The live demo: a writer appends to a gateway log and an upstream log in real time (a minute of history
/// first, then an incident twenty seconds in) while the console follows both.
fn live(args: DemoArgs) -> anyhow::Result<i32> {
    anyhow::ensure!(args.rate > 0.0 && args.rate.is_finite(), "--rate must be a positive number");
    let (_temp, dir) = demo_dir(args.dir.as_deref())?;
    let gw = dir.join("gateway-access.log");
    let up = dir.join("orders-api.log");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (gw, up, stop) = (gw.clone(), up.clone(), stop.clone());
        let (rate, seed) = (args.rate, args.seed);
        std::thread::spawn(move || write_live(&gw, &up, rate, seed, &stop))
    };
    // the files exist before the target may append to them
    for p in [&gw, &up] {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    let target = crate::demo_target::start(gw.clone(), up.clone())?;
    let console = crate::cli::ConsoleArgs {
        replay_base: Some(format!("http://{target}")),
        with_rotated: false,
        theme: args.theme.clone(),
        tail: 100_000,
        live: crate::cli::LiveArgs::default(),
        markers: args.markers.clone(),
        input: crate::cli::InputArgs::default(),
        sources: Vec::new(),
    };
    let mut setup = crate::ui::run::setup(&console)?;
    // the simulation's upstream addresses (10.0.0.5–8) are fiction: replay goes to the demo's own service on
    // loopback, never to those addresses on the network the demo runs in
    if setup.replay.allow_hosts.is_none() {
        setup.replay.allow_hosts = Some(vec![target.ip().to_string()]);
    }
    // the demo's tokens are signed with its own secret: J checks them with it unless the config names a key
    if setup.token.key.is_none() {
        setup.token.key = Some(crate::token::keys::KeySpec::Secret(DEMO_SECRET.to_vec()));
        setup.token.expect.iss = vec![DEMO_ISSUER.into()];
        setup.token.expect.aud = vec!["orders-api".into()];
    }
    let sources = vec![
        (gw.display().to_string(), crate::tail::SourceKind::File(gw.clone()), Some(Role::Gateway)),
        (up.display().to_string(), crate::tail::SourceKind::File(up.clone()), Some(Role::Upstream)),
    ];
    let code = crate::ui::run::open(sources, setup);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().map_err(|_| anyhow::anyhow!("the demo's writer failed"))?;
    let code = code?;
    written?;
    Ok(code)
}

/// The secret the demo's identity provider signs with (the simulation's own; it protects nothing).
const DEMO_SECRET: &[u8] = b"gatewatch-demo-signing-secret";
/// The demo's identity provider.
const DEMO_ISSUER: &str = "https://auth.demo.example";

/// For a 401 of the incident, the auth check's warning (the gateway asks the service to check tokens): the token
/// it rejected, which the key rotation expired 90 s before the request, as a careless service logs it. `J` on the
/// request finds it.
fn rejected_token_line(r: &crate::synth::SynthRequest, out: &mut Vec<u8>) {
    let at = r.time.unix_us / 1_000_000;
    let claims = serde_json::json!({
        "iss": DEMO_ISSUER, "aud": "orders-api", "sub": r.consumer.as_deref().unwrap_or("client"),
        "scope": "orders:read", "iat": at - 3690, "exp": at - 90,
    });
    let header = jsonwebtoken::Header {
        kid: Some("2024-04".into()),
        ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
    };
    let Ok(key) = jsonwebtoken::EncodingKey::from_secret(DEMO_SECRET) else { return };
    let Ok(token) = jsonwebtoken::encode(&header, &claims, &key) else { return };
    let line = serde_json::json!({
        "time": r.time.to_rfc3339_utc(), "level": "warn", "msg": "auth check: rejected an expired token",
        "request_id": r.request_id, "status": 401, "authorization": format!("Bearer {token}"),
    });
    out.extend_from_slice(line.to_string().as_bytes());
    out.push(b'\n');
}

fn now_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// Append simulated traffic to the two logs until `stop`: each round is four minutes of log time starting a minute
/// in the past (written at once), the rest written as its time comes, with the incident in the middle third.
pub fn write_live(
    gw_path: &std::path::Path,
    up_path: &std::path::Path,
    rate: f64,
    seed: u64,
    stop: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<()> {
    let open = |p: &std::path::Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .with_context(|| format!("cannot write {}", p.display()))
    };
    let (mut gw, mut up) = (open(gw_path)?, open(up_path)?);
    let gw_writer = crate::format::writers::gateway("nginx").expect("nginx writer");
    let up_writer = crate::format::writers::upstream("json").expect("json writer");
    let (mut gbuf, mut ubuf) = (Vec::new(), Vec::new());
    for round in 0.. {
        let cfg = GenConfig {
            requests: (rate * 240.0) as u64,
            rate,
            start: LogTime { unix_us: now_us() - 60_000_000, offset_s: 0 },
            incident: true,
            seed: seed + round,
            ..GenConfig::default()
        };
        // the gateway reloads a few seconds before the incident (nginx writes the notice to the same stream when
        // both logs go to the container's output): the console marks it on its charts
        let reload_at = (cfg.requests / 3).saturating_sub((rate * 4.0) as u64);
        let mut g = crate::generate::Generator::new(cfg);
        let mut n = 0u64;
        while let Some(r) = g.next_request() {
            n += 1;
            while r.time.unix_us > now_us() {
                // flush what is due, then wait for this request's moment
                if !gbuf.is_empty() {
                    gw.write_all(&gbuf)?;
                    up.write_all(&ubuf)?;
                    gbuf.clear();
                    ubuf.clear();
                }
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return Ok(());
                }
                let wait = (r.time.unix_us - now_us()).clamp(1_000, 50_000);
                std::thread::sleep(std::time::Duration::from_micros(wait as u64));
            }
            if n == reload_at
                && let Ok(t) = jiff::Timestamp::from_microsecond(r.time.unix_us)
            {
                let stamp = t.strftime("%Y/%m/%d %H:%M:%S");
                gbuf.extend_from_slice(format!("{stamp} [notice] 1#1: signal process started\n").as_bytes());
            }
            gw_writer(&r, &mut gbuf);
            gbuf.push(b'\n');
            if crate::generate::upstream_logged(&r) {
                up_writer(&r, &mut ubuf);
                ubuf.push(b'\n');
            }
            if r.status == 401 {
                rejected_token_line(&r, &mut ubuf);
            }
        }
    }
    Ok(())
}

/// Print the report on ten simulated minutes.
fn report(args: DemoArgs) -> anyhow::Result<i32> {
    let (_temp, dir) = demo_dir(args.dir.as_deref())?;
    let (gw, up) = write_demo_logs(&dir, args.seed)?;
    if !args.json {
        println!("Simulated incident: 10 minutes of gateway traffic. Partway through, upstream");
        println!("10.0.0.7 refuses connections, the orders service times out, an auth key");
        println!("rotation expires tokens and a batch client gets rate limited.");
        // a temporary directory is gone when the demo ends: only name logs that stay
        match &args.dir {
            Some(_) => println!("Logs: {}\n      {}\n", gw.display(), up.display()),
            None => println!("(the logs are removed at exit; `gatewatch demo --dir DIR` keeps them)\n"),
        }
    }
    let opts = crate::report::ScanOptions::default();
    let sources =
        vec![(gw.display().to_string(), Some(Role::Gateway)), (up.display().to_string(), Some(Role::Upstream))];
    let (report, failed) = crate::commands::build_report(&opts, &sources, None, Vec::new());
    crate::commands::print_report(&report, args.json)?;
    Ok(if failed { crate::commands::EXIT_SOURCE_ERROR } else { crate::commands::EXIT_OK })
}
