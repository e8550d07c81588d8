//! Filter expressions on parsed fields: `status>=500`, `status=5xx`, `id=<request id>`, `level=error`,
//! `path~^/v1/orders`, `latency>1s`, `upstream=10.0.0.7:8080`, `method=POST`, `flags~UF`, combined with
//! `and`, `or`, `not` and parentheses (`and` binds tighter than `or`). A value with spaces or parentheses is
//! quoted: `path~"^/v1/(orders|users)"`.

use anyhow::{Context, bail};
use regex::Regex;

use crate::record::{Level, Record};

/// How a term compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

/// One condition on one field.
#[derive(Clone, Debug)]
enum Term {
    /// `status>=500`, also matching any upstream attempt's status for `=`.
    Status(Cmp, u16),
    /// `status=5xx`.
    StatusClass(bool, u16),
    /// `id=…`: the request id or trace id (hex ids compare case- and dash-insensitively).
    Id(bool, u64),
    /// `level>=warn`.
    Level(Cmp, Level),
    /// `latency>1s`, in microseconds.
    Latency(Cmp, u64),
    /// A text field matched exactly (`=`, `!=`) or by regex (`~`, `!~`).
    Text(TextField, bool, TextMatch),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TextField {
    Path,
    Method,
    Upstream,
    Client,
    Host,
    Flags,
    Message,
    Route,
    Consumer,
    UserAgent,
    /// Where the line came from: an `ssh://` host, a glob's file, else the source as named.
    Node,
}

#[derive(Clone, Debug)]
enum TextMatch {
    Exact(String),
    Regex(Regex),
}

/// A parsed filter expression.
#[derive(Clone, Debug)]
pub struct Filter(Expr);

#[derive(Clone, Debug)]
enum Expr {
    All,
    Term(Term),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

/// The fields a filter can name, for help texts.
pub const FIELDS: &str =
    "status, id, level, latency, path, method, upstream, client, host, flags, message, route, consumer, ua, node";

/// A duration such as `2s`, `800ms`, `150us`, `1m`; a bare number is milliseconds.
pub fn parse_duration_us(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1_000.0)
    } else if let Some(n) = v.strip_suffix("us").or_else(|| v.strip_suffix("µs")) {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1_000_000.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000_000.0)
    } else {
        (v, 1_000.0) // a bare number is milliseconds, like the report
    };
    let f: f64 = num.trim().parse().ok()?;
    (f.is_finite() && f >= 0.0).then(|| (f * scale).round() as u64)
}

