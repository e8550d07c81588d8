//! gatewatch: a terminal incident console for API-gateway outages.
//!
//! Data flows one way: sources → parse ([`format`]) → statistics ([`stats`]) → [`report`].

pub mod alerts;
pub mod cli;
pub mod commands;
pub mod compressed;
pub mod config;
pub mod demo;
pub mod demo_target;
pub mod diagnose;
pub mod errorlog;
pub mod filter;
pub mod format;
pub mod fuzzing;
pub mod generate;
pub mod history;
pub mod ids;
pub mod manual;
pub mod markers;
pub mod matching;
pub mod output;
pub mod priority;
pub mod record;
pub mod replay;
pub mod report;
pub mod rotation;
pub mod routes;
pub mod scan;
pub mod source;
pub mod stats;
pub mod store;
pub mod stream_join;
pub mod synth;
pub mod tail;
pub mod text;
pub mod token;
pub mod trace;
pub mod ui;
pub mod urls;
pub mod window;
