//! `gatewatch report`: the headless answer to "what is failing?".

pub mod baseline;
pub mod breakdown;
pub mod build;
pub mod findings;
pub mod model;
pub mod print;
pub mod source;
pub mod text;
mod text_change;
mod text_style;

pub use model::Report;
pub use source::{ScannedSource, scan_source};
