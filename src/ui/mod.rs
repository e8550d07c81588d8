//! The console: panes side by side, correlation, navigation (see `app.rs` for the state, `draw.rs` for drawing).

pub mod app;
pub mod draw;
pub mod keymap;
pub mod pane;
pub mod run;
pub mod theme;
