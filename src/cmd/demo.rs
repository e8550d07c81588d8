//! `gatewatch demo`: simulate an incident with the generator and show what gatewatch makes of it.

use std::path::PathBuf;

use anyhow::Context;

use crate::cli::DemoArgs;
use crate::demo_logs::{DEMO_ISSUER, DEMO_SECRET, write_demo_logs, write_live};
use crate::record::Role;

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
    let console = crate::ui::args::ConsoleArgs {
        replay_base: Some(format!("http://{target}")),
        with_rotated: false,
        theme: args.theme.clone(),
        tail: 100_000,
        live: crate::args::LiveArgs::default(),
        markers: args.markers.clone(),
        input: crate::args::InputArgs::default(),
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
        (gw.display().to_string(), crate::open::SourceKind::File(gw.clone()), Some(Role::Gateway)),
        (up.display().to_string(), crate::open::SourceKind::File(up.clone()), Some(Role::Upstream)),
    ];
    let code = crate::ui::run::open(sources, setup);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().map_err(|_| anyhow::anyhow!("the demo's writer failed"))?;
    let code = code?;
    written?;
    Ok(code)
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
    let opts = crate::input::ScanOptions::default();
    let sources =
        vec![(gw.display().to_string(), Some(Role::Gateway)), (up.display().to_string(), Some(Role::Upstream))];
    let (report, failed) = crate::report::build::build_report(&opts, &sources, None, Vec::new());
    crate::report::print::print_report(&report, args.json)?;
    Ok(if failed { crate::exit::EXIT_SOURCE_ERROR } else { crate::exit::EXIT_OK })
}
