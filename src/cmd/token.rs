//! `gatewatch token`: decode and verify the JWTs in a token, a header or log lines, judged at the request's time.

use std::io::{Read, Write};

use anyhow::Context;

use crate::cli::TokenArgs;
use crate::config::Config;
use crate::exit::{EXIT_OK, EXIT_SOURCE_ERROR, usage, usage_msg};
use crate::input::ScanOptions;
use crate::output::paint;
use crate::text::escape_control;
use crate::token::find::{Found, find};
use crate::token::inspect::Expect;
use crate::token::keys::{JwksCache, KeySpec, secret_from_base64};
use crate::token::show::{Tone, lines};

/// Exit code: a check failed (signature, times, issuer or audience).
pub const EXIT_CHECK_FAILED: i32 = 3;

/// `--at`: RFC 3339, or seconds since the epoch.
fn parse_at(s: &str) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(secs) = s.trim().parse::<i64>() {
        return jiff::Timestamp::from_second(secs).map_err(|e| usage(anyhow::anyhow!("--at {s}: {e}")));
    }
    s.trim()
        .parse::<jiff::Timestamp>()
        .map_err(|_| usage_msg(&format!("--at {s:?}: want RFC 3339 (2026-11-23T13:02:30Z) or epoch seconds")))
}

/// The key the flags name, else the config's.
fn key_spec(args: &TokenArgs, config: Option<KeySpec>) -> anyhow::Result<Option<KeySpec>> {
    Ok(if let Some(s) = &args.secret {
        Some(KeySpec::Secret(s.as_bytes().to_vec()))
    } else if let Some(f) = &args.secret_file {
        Some(KeySpec::Secret(crate::token::secret_file(f)?))
    } else if let Some(b) = &args.secret_base64 {
        Some(KeySpec::Secret(secret_from_base64(b).map_err(usage)?))
    } else if let Some(k) = &args.key {
        Some(KeySpec::Pem(k.clone()))
    } else if let Some(j) = &args.jwks {
        Some(KeySpec::Jwks(j.clone()))
    } else if args.discover {
        Some(KeySpec::Discover)
    } else {
        config
    })
}

/// Each token in the input, with the time of the log record it was found in (when the text is log lines).
fn tokens_in(text: &str) -> Vec<(Found, Option<jiff::Timestamp>)> {
    // a log line gives the request's own time: detect the format on the input itself
    let parser = crate::input::choose_parser(text.as_bytes(), &ScanOptions::default());
    let mut out = Vec::new();
    for line in text.lines() {
        let found = find(line);
        if found.is_empty() {
            continue;
        }
        let time = parser
            .parse(crate::format::trim_line(line.as_bytes()))
            .and_then(|r| r.time)
            .and_then(|t| jiff::Timestamp::from_microsecond(t.unix_us).ok());
        // a token given on its own was found in nothing
        let alone = |f: &Found| f.token == line.trim();
        out.extend(found.into_iter().map(|mut f| {
            if alone(&f) {
                f.place = "the input".into();
            }
            (f, time)
        }));
    }
    out
}

/// `gatewatch token`.
pub fn run(args: TokenArgs) -> anyhow::Result<i32> {
    let config = Config::load(args.config.as_deref()).map_err(usage)?;
    // a key file that cannot be read is exit 1, like a key set that cannot be fetched
    let (config_key, mut expect): (Option<KeySpec>, Expect) = crate::token::from_config(&config.token)?;
    let key = key_spec(&args, config_key)?;
    if !args.iss.is_empty() {
        expect.iss = args.iss.clone();
    }
    if !args.aud.is_empty() {
        expect.aud = args.aud.clone();
    }
    if let Some(l) = args.leeway {
        expect.leeway_s = l;
    }
    if !(0..=crate::token::MAX_LEEWAY_S).contains(&expect.leeway_s) {
        return Err(usage_msg(&format!(
            "the leeway is {} s: give 0 to {} seconds",
            expect.leeway_s,
            crate::token::MAX_LEEWAY_S
        )));
    }
    if key == Some(KeySpec::Discover) && expect.iss.is_empty() {
        // the token names its own issuer: discovery without a trusted issuer trusts whoever signed it
        return Err(usage_msg("--discover needs the issuer(s) to trust: --iss ISSUER (or [token] issuer)"));
    }
    let at = match &args.at {
        Some(s) => parse_at(s)?,
        None => jiff::Timestamp::now(),
    };
    let text = match args.token.as_deref() {
        None | Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).context("cannot read standard input")?;
            String::from_utf8_lossy(&buf).into_owned()
        }
        Some(t) => t.to_string(),
    };
    let mut tokens = tokens_in(&text);
    if tokens.is_empty() {
        // one argument that is shaped like a token but whose header does not decode: say what is wrong with it
        let t = text.trim();
        if args.token.is_some() && t.split('.').count() == 3 && !t.contains(char::is_whitespace) {
            tokens.push((Found { token: t.to_string(), place: "the input".into() }, None));
        } else {
            return Err(usage_msg("no token found: give a JWT (header.payload.signature), or text that holds one"));
        }
    }
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the runtime")?;
    let mut cache = JwksCache::default();
    let mut out = std::io::stdout().lock();
    let color = !args.json && crate::output::color_wanted();
    let mut failed = false;
    let count = tokens.len();
    for (n, (found, record)) in tokens.iter().enumerate() {
        let inspection = match runtime.block_on(crate::token::inspect_found(
            found,
            key.as_ref(),
            &expect,
            at,
            *record,
            &mut cache,
        )) {
            Ok(i) => i,
            Err(e) => {
                crate::output::warn(&e);
                return Ok(EXIT_SOURCE_ERROR);
            }
        };
        failed |= !inspection.valid;
        if args.json {
            writeln!(out, "{}", crate::output::json_string(&inspection, false))?;
            continue;
        }
        if count > 1 {
            writeln!(out, "{}", paint(color, "2", &format!("── {} of {count}", n + 1)))?;
        }
        for (tone, line) in lines(&inspection) {
            let code = match tone {
                Tone::Title => "1",
                Tone::Plain => "0",
                Tone::Dim => "2",
                Tone::Good => "32",
                Tone::Bad => "1;31",
            };
            writeln!(out, "{}", paint(color, code, &escape_control(line.as_bytes())))?;
        }
        if inspection.claims.is_object() {
            let pretty = serde_json::to_string_pretty(&inspection.claims)?;
            writeln!(out, "{}", paint(color, "2", "claims"))?;
            for l in pretty.lines() {
                writeln!(out, "  {}", escape_control(l.as_bytes()))?;
            }
        }
    }
    out.flush()?;
    Ok(if failed { EXIT_CHECK_FAILED } else { EXIT_OK })
}
