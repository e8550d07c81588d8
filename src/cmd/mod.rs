//! The subcommands, one module each: parse nothing (the CLI did), call the core, print; each returns the process
//! exit code. They never import each other, and the console never imports them.

pub mod demo;
pub mod generate;
pub mod replay;
pub mod report;
pub mod tail;
pub mod token;
pub mod trace;
