//! gatewatch: a terminal incident console for API-gateway outages.
//!
//! Data flows one way: sources → parse ([`format`]) → statistics ([`stats`]) → [`report`].
//!
//! The modules are layers, each importing only from the layers below it:
//! - CLI: [`cli`] (the arguments) and [`cmd`] (one module per subcommand);
//! - console: [`ui`];
//! - core: opening sources from arguments and config ([`args`], [`open`], [`input`]), the parallel [`scan`],
//!   [`store`], [`stats`], [`report`], [`diagnose`], [`alerts`], [`filter`], [`replay`], [`token`], [`trace`] and
//!   the demo's simulation ([`generate`], [`demo_logs`], [`demo_target`]), with their vocabulary ([`exit`],
//!   [`output`], [`text`]);
//! - formats: [`format`], [`record`];
//! - sources: [`source`].

// CLI
pub mod cli;
pub mod cmd;

// console
pub mod ui;

// core
pub mod alerts;
pub mod args;
pub mod compressed;
pub mod config;
pub mod demo_logs;
pub mod demo_target;
pub mod diagnose;
pub mod errorlog;
pub mod exit;
pub mod filter;
pub mod fuzzing;
pub mod generate;
pub mod ids;
pub mod input;
pub mod markers;
pub mod matching;
pub mod open;
pub mod output;
pub mod priority;
pub mod replay;
pub mod report;
pub mod rotation;
pub mod routes;
pub mod scan;
pub mod stats;
pub mod store;
pub mod stream_join;
pub mod synth;
pub mod text;
pub mod token;
pub mod trace;
pub mod urls;
pub mod window;

// formats
pub mod format;
pub mod record;

// sources
pub mod source;
