//! The console's arguments (`gatewatch [SOURCE...]`).

use clap::Args;

use crate::args::{InputArgs, LiveArgs, MarkerArgs};

/// `gatewatch [SOURCE...]`: the console.
#[derive(Debug, Args, Clone)]
pub struct ConsoleArgs {
    /// Colour theme: dark, light, high-contrast, or NAME for $XDG_CONFIG_HOME/gatewatch/themes/NAME.toml.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Start with the last N lines of each file, then follow.
    #[arg(long, value_name = "N", default_value_t = 100_000, conflicts_with = "from_start")]
    pub tail: usize,
    /// How sources are followed.
    #[command(flatten)]
    pub live: LiveArgs,
    /// Where `e` (replay) sends the selected request: scheme, host, port (default: `[replay] base_url`).
    #[arg(long, value_name = "URL")]
    pub replay_base: Option<String>,
    /// Read each file's rotated files first (`access.log.1`, `access.log.2.gz`, …, oldest first), in its pane;
    /// `--since` alone reads those its window needs.
    #[arg(long)]
    pub with_rotated: bool,
    /// Change markers on the charts.
    #[command(flatten)]
    pub markers: MarkerArgs,
    /// Reading options.
    #[command(flatten)]
    pub input: InputArgs,
    /// Files, quoted globs, or `ssh://[user@]host[:port]/path`; one pane each. Gateway logs go left, upstream
    /// logs right (by format; `--gateway`/`--upstream` say it outright).
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,
}