fn parse_term(tok: &str) -> anyhow::Result<Term> {
    let ops = ["!~", ">=", "<=", "!=", "=", ">", "<", "~"];
    let (at, op) = ops
        .iter()
        .filter_map(|op| tok.find(op).map(|i| (i, *op)))
        .min_by_key(|(i, op)| (*i, std::cmp::Reverse(op.len())))
        .with_context(|| format!("{tok:?}: expected FIELD OP VALUE, e.g. status>=500 (fields: {FIELDS})"))?;
    let field = tok[..at].trim().to_ascii_lowercase();
    let value = tok[at + op.len()..].trim().trim_matches('"');
    if value.is_empty() {
        bail!("{tok:?}: missing value");
    }
    let cmp = match op {
        "=" => Cmp::Eq,
        "!=" => Cmp::Ne,
        "<" => Cmp::Lt,
        "<=" => Cmp::Le,
        ">" => Cmp::Gt,
        ">=" => Cmp::Ge,
        _ => Cmp::Eq,
    };
    let regex_op = op == "~" || op == "!~";
    let ordered = matches!(cmp, Cmp::Lt | Cmp::Le | Cmp::Gt | Cmp::Ge);
    let text = |f: TextField| -> anyhow::Result<Term> {
        if ordered {
            bail!("{tok:?}: {field} takes =, !=, ~ or !~");
        }
        let positive = op == "=" || op == "~";
        let m = if regex_op {
            TextMatch::Regex(
                Regex::new(value).map_err(|e| anyhow::anyhow!("{tok:?}: invalid regex: {}", regex_error(&e)))?,
            )
        } else {
            TextMatch::Exact(value.to_string())
        };
        Ok(Term::Text(f, positive, m))
    };
    Ok(match field.as_str() {
        "status" | "code" => {
            if regex_op {
                bail!("{tok:?}: status takes =, !=, <, <=, >, >=");
            }
            let lower = value.to_ascii_lowercase();
            if let Some(c) =
                lower.strip_suffix("xx").and_then(|c| c.parse::<u16>().ok()).filter(|c| (1..=9).contains(c))
            {
                if ordered {
                    bail!("{tok:?}: a status class takes = or !=");
                }
                Term::StatusClass(cmp == Cmp::Eq, c)
            } else {
                let code: u16 = value
                    .parse()
                    .ok()
                    .filter(|c| (100..=999).contains(c))
                    .with_context(|| format!("{tok:?}: not a status"))?;
                Term::Status(cmp, code)
            }
        }
        "id" | "request_id" | "rid" | "trace" | "trace_id" => {
            if ordered || regex_op {
                bail!("{tok:?}: id takes = or !=");
            }
            Term::Id(cmp == Cmp::Eq, crate::ids::key(value))
        }
        "level" | "lvl" => {
            if regex_op {
                bail!("{tok:?}: level takes =, !=, <, <=, >, >=");
            }
            Term::Level(cmp, Level::parse(value).with_context(|| format!("{tok:?}: unknown level"))?)
        }
        "latency" | "duration" | "time" | "rt" => {
            if regex_op {
                bail!("{tok:?}: latency takes =, !=, <, <=, >, >=");
            }
            Term::Latency(
                cmp,
                parse_duration_us(value).with_context(|| format!("{tok:?}: not a duration (1s, 250ms)"))?,
            )
        }
        "path" | "url" | "uri" => text(TextField::Path)?,
        "method" => text(TextField::Method)?,
        "upstream" | "upstream_addr" | "addr" => text(TextField::Upstream)?,
        "client" | "ip" => text(TextField::Client)?,
        "host" => text(TextField::Host)?,
        "flags" | "flag" => text(TextField::Flags)?,
        "message" | "msg" => text(TextField::Message)?,
        "route" | "service" => text(TextField::Route)?,
        "consumer" | "user" => text(TextField::Consumer)?,
        "ua" | "user_agent" | "agent" => text(TextField::UserAgent)?,
        "node" | "source" => text(TextField::Node)?,
        _ => bail!("{tok:?}: unknown field {field:?} (fields: {FIELDS})"),
    })
}

