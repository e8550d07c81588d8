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

/// Run the demo.
pub fn run(args: DemoArgs) -> anyhow::Result<i32> {
    let temp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            d.clone()
        }
        None => {
            temp = tempfile::Builder::new().prefix("gatewatch-demo-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
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
    let (report, failed) = crate::commands::build_report(&opts, &sources);
    crate::commands::print_report(&report, args.json)?;
    Ok(if failed { crate::commands::EXIT_SOURCE_ERROR } else { crate::commands::EXIT_OK })
}
