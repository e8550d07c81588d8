//! `--baseline FROM..TO`: the span the diagnosis compares the incident with. Each end is RFC 3339
//! (`2026-11-23T13:00:00Z`) or a time of day (`13:00`, `13:00:30`, UTC) on the day the data starts.

use anyhow::{Context, bail};

/// One end of the span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Epoch seconds.
    At(i64),
    /// Seconds into a UTC day.
    OfDay(i64),
}

/// A baseline span as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Baseline(End, End);

impl Baseline {
    /// Parse `FROM..TO`.
    pub fn parse(s: &str) -> anyhow::Result<Baseline> {
        let (a, b) =
            s.split_once("..").with_context(|| format!("--baseline {s:?}: want FROM..TO, e.g. 13:00..13:20"))?;
        Ok(Baseline(end(a)?, end(b)?))
    }

    /// The span in epoch seconds (end exclusive), times of day taken on the UTC day of `first` (epoch seconds).
    pub fn resolve(self, first: i64) -> anyhow::Result<(i64, i64)> {
        let day = first.div_euclid(86_400) * 86_400;
        let at = |e: End| match e {
            End::At(s) => s,
            End::OfDay(s) => day + s,
        };
        let (a, b) = (at(self.0), at(self.1));
        if b <= a {
            bail!("--baseline: its end comes before its start");
        }
        Ok((a, b))
    }
}

fn end(s: &str) -> anyhow::Result<End> {
    let s = s.trim();
    if let Some(t) = crate::format::time::parse_iso(s.as_bytes()) {
        return Ok(End::At(t.unix_us.div_euclid(1_000_000)));
    }
    let parts: Vec<&str> = s.split(':').collect();
    let nums: Option<Vec<i64>> = parts.iter().map(|p| p.parse().ok().filter(|_| p.len() == 2)).collect();
    match nums.as_deref() {
        Some(&[h, m]) if h < 24 && m < 60 => Ok(End::OfDay(h * 3600 + m * 60)),
        Some(&[h, m, sec]) if h < 24 && m < 60 && sec < 60 => Ok(End::OfDay(h * 3600 + m * 60 + sec)),
        _ => bail!("--baseline: {s:?} is not a time like 13:00, 13:00:30 or 2026-11-23T13:00:00Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_and_instants() {
        let first = 1_714_564_800 + 3600; // 2024-05-01T13:00:00Z
        let day = 1_714_521_600;
        assert_eq!(Baseline::parse("12:00..12:03").unwrap().resolve(first).unwrap(), (day + 43_200, day + 43_380));
        assert_eq!(
            Baseline::parse("2024-05-01T12:00:00Z..12:00:30").unwrap().resolve(first).unwrap(),
            (1_714_564_800, 1_714_564_830)
        );
        for bad in ["12:00", "12:00..", "25:00..26:00", "1:00..2:00", "noon..13:00"] {
            assert!(Baseline::parse(bad).is_err(), "{bad}");
        }
        assert!(Baseline::parse("13:00..12:00").unwrap().resolve(first).is_err());
    }
}
