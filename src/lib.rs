//! gatewatch: a terminal incident console for API-gateway outages.
//!
//! Data flows one way: sources → parse ([`format`]) → summaries ([`report`]) → output.

pub mod format;
pub mod ids;
pub mod record;
pub mod synth;
