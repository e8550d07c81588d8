//! The console: panes side by side, correlation, navigation (see `app.rs` for the state, `draw.rs` for drawing).

pub mod actions;
pub mod app;
pub mod args;
pub mod chart_draw;
pub mod chart_markers;
pub mod charts;
pub mod diagnosis;
pub mod draw;
pub mod keymap;
mod latency;
pub mod pace;
pub mod pane;
pub mod replay;
pub mod replay_draw;
pub mod run;
pub mod theme;
pub mod token;
pub mod token_draw;
pub mod trace_join;