/// Split into words, parentheses and quoted strings (a term may hold a quoted value with spaces).
fn tokens(s: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if quoted => cur.push(c),
            '(' | ')' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        bail!("unterminated quote in filter");
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

struct ExprParser {
    toks: Vec<String>,
    pos: usize,
}

impl ExprParser {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(String::as_str)
    }
    fn keyword(&self, k: &str) -> bool {
        self.peek().is_some_and(|t| t.eq_ignore_ascii_case(k))
    }
    fn or(&mut self) -> anyhow::Result<Expr> {
        let mut left = self.and()?;
        while self.keyword("or") || self.peek() == Some("||") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> anyhow::Result<Expr> {
        let mut left = self.not()?;
        loop {
            if self.keyword("and") || self.peek() == Some("&&") {
                self.pos += 1;
            } else if self.peek().is_none()
                || self.keyword("or")
                || self.peek() == Some("||")
                || self.peek() == Some(")")
            {
                return Ok(left);
            }
            // two terms side by side mean "and"
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
    }
    fn not(&mut self) -> anyhow::Result<Expr> {
        if self.keyword("not") || self.peek() == Some("!") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        match self.peek() {
            None => bail!("filter ends too early"),
            Some("(") => {
                self.pos += 1;
                let e = self.or()?;
                if self.peek() != Some(")") {
                    bail!("missing ')' in filter");
                }
                self.pos += 1;
                Ok(e)
            }
            Some(")") => bail!("unexpected ')' in filter"),
            Some(t) => {
                let term = parse_term(t)?;
                self.pos += 1;
                Ok(Expr::Term(term))
            }
        }
    }
}

impl Filter {
    /// Parse an expression; an empty one matches everything.
    pub fn parse(s: &str) -> anyhow::Result<Filter> {
        let toks = tokens(s)?;
        if toks.is_empty() {
            return Ok(Filter(Expr::All));
        }
        let mut p = ExprParser { toks, pos: 0 };
        let e = p.or()?;
        if let Some(t) = p.peek() {
            bail!("unexpected {t:?} in filter");
        }
        Ok(Filter(e))
    }

    /// True when the record passes (a `node` term sees no node: see [`Filter::matches_on`]).
    pub fn matches(&self, r: &Record<'_>) -> bool {
        self.0.matches(r, None)
    }

    /// True when the record, from `node` (an `ssh://` host, a glob's file, or the source's name), passes.
    pub fn matches_on(&self, r: &Record<'_>, node: Option<&str>) -> bool {
        self.0.matches(r, node)
    }

    /// True for the empty filter.
    pub fn is_all(&self) -> bool {
        matches!(self.0, Expr::All)
    }
}

impl Expr {
    fn matches(&self, r: &Record<'_>, node: Option<&str>) -> bool {
        match self {
            Expr::All => true,
            Expr::Term(t) => t.matches(r, node),
            Expr::And(a, b) => a.matches(r, node) && b.matches(r, node),
            Expr::Or(a, b) => a.matches(r, node) || b.matches(r, node),
            Expr::Not(a) => !a.matches(r, node),
        }
    }
}

impl Term {
    fn matches(&self, r: &Record<'_>, node: Option<&str>) -> bool {
        match self {
            Term::Status(cmp, code) => r.status.is_some_and(|s| cmp.holds(s, *code)),
            Term::StatusClass(eq, class) => r.status.is_some_and(|s| (s / 100 == *class) == *eq),
            Term::Id(eq, key) => {
                let hit = [&r.request_id, &r.trace_id]
                    .iter()
                    .any(|id| id.as_deref().is_some_and(|id| crate::ids::key(id) == *key));
                hit == *eq
            }
            Term::Level(cmp, level) => r.level.is_some_and(|l| cmp.holds(l, *level)),
            Term::Latency(cmp, us) => r.duration_us.is_some_and(|d| cmp.holds(d, *us)),
            Term::Text(field, positive, m) => {
                // the line's own envelope names its node best; else the source's (an ssh host, a glob's file)
                let node = r.node.clone().or(node.map(std::borrow::Cow::Borrowed));
                let v = match field {
                    TextField::Node => &node,
                    TextField::UserAgent => &r.user_agent,
                    TextField::Path => &r.path,
                    TextField::Method => &r.method,
                    TextField::Upstream => &r.upstream_addr,
                    TextField::Client => &r.client,
                    TextField::Host => &r.host,
                    TextField::Flags => &r.flags,
                    TextField::Message => &r.message,
                    TextField::Route => &r.route,
                    TextField::Consumer => &r.consumer,
                };
                let hit = v.as_deref().is_some_and(|v| match m {
                    TextMatch::Exact(want) => match field {
                        // an upstream list matches when any attempt went there
                        TextField::Upstream => v.split([',']).flat_map(|a| a.split(" : ")).any(|a| a.trim() == want),
                        TextField::Method => v.eq_ignore_ascii_case(want),
                        _ => v == want,
                    },
                    TextMatch::Regex(re) => re.is_match(v),
                });
                hit == *positive
            }
        }
    }
}

/// A regex error in one line (`unclosed group at column 1`): the regex crate draws the pattern and a caret over
/// several lines, which a status bar or a one-line error cannot show.
pub fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let Some(what) = lines.last().and_then(|l| l.strip_prefix("error: ")) else {
        return lines.join(" ");
    };
    match lines.iter().find(|l| l.trim_start().starts_with('^')) {
        Some(caret) => format!("{what} at column {}", caret.find('^').unwrap_or(0).saturating_sub(4) + 1),
        None => what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::record::StatusList;

    #[test]
    fn node_and_user_agent() {
        let r = Record { user_agent: Some(Cow::Borrowed("okhttp/4.9.3")), ..Default::default() };
        let f = Filter::parse("node=gw2 and ua~^okhttp").unwrap();
        assert!(f.matches_on(&r, Some("gw2")));
        assert!(!f.matches_on(&r, Some("gw1")));
        assert!(!f.matches(&r), "no node known: a node term does not hold");
        assert!(Filter::parse("node!=gw2").unwrap().matches_on(&r, Some("gw1")));
        assert!(Filter::parse("ua>3").is_err());
    }

    #[test]
    fn regex_errors_fit_one_line() {
        let err = |re: &str| regex_error(&Regex::new(re).unwrap_err());
        assert_eq!(err("("), "unclosed group at column 1");
        assert_eq!(err("ab[z-a]"), "invalid character class range, the start must be <= the end at column 4");
        assert!(!err("x{99999999}").contains('\n'));
    }

    fn rec(status: u16, path: &str, id: &str, us: u64) -> Record<'static> {
        Record {
            status: Some(status),
            path: Some(Cow::Owned(path.into())),
            request_id: Some(Cow::Owned(id.into())),
            duration_us: Some(us),
            upstream_addr: Some(Cow::Borrowed("10.0.0.7:8080, 10.0.0.8:8080")),
            upstream_status: StatusList::parse(b"502, 200"),
            method: Some(Cow::Borrowed("GET")),
            level: Some(Level::Error),
            ..Default::default()
        }
    }

    fn m(expr: &str, r: &Record<'_>) -> bool {
        Filter::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e:#}")).matches(r)
    }

    #[test]
    fn terms() {
        let r = rec(502, "/v1/orders/42", "0AF7651916CD43DD8448EB211C80319C", 1_500_000);
        assert!(m("status>=500", &r));
        assert!(!m("status<500", &r));
        assert!(m("status=5xx", &r));
        assert!(!m("status=4xx", &r));
        assert!(m("status!=4xx", &r));
        assert!(m("id=0af7651916cd43dd8448eb211c80319c", &r), "hex ids compare case-insensitively");
        assert!(!m("id=other", &r));
        assert!(m("path~^/v1/orders", &r));
        assert!(m("path!~^/v2", &r));
        assert!(m("latency>1s", &r));
        assert!(m("latency<=1500ms", &r));
        assert!(m("latency>1400", &r), "a bare number is milliseconds");
        assert!(!m("latency>1600", &r));
        assert!(m("upstream=10.0.0.8:8080", &r));
        assert!(!m("upstream=10.0.0.9:8080", &r));
        assert!(m("method=get", &r));
        assert!(m("level>=warn", &r));
        assert!(m("", &r));
    }

    #[test]
    fn boolean_structure() {
        let r = rec(429, "/v1/search", "abc", 1_000);
        assert!(m("status=429 and path~search", &r));
        assert!(m("status=429 path~search", &r), "juxtaposition is and");
        assert!(m("status=500 or status=429", &r));
        assert!(!m("not status=429", &r));
        assert!(m("not (status=500 or path~orders)", &r));
        assert!(m("status=500 or status=429 and path~search", &r), "and binds tighter");
        assert!(!m("(status=500 or status=429) and path~orders", &r));
        assert!(m(r#"path~"^/v1/(search|orders)""#, &r));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        for (expr, want) in [
            ("status>=abc", "not a status"),
            ("color=red", "unknown field"),
            ("status>=500 and", "ends too early"),
            ("(status=500", "missing ')'"),
            (r#"path~"(""#, "invalid regex"),
            ("path~(", "missing value"),
            ("latency>fast", "not a duration"),
            ("status", "expected FIELD OP VALUE"),
        ] {
            let err = format!("{:#}", Filter::parse(expr).unwrap_err());
            assert!(err.contains(want), "{expr}: {err}");
        }
    }
}
