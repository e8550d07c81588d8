//! Numbers for people: counts with thousands separators, durations and spans of time, sizes.

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A span of whole seconds for people: `45s`, `3m29s`, `2h05m`.
pub fn span_text(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// A duration for people: `4.2ms`, `310ms`, `2.40s`, `31s`.
pub fn duration_text(us: u64) -> String {
    if us >= 10_000_000 {
        format!("{:.0}s", us as f64 / 1e6)
    } else if us >= 1_000_000 {
        format!("{:.2}s", us as f64 / 1e6)
    } else if us >= 10_000 {
        format!("{:.0}ms", us as f64 / 1e3)
    } else {
        format!("{:.1}ms", us as f64 / 1e3)
    }
}

/// A size for people: `1.1 GB`, `420 MB`, `12 KB`, `512 B`.
pub fn bytes_text(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{} KB", n / 1_000),
        1_000_000..1_000_000_000 => format!("{} MB", n / 1_000_000),
        _ => format!("{:.1} GB", n as f64 / 1e9),
    }
}
