pub mod keymap;
pub mod theme;
