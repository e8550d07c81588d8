//! The demo's simulated logs: a gateway and its upstream service in an incident, written at once (ten minutes) or
//! live, as their time comes, for the demo to follow.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::generate::GenConfig;
use crate::record::LogTime;

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

/// The secret the demo's identity provider signs with (the simulation's own; it protects nothing).
pub const DEMO_SECRET: &[u8] = b"gatewatch-demo-signing-secret";
/// The demo's identity provider.
pub const DEMO_ISSUER: &str = "https://auth.demo.example";

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
