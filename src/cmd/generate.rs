//! `gatewatch generate`: write realistic gateway and upstream logs.

use std::io::Write;

use anyhow::Context;

use crate::cli::GenerateArgs;
use crate::exit::EXIT_OK;
use crate::generate::{GenConfig, StatusMix};

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

/// `gatewatch generate`.
pub fn run(args: GenerateArgs) -> anyhow::Result<i32> {
    let cfg = gen_config(&args)?;
    let gw = crate::format::writers::gateway(&args.format).ok_or_else(|| {
        anyhow::anyhow!(
            "cannot write format {:?}; writable: {}",
            args.format,
            crate::format::writers::GATEWAY.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )
    })?;
    let up = crate::format::writers::upstream(&args.upstream_format).ok_or_else(|| {
        anyhow::anyhow!("cannot write upstream format {:?}; writable: json, logfmt, plain", args.upstream_format)
    })?;
    let mut gw_out: Box<dyn Write> = if args.gateway_out == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(&args.gateway_out).with_context(|| format!("cannot create {}", args.gateway_out))?,
        )
    };
    let mut up_file = match &args.upstream_out {
        Some(p) => Some(std::fs::File::create(p).with_context(|| format!("cannot create {p}"))?),
        None => None,
    };
    let upstream = up_file.as_mut().map(|f| (up, f as &mut dyn Write));
    let (g, u) = crate::generate::generate(cfg, gw, &mut gw_out, upstream)?;
    if args.gateway_out != "-" {
        crate::output::warn(format_args!(
            "wrote {g} gateway lines to {}{}",
            args.gateway_out,
            args.upstream_out.as_ref().map_or(String::new(), |p| format!(" and {u} upstream lines to {p}"))
        ));
    }
    Ok(EXIT_OK)
}
