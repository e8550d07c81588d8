//! The console: panes side by side, correlation, navigation (see `app.rs` for the state, `draw.rs` for drawing).

pub mod actions;
pub mod app;
pub mod args;
pub mod chart_draw;
pub mod chart_markers;
pub mod charts;
mod charts_update;
pub mod diagnosis;
mod diagnosis_update;
pub mod display;
pub mod draw;
pub mod keymap;
mod latency;
pub mod line_cache;
mod markers_update;
pub mod pace;
pub mod pane;
pub mod pane_draw;
pub mod replay;
pub mod replay_draw;
mod replay_update;
pub mod run;
pub mod theme;
pub mod token;
pub mod token_draw;
mod token_update;
pub mod trace_join;
