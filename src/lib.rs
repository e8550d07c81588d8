//! gatewatch: a terminal incident console for API-gateway outages.
//!
//! Data flows one way: sources → parse ([`format`](mod@format)) → statistics ([`stats`]) → [`report`].
//!
//! The modules are layers, each using only its own layer and those below it (`tests/layers.rs` checks it, and
//! that the module graph has no circle):
//! - CLI: [`cli`] (the arguments), [`cmd`] (one module per subcommand; they never use each other) and [`manual`]
//!   (the man page, completions and example config, generated from the arguments);
//! - console: [`ui`] (it never uses a subcommand);
//! - core: opening sources from arguments and config ([`args`], [`open`], [`input`], [`config`]), the parallel
//!   [`scan`], the console's [`history`] indexing, [`store`], [`stats`], [`report`], [`diagnose`], [`alerts`],
//!   [`filter`], [`replay`], [`token`], [`trace`], the demo's simulation ([`generate`], [`demo_logs`],
//!   [`demo_target`]), and their vocabulary ([`exit`] codes, [`output`]);
//! - formats: [`format`](mod@format), [`record`], request and trace [`ids`], the generator's requests ([`synth`]);
//! - sources: [`source`] (files, globs, standard input, compressed files, commands, ssh);
//! - vocabulary every layer shares: escaping ([`text`]) and [`numbers`] for people.

// CLI
pub mod cli;
pub mod cmd;
pub mod manual;

// console
pub mod ui;

// core
pub mod alerts;
pub mod args;
pub mod bulk_read;
pub mod bulk_session;
pub mod config;
pub mod demo_logs;
pub mod demo_target;
pub mod diagnose;
pub mod errorlog;
pub mod exit;
pub mod filter;
pub mod fuzzing;
pub mod generate;
pub mod history;
pub mod host_steal;
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
pub mod token;
pub mod trace;
pub mod urls;
pub mod window;

// formats
pub mod format;
pub mod ids;
pub mod record;
pub mod synth;

// sources
pub mod source;

// vocabulary
pub mod numbers;
pub mod text;
