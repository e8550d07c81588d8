//! How lines are read, beyond their format: id fields, an id regex, the zone of times logged without one.

/// Options that change how lines are read, from flags or the config file.
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// Extra field names that hold a request id (JSON/logfmt), tried before the built-in ones.
    pub id_fields: Vec<String>,
    /// A regex whose first capture group (or whole match) is the request id in plain text.
    pub id_regex: Option<regex::Regex>,
    /// The zone of times logged without one (nginx's error log writes the host's local time): `--tz`.
    pub local_tz: Option<jiff::tz::TimeZone>,
}
