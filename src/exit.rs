//! How gatewatch ends: exit codes, and the usage errors that choose one.

/// Exit code: everything was read.
pub const EXIT_OK: i32 = 0;
/// Exit code: at least one source could not be read (the others were still reported).
pub const EXIT_SOURCE_ERROR: i32 = 1;
/// Exit code: bad arguments or config.
pub const EXIT_USAGE: i32 = 2;

/// A mistake in how gatewatch was called (arguments, config): shown like any error, exit code [`EXIT_USAGE`].
#[derive(Debug)]
pub struct Usage(anyhow::Error);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Usage {}

/// Mark an error as a usage error.
pub fn usage(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Usage(e.into()))
}

/// A usage error with this message.
pub fn usage_msg(msg: &str) -> anyhow::Error {
    usage(anyhow::anyhow!("{msg}"))
}

/// The exit code for an error a command returned; prints it unless it is a closed pipe (`gatewatch … | head`,
/// which is how a pipeline ends, not a failure).
pub fn exit_code(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
        return EXIT_OK;
    }
    crate::output::warn(format_args!("{e:#}"));
    if e.downcast_ref::<Usage>().is_some() { EXIT_USAGE } else { EXIT_SOURCE_ERROR }
}
