//! Lines that continue the record before them instead of starting one: a Java, Python or Go stack trace under an
//! error line (`\tat com.x.Y(Y.java:10)`, `Caused by: …`, `Traceback (most recent call last):`, `  File "…"`,
//! `goroutine 1 [running]:`), and the exception line that names the cause.

/// Whether `line` continues the record before it: indented, or one of the shapes stack traces take.
pub fn continues(line: &[u8]) -> bool {
    match line.first() {
        None => false,
        Some(b' ' | b'\t') => !line.trim_ascii().is_empty(),
        Some(_) => {
            const STARTS: [&[u8]; 6] = [
                b"Caused by: ",
                b"Suppressed: ",
                b"Traceback (most recent call last):",
                b"goroutine ",
                b"panic: ",
                b"... ",
            ];
            STARTS.iter().any(|s| line.starts_with(s)) || exception(line).is_some()
        }
    }
}

/// The exception a line names, `ClassName: message` (`java.lang.IllegalStateException: Connection pool exhausted`,
/// `ValueError: bad input`, `Caused by: java.sql.SQLException: …`, Go's `panic: runtime error: …`): the line
/// from the name on, cut to 160 characters.
pub fn exception(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?.trim_end();
    let text = text.strip_prefix("Caused by: ").unwrap_or(text);
    if let Some(p) = text.strip_prefix("panic: ") {
        return Some(format!("panic: {}", p.chars().take(150).collect::<String>()));
    }
    let name_end = text.find(|c: char| c == ':' || c.is_whitespace()).unwrap_or(text.len());
    let name = &text[..name_end];
    let last = name.rsplit(['.', '$']).next().unwrap_or(name);
    let is_name = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '$' | '_'))
        && last.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && (last.ends_with("Exception") || last.ends_with("Error") || last.ends_with("Throwable"));
    let after = &text[name_end..];
    (is_name && (after.is_empty() || after.starts_with(':'))).then(|| text.chars().take(160).collect())
}

/// What [`Tracker`] needs to know of a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineKind {
    /// It parsed as a record of its source's format.
    pub record: bool,
    /// It has a time.
    pub timed: bool,
    /// It has neither time nor status (a line that parsed as nothing, too).
    pub plain: bool,
    /// It has a stack trace's shape ([`continues`]).
    pub shaped: bool,
}

impl LineKind {
    /// The kind of `line`, parsed as `rec`.
    pub fn of(line: &[u8], rec: Option<&crate::record::Record<'_>>) -> LineKind {
        LineKind {
            record: rec.is_some(),
            timed: rec.is_some_and(|r| r.time.is_some()),
            plain: rec.is_none_or(|r| r.time.is_none() && r.status.is_none()),
            shaped: continues(line),
        }
    }
}

/// Decides, line after line of one source, which lines continue the record before them, as `report`, `tail` and
/// `trace` do: a line with neither time nor status, after a record (or a line continuing one), when it has a
/// stack trace's shape — or, in a service's log whose records have times, whatever its shape.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tracker {
    /// The line before is a record, or continues one.
    before: bool,
    /// A record of the source had a time.
    timed: bool,
}

impl Tracker {
    /// Whether a line of `kind`, in a source of `role`, continues the record before it; notes the line.
    pub fn next(&mut self, kind: LineKind, role: crate::record::Role) -> bool {
        let service = self.timed && role == crate::record::Role::Upstream;
        let continues = self.before && kind.plain && (service || kind.shaped);
        if !continues {
            self.before = kind.record;
            self.timed |= kind.timed;
        }
        continues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_traces_continue_their_record() {
        for l in [
            "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)",
            "    ... 42 more",
            "Caused by: java.sql.SQLTransientConnectionException: pool timed out",
            "java.lang.IllegalStateException: Connection pool exhausted",
            "Traceback (most recent call last):",
            "  File \"/app/orders.py\", line 10, in handler",
            "ValueError: bad input",
            "goroutine 1 [running]:",
            "panic: runtime error: invalid memory address or nil pointer dereference",
        ] {
            assert!(continues(l.as_bytes()), "{l}");
        }
        for l in ["2024-05-01 12:00:00 INFO started", "GET /v1/orders 200", "Error connecting to db", "", "   "] {
            assert!(!continues(l.as_bytes()), "{l}");
        }
    }

    #[test]
    fn the_exception_a_line_names() {
        let e = |l: &str| exception(l.as_bytes());
        assert_eq!(
            e("java.lang.IllegalStateException: Connection pool exhausted").as_deref(),
            Some("java.lang.IllegalStateException: Connection pool exhausted")
        );
        assert_eq!(
            e("Caused by: java.net.ConnectException: refused").as_deref(),
            Some("java.net.ConnectException: refused")
        );
        assert_eq!(e("ValueError: bad input").as_deref(), Some("ValueError: bad input"));
        assert_eq!(e("java.lang.OutOfMemoryError").as_deref(), Some("java.lang.OutOfMemoryError"));
        assert_eq!(e("panic: boom").as_deref(), Some("panic: boom"));
        assert_eq!(e("Error connecting to db"), None);
        assert_eq!(e("the RuntimeException was caught"), None);
    }
}
