//! Colour themes for the console.
//!
//! Three themes are embedded in the binary (`themes/*.toml`); a user file `<config dir>/themes/NAME.toml`
//! overrides a built-in theme of that name or adds a new one. Every colour a widget draws comes from a
//! [`Theme`]; after loading, a theme is degraded to what the terminal can show ([`ColorDepth`]).
//!
//! The file format is documented at the top of `themes/dark.toml`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ratatui::style::{Color, Modifier, Style};

/// How many colours the terminal can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorDepth {
    /// No colour at all (`NO_COLOR`, `TERM=dumb`): modifiers only.
    None,
    /// The 16 ANSI colours, whose exact shades the terminal's palette decides.
    Ansi16,
    /// The xterm 256-colour palette.
    Indexed256,
    /// 24-bit RGB.
    TrueColor,
}

impl ColorDepth {
    /// NO_COLOR set and non-empty => None; COLORTERM truecolor/24bit => TrueColor; TERM containing "256color" =>
    /// Indexed256; TERM "dumb" => None; otherwise Ansi16.
    pub fn from_env(no_color: Option<&str>, colorterm: Option<&str>, term: Option<&str>) -> ColorDepth {
        // https://no-color.org: "when present and not an empty string"
        if no_color.is_some_and(|v| !v.is_empty()) {
            return ColorDepth::None;
        }
        if colorterm.is_some_and(|v| v.eq_ignore_ascii_case("truecolor") || v.eq_ignore_ascii_case("24bit")) {
            return ColorDepth::TrueColor;
        }
        match term {
            Some(t) if t.contains("256color") => ColorDepth::Indexed256,
            Some("dumb") => ColorDepth::None,
            _ => ColorDepth::Ansi16,
        }
    }

    /// [`ColorDepth::from_env`] on the real environment.
    pub fn detect() -> ColorDepth {
        let var = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
        let (no_color, colorterm, term) = (var("NO_COLOR"), var("COLORTERM"), var("TERM"));
        ColorDepth::from_env(no_color.as_deref(), colorterm.as_deref(), term.as_deref())
    }
}

/// Every style the console draws with.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    /// The theme's name (`dark`, `light`, `high-contrast`, or a file's).
    pub name: String,
    /// Pane text and background.
    pub base: Style,
    /// Secondary text (times, labels, unparsed lines).
    pub dim: Style,
    /// Pane titles.
    pub title: Style,
    /// Pane borders.
    pub border: Style,
    /// The focused pane's border.
    pub border_focus: Style,
    /// The cursor line.
    pub selection: Style,
    /// Lines sharing the selected request id (in every pane).
    pub correlated: Style,
    /// The request id text itself when highlighted.
    pub id: Style,
    /// Regex search matches.
    pub search: Style,
    /// Status 2xx.
    pub status_2xx: Style,
    /// Status 3xx.
    pub status_3xx: Style,
    /// Status 4xx.
    pub status_4xx: Style,
    /// Status 5xx.
    pub status_5xx: Style,
    /// Status 0 (none), 1xx and anything out of range.
    pub status_other: Style,
    /// Error (and worse) level words.
    pub level_error: Style,
    /// Warning level words.
    pub level_warn: Style,
    /// Status bar background and text.
    pub bar: Style,
    /// Key hints in the status bar.
    pub bar_key: Style,
    /// The "PAUSED" follow indicator.
    pub paused: Style,
    /// Errors and warnings shown to the user.
    pub alert: Style,
    /// Help and trace overlay background.
    pub overlay: Style,
    /// Change markers (reloads, deploys) on the charts.
    pub marker: Style,
}

const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

/// The keys of a theme file's `[styles]` table, in [`Theme`] field order.
pub const STYLE_NAMES: &[&str] = &[
    "base",
    "dim",
    "title",
    "border",
    "border_focus",
    "selection",
    "correlated",
    "id",
    "search",
    "status_2xx",
    "status_3xx",
    "status_4xx",
    "status_5xx",
    "status_other",
    "level_error",
    "level_warn",
    "bar",
    "bar_key",
    "paused",
    "alert",
    "overlay",
    "marker",
];

/// The modifiers a theme must carry without colour, so that the console stays usable. Selection and search
/// differ (bold vs underlined) so that a match on the cursor line still shows.
const NO_COLOR_MODIFIERS: &[(&str, Modifier)] = &[
    ("selection", Modifier::REVERSED.union(Modifier::BOLD)),
    ("correlated", Modifier::BOLD.union(Modifier::UNDERLINED)),
    ("search", Modifier::REVERSED.union(Modifier::UNDERLINED)),
    ("id", Modifier::BOLD),
    ("status_5xx", Modifier::BOLD),
    ("border_focus", Modifier::BOLD),
    ("paused", Modifier::REVERSED),
    ("marker", Modifier::BOLD),
];

const MODIFIER_NAMES: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("slow_blink", Modifier::SLOW_BLINK),
    ("rapid_blink", Modifier::RAPID_BLINK),
    ("reversed", Modifier::REVERSED),
    ("hidden", Modifier::HIDDEN),
    ("crossed_out", Modifier::CROSSED_OUT),
];

/// The 16 ANSI colours with the names a theme file uses and xterm's default RGB for each, for matching.
const ANSI16: &[(&str, Color, (u8, u8, u8))] = &[
    ("black", Color::Black, (0, 0, 0)),
    ("red", Color::Red, (205, 0, 0)),
    ("green", Color::Green, (0, 205, 0)),
    ("yellow", Color::Yellow, (205, 205, 0)),
    ("blue", Color::Blue, (0, 0, 238)),
    ("magenta", Color::Magenta, (205, 0, 205)),
    ("cyan", Color::Cyan, (0, 205, 205)),
    ("gray", Color::Gray, (229, 229, 229)),
    ("darkgray", Color::DarkGray, (127, 127, 127)),
    ("lightred", Color::LightRed, (255, 0, 0)),
    ("lightgreen", Color::LightGreen, (0, 255, 0)),
    ("lightyellow", Color::LightYellow, (255, 255, 0)),
    ("lightblue", Color::LightBlue, (92, 92, 255)),
    ("lightmagenta", Color::LightMagenta, (255, 0, 255)),
    ("lightcyan", Color::LightCyan, (0, 255, 255)),
    ("white", Color::White, (255, 255, 255)),
];

impl Theme {
    /// The themes embedded in the binary.
    pub fn builtin_names() -> &'static [&'static str] {
        &["dark", "light", "high-contrast"]
    }

    /// The theme names [`Theme::load`] accepts: the built-in ones, then the user's `<config_dir>/themes/*.toml`.
    pub fn available_names(config_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = Self::builtin_names().iter().map(|n| n.to_string()).collect();
        let entries = config_dir.and_then(|d| std::fs::read_dir(d.join("themes")).ok());
        let mut user: Vec<String> = entries
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                let stem = path.file_stem()?.to_str()?;
                (path.extension()? == "toml").then(|| stem.to_string())
            })
            .filter(|n| !names.contains(n))
            .collect();
        user.sort();
        names.append(&mut user);
        names
    }

    /// Load theme `name`: `<config_dir>/themes/<name>.toml` first if config_dir is Some and the file exists, else
    /// the embedded one; error naming the file (or listing available names) otherwise. Then degrade to `depth`.
    pub fn load(name: &str, config_dir: Option<&Path>, depth: ColorDepth) -> anyhow::Result<Theme> {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
            bail!("invalid theme name {name:?}: a theme is named by its file name without `.toml`");
        }
        let user_file: Option<PathBuf> =
            config_dir.map(|d| d.join("themes").join(format!("{name}.toml"))).filter(|p| p.is_file());
        let mut theme = if let Some(path) = user_file {
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("cannot read theme file {}", path.display()))?;
            Self::parse(&text, depth).with_context(|| format!("invalid theme file {}", path.display()))?
        } else if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
            Self::parse(text, depth).with_context(|| format!("invalid built-in theme {name}"))?
        } else {
            bail!("unknown theme {name:?}; available: {}", Self::available_names(config_dir).join(", "));
        };
        theme.name = name.to_string();
        Ok(theme)
    }

    /// Parse a theme file and degrade it to `depth`. Styles the file leaves out come from the built-in `dark`
    /// theme; a style the file gives replaces dark's whole (its `fg`, `bg` and `modifiers` together).
    pub fn parse(toml_text: &str, depth: ColorDepth) -> anyhow::Result<Theme> {
        let (name, styles) = parse_file(toml_text)?;
        let mut theme = dark_rgb();
        for (key, style) in styles {
            *theme.style_mut(&key).expect("parse_file checks the style names") = style;
        }
        theme.name = name.unwrap_or_else(|| "custom".to_string());
        theme.degrade(depth);
        Ok(theme)
    }

    /// The style for an HTTP status, by class; 0 (no status), 1xx and anything else out of range => `status_other`.
    pub fn status(&self, code: u16) -> Style {
        match code {
            200..=299 => self.status_2xx,
            300..=399 => self.status_3xx,
            400..=499 => self.status_4xx,
            500..=599 => self.status_5xx,
            _ => self.status_other,
        }
    }

    fn style_mut(&mut self, key: &str) -> Option<&mut Style> {
        Some(match key {
            "base" => &mut self.base,
            "dim" => &mut self.dim,
            "title" => &mut self.title,
            "border" => &mut self.border,
            "border_focus" => &mut self.border_focus,
            "selection" => &mut self.selection,
            "correlated" => &mut self.correlated,
            "id" => &mut self.id,
            "search" => &mut self.search,
            "status_2xx" => &mut self.status_2xx,
            "status_3xx" => &mut self.status_3xx,
            "status_4xx" => &mut self.status_4xx,
            "status_5xx" => &mut self.status_5xx,
            "status_other" => &mut self.status_other,
            "level_error" => &mut self.level_error,
            "level_warn" => &mut self.level_warn,
            "bar" => &mut self.bar,
            "bar_key" => &mut self.bar_key,
            "paused" => &mut self.paused,
            "alert" => &mut self.alert,
            "overlay" => &mut self.overlay,
            "marker" => &mut self.marker,
            _ => return None,
        })
    }

    /// Reduce every colour to what `depth` can show; without colour, add the modifiers that keep the console usable.
    pub fn degrade(&mut self, depth: ColorDepth) {
        for key in STYLE_NAMES {
            let style = self.style_mut(key).expect("STYLE_NAMES matches style_mut");
            style.fg = style.fg.and_then(|c| degrade_color(c, depth));
            style.bg = style.bg.and_then(|c| degrade_color(c, depth));
        }
        if depth == ColorDepth::None {
            for (key, m) in NO_COLOR_MODIFIERS {
                let style = self.style_mut(key).expect("NO_COLOR_MODIFIERS names styles");
                *style = style.add_modifier(*m);
            }
        }
    }
}

/// The built-in dark theme at full colour: the base every other theme starts from.
fn dark_rgb() -> Theme {
    let empty = Theme {
        name: String::new(),
        base: Style::new(),
        dim: Style::new(),
        title: Style::new(),
        border: Style::new(),
        border_focus: Style::new(),
        selection: Style::new(),
        correlated: Style::new(),
        id: Style::new(),
        search: Style::new(),
        status_2xx: Style::new(),
        status_3xx: Style::new(),
        status_4xx: Style::new(),
        status_5xx: Style::new(),
        status_other: Style::new(),
        level_error: Style::new(),
        level_warn: Style::new(),
        bar: Style::new(),
        bar_key: Style::new(),
        paused: Style::new(),
        alert: Style::new(),
        overlay: Style::new(),
        marker: Style::new(),
    };
    let (name, styles) = parse_file(BUILTIN[0].1).expect("the built-in dark theme parses");
    let mut theme = empty;
    for (key, style) in styles {
        *theme.style_mut(&key).expect("parse_file checks the style names") = style;
    }
    theme.name = name.unwrap_or_default();
    theme
}

/// A theme file's `name` (if it has one) and the styles it gives, undegraded.
type ThemeFile = (Option<String>, Vec<(String, Style)>);

fn parse_file(text: &str) -> anyhow::Result<ThemeFile> {
    let table: toml::Table = toml::from_str(text).context("not valid TOML")?;
    let mut name = None;
    let mut styles = Vec::new();
    for (key, value) in &table {
        match key.as_str() {
            "name" => match value.as_str() {
                Some(n) => name = Some(n.to_string()),
                None => bail!("`name` must be a string"),
            },
            "styles" => {
                let Some(entries) = value.as_table() else { bail!("`styles` must be a table") };
                for (style_key, spec) in entries {
                    if !STYLE_NAMES.contains(&style_key.as_str()) {
                        bail!("unknown style `styles.{style_key}`; known styles: {}", STYLE_NAMES.join(", "));
                    }
                    let style = parse_style(spec).with_context(|| format!("in style `styles.{style_key}`"))?;
                    styles.push((style_key.clone(), style));
                }
            }
            other => bail!("unknown key `{other}`: a theme file has `name` and a `[styles]` table"),
        }
    }
    Ok((name, styles))
}

fn parse_style(spec: &toml::Value) -> anyhow::Result<Style> {
    let Some(spec) = spec.as_table() else {
        bail!("a style is a table like {{ fg = \"#ffffff\", bg = \"#3a4a6b\", modifiers = [\"bold\"] }}")
    };
    let mut style = Style::new();
    for (key, value) in spec {
        match key.as_str() {
            "fg" | "bg" => {
                let Some(text) = value.as_str() else { bail!("`{key}` must be a string") };
                let color = parse_color(text).with_context(|| format!("bad colour in `{key}`"))?;
                style = if key == "fg" { style.fg(color) } else { style.bg(color) };
            }
            "modifiers" => {
                let Some(list) = value.as_array() else { bail!("`modifiers` must be a list of names") };
                for m in list {
                    let name = m.as_str().unwrap_or_default();
                    let Some((_, modifier)) = MODIFIER_NAMES.iter().find(|(n, _)| *n == name) else {
                        let known: Vec<&str> = MODIFIER_NAMES.iter().map(|(n, _)| *n).collect();
                        bail!("unknown modifier {m} in `modifiers`; known: {}", known.join(", "));
                    };
                    style = style.add_modifier(*modifier);
                }
            }
            other => bail!("unknown key `{other}`: a style has `fg`, `bg` and `modifiers`"),
        }
    }
    Ok(style)
}

/// `#rrggbb`, one of the 16 ANSI names (`red`, `lightred`, `darkgray`, `dark_gray`, `grey` …), or `reset`.
pub fn parse_color(text: &str) -> anyhow::Result<Color> {
    if let Some(hex) = text.strip_prefix('#') {
        if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex digits");
            return Ok(Color::Rgb(byte(0), byte(2), byte(4)));
        }
        bail!("{text:?} is not a #rrggbb colour");
    }
    let norm: String = text
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .collect::<String>()
        .to_lowercase()
        .replace("grey", "gray");
    if norm == "reset" {
        return Ok(Color::Reset);
    }
    match ANSI16.iter().find(|(n, _, _)| *n == norm) {
        Some((_, color, _)) => Ok(*color),
        None => bail!("unknown colour {text:?}: use #rrggbb, reset, or one of the 16 ANSI names (red, lightred, …)"),
    }
}

/// `color` as `depth` can show it; `None` when it cannot show colour at all.
fn degrade_color(color: Color, depth: ColorDepth) -> Option<Color> {
    Some(match (depth, color) {
        (ColorDepth::None, _) => return None,
        (ColorDepth::TrueColor, c) => c,
        (ColorDepth::Indexed256, Color::Rgb(r, g, b)) => Color::Indexed(nearest_256((r, g, b))),
        (ColorDepth::Ansi16, Color::Indexed(i @ 0..16)) => ANSI16[usize::from(i)].1,
        (ColorDepth::Ansi16, c @ (Color::Rgb(..) | Color::Indexed(_))) => {
            nearest_ansi16(rgb_of(c).expect("RGB and indexed colours have an RGB"))
        }
        // named ANSI colours and `reset` show everywhere
        (_, c) => c,
    })
}

/// The RGB an RGB or xterm-256 colour stands for.
fn rgb_of(color: Color) -> Option<(u8, u8, u8)> {
    match color {
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Indexed(i @ 16..=231) => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            let i = i - 16;
            Some((level(i / 36), level(i / 6 % 6), level(i % 6)))
        }
        Color::Indexed(i @ 232..) => {
            let v = 8 + 10 * (i - 232);
            Some((v, v, v))
        }
        Color::Indexed(i) => Some(ANSI16[usize::from(i)].2),
        _ => None,
    }
}

/// The xterm-256 colour (the 6x6x6 cube or the grey ramp, 16..=255) that looks nearest to `rgb`.
pub fn nearest_256(rgb: (u8, u8, u8)) -> u8 {
    let target = lab(rgb);
    (16..=255u8)
        .min_by(|&a, &b| {
            let da = distance(target, lab(rgb_of(Color::Indexed(a)).expect("16..=255 has an RGB")));
            let db = distance(target, lab(rgb_of(Color::Indexed(b)).expect("16..=255 has an RGB")));
            da.total_cmp(&db)
        })
        .expect("a non-empty range")
}

/// The named ANSI colour that looks nearest to `rgb`, judged by xterm's default palette.
pub fn nearest_ansi16(rgb: (u8, u8, u8)) -> Color {
    let target = lab(rgb);
    ANSI16
        .iter()
        .min_by(|a, b| distance(target, lab(a.2)).total_cmp(&distance(target, lab(b.2))))
        .map(|(_, color, _)| *color)
        .expect("16 colours")
}

/// CIE L*a*b* (D65) of an sRGB colour: plain RGB distance calls every pastel a grey.
fn lab((r, g, b): (u8, u8, u8)) -> (f64, f64, f64) {
    let linear = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
    };
    let (r, g, b) = (linear(r), linear(g), linear(b));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| if t > 0.008856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    (116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz))
}

fn distance(a: (f64, f64, f64), b: (f64, f64, f64)) -> f64 {
    (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2) + (a.2 - b.2).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPTHS: [ColorDepth; 4] =
        [ColorDepth::TrueColor, ColorDepth::Indexed256, ColorDepth::Ansi16, ColorDepth::None];

    fn all_styles(t: &Theme) -> Vec<Style> {
        let mut t = t.clone();
        STYLE_NAMES.iter().map(|k| *t.style_mut(k).unwrap()).collect()
    }

    #[test]
    fn builtin_themes_parse_completely_and_keep_their_key_styles_apart() {
        let mut t = dark_rgb();
        assert_eq!(t.name, "dark");
        assert!(STYLE_NAMES.iter().all(|k| t.style_mut(k).is_some()));
        for (name, text) in BUILTIN {
            // every built-in names every style itself rather than leaning on dark
            let (file_name, styles) = parse_file(text).unwrap();
            assert_eq!(file_name.as_deref(), Some(*name));
            assert_eq!(styles.len(), STYLE_NAMES.len(), "{name} gives every style");
            for depth in DEPTHS {
                let t = Theme::load(name, None, depth).unwrap();
                assert_eq!(t.name, *name);
                assert_ne!(t.border, t.border_focus, "{name} at {depth:?}: the focused pane must show");
                let keys = [t.base, t.selection, t.correlated, t.search];
                for (i, a) in keys.iter().enumerate() {
                    for b in &keys[i + 1..] {
                        assert_ne!(a, b, "{name} at {depth:?}: base/selection/correlated/search must differ");
                    }
                }
            }
        }
        assert_eq!(Theme::builtin_names(), BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>());
        // dark on a dark background, light on a light one
        let dark = Theme::load("dark", None, ColorDepth::Ansi16).unwrap();
        assert_eq!(dark.base.bg, Some(Color::Black));
        let light = Theme::load("light", None, ColorDepth::Ansi16).unwrap();
        assert_eq!(light.base.bg, Some(Color::White));
    }

    #[test]
    fn status_classes() {
        let t = Theme::load("dark", None, ColorDepth::TrueColor).unwrap();
        assert_eq!(t.status(200), t.status_2xx);
        assert_eq!(t.status(304), t.status_3xx);
        assert_eq!(t.status(429), t.status_4xx);
        assert_eq!(t.status(503), t.status_5xx);
        assert_eq!(t.status(0), t.status_other);
        assert_eq!(t.status(101), t.status_other);
        assert_eq!(t.status(999), t.status_other);
        // 5xx red-ish, 4xx yellow-ish, 3xx cyan-ish, 2xx green-ish or plain, even on 16 colours
        for name in Theme::builtin_names() {
            let t = Theme::load(name, None, ColorDepth::Ansi16).unwrap();
            assert!(matches!(t.status_5xx.fg, Some(Color::Red | Color::LightRed)), "{name} {:?}", t.status_5xx);
            assert!(matches!(t.status_4xx.fg, Some(Color::Yellow | Color::LightYellow)), "{name} {:?}", t.status_4xx);
            assert!(matches!(t.status_3xx.fg, Some(Color::Cyan | Color::LightCyan)), "{name} {:?}", t.status_3xx);
            let plain_or_green = [Color::Green, Color::LightGreen, Color::White, Color::Gray, Color::Black];
            assert!(t.status_2xx.fg.is_none_or(|c| plain_or_green.contains(&c)), "{name} {:?}", t.status_2xx);
        }
    }

    #[test]
    fn user_theme_overrides_a_builtin_and_adds_a_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        let full = BUILTIN[0].1.replace("#0d1117", "#000000");
        std::fs::write(dir.path().join("themes/dark.toml"), &full).unwrap();
        std::fs::write(dir.path().join("themes/solar.toml"), "name = 'solar'\n[styles]\nbase = { fg = 'yellow' }")
            .unwrap();
        let cfg = Some(dir.path());
        let dark = Theme::load("dark", cfg, ColorDepth::TrueColor).unwrap();
        assert_eq!(dark.base.bg, Some(Color::Rgb(0, 0, 0)));
        assert_ne!(dark, Theme::load("dark", None, ColorDepth::TrueColor).unwrap());
        let solar = Theme::load("solar", cfg, ColorDepth::TrueColor).unwrap();
        assert_eq!(solar.name, "solar");
        assert_eq!(solar.base, Style::new().fg(Color::Yellow));
        // builtins still load with a config dir that lacks them
        assert!(Theme::load("light", cfg, ColorDepth::TrueColor).is_ok());
        assert_eq!(Theme::available_names(cfg), ["dark", "light", "high-contrast", "solar"]);
        // an unknown name lists what there is
        let err = format!("{:#}", Theme::load("nope", cfg, ColorDepth::TrueColor).unwrap_err());
        assert!(err.contains("nope") && err.contains("high-contrast") && err.contains("solar"), "{err}");
        assert!(Theme::load("../dark", cfg, ColorDepth::TrueColor).is_err());
        // a broken user file is reported by its path
        std::fs::write(dir.path().join("themes/broken.toml"), "[styles]\nbase = { fg = 'nocolour' }").unwrap();
        let err = format!("{:#}", Theme::load("broken", cfg, ColorDepth::TrueColor).unwrap_err());
        assert!(err.contains("broken.toml") && err.contains("styles.base") && err.contains("nocolour"), "{err}");
    }

    #[test]
    fn partial_theme_inherits_from_dark() {
        let dark = Theme::load("dark", None, ColorDepth::TrueColor).unwrap();
        let t = Theme::parse("[styles]\nselection = { fg = 'black', bg = '#ffff00' }", ColorDepth::TrueColor).unwrap();
        assert_eq!(t.selection, Style::new().fg(Color::Black).bg(Color::Rgb(255, 255, 0)));
        assert_eq!(t.base, dark.base);
        assert_eq!(t.status_5xx, dark.status_5xx);
        assert_eq!(t.name, "custom");
    }

    #[test]
    fn errors_name_the_key() {
        let err = |text: &str| format!("{:#}", Theme::parse(text, ColorDepth::TrueColor).unwrap_err());
        let e = err("[styles]\nsearch = { fg = '#12345g' }");
        assert!(e.contains("styles.search") && e.contains("fg") && e.contains("#12345g"), "{e}");
        let e = err("[styles]\nsearch = { bg = 'purple' }");
        assert!(e.contains("styles.search") && e.contains("purple"), "{e}");
        let e = err("[styles]\nselectoin = { fg = 'red' }");
        assert!(e.contains("styles.selectoin"), "{e}");
        let e = err("[styles]\nid = { fg = 'red', modifiers = ['blod'] }");
        assert!(e.contains("styles.id") && e.contains("blod"), "{e}");
        let e = err("[styles]\nid = { colour = 'red' }");
        assert!(e.contains("styles.id") && e.contains("colour"), "{e}");
        assert!(err("nmae = 'x'").contains("nmae"));
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_color("#ff8000").unwrap(), Color::Rgb(255, 128, 0));
        assert_eq!(parse_color("#FF8000").unwrap(), Color::Rgb(255, 128, 0));
        assert_eq!(parse_color("lightred").unwrap(), Color::LightRed);
        assert_eq!(parse_color("dark_gray").unwrap(), Color::DarkGray);
        assert_eq!(parse_color("grey").unwrap(), Color::Gray);
        assert_eq!(parse_color("reset").unwrap(), Color::Reset);
        for bad in ["#fff", "#ff80000", "ff8000", "", "orange", "#ff80é0"] {
            assert!(parse_color(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn depth_from_env() {
        use ColorDepth::*;
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, ColorDepth);
        let cases: &[Case] = &[
            (Some("1"), Some("truecolor"), Some("xterm-256color"), None),
            (Some(""), Some("truecolor"), Some("xterm"), TrueColor),
            (Some(""), Option::None, Some("xterm-256color"), Indexed256),
            (Option::None, Some("24bit"), Some("xterm"), TrueColor),
            (Option::None, Some("TrueColor"), Option::None, TrueColor),
            (Option::None, Some("yes"), Some("screen-256color"), Indexed256),
            (Option::None, Option::None, Some("dumb"), None),
            (Option::None, Option::None, Some("xterm"), Ansi16),
            (Option::None, Option::None, Option::None, Ansi16),
        ];
        for &(no_color, colorterm, term, want) in cases {
            assert_eq!(ColorDepth::from_env(no_color, colorterm, term), want, "{no_color:?} {colorterm:?} {term:?}");
        }
    }

    #[test]
    fn degrading_to_256_and_16_colours() {
        assert_eq!(nearest_256((255, 0, 0)), 196);
        assert_eq!(nearest_256((0x80, 0x80, 0x80)), 244);
        assert!((232..=255).contains(&nearest_256((0x3a, 0x3a, 0x3a))));
        assert_eq!(nearest_256((0, 0, 0)), 16);
        assert!(matches!(nearest_ansi16((255, 0, 0)), Color::Red | Color::LightRed));
        assert_eq!(nearest_ansi16((0, 0, 0)), Color::Black);
        assert_eq!(nearest_ansi16((255, 255, 255)), Color::White);

        let text = "[styles]\nsearch = { fg = '#ff0000', bg = '#808080' }\nid = { fg = 'cyan' }";
        let t = Theme::parse(text, ColorDepth::Indexed256).unwrap();
        assert_eq!(t.search.fg, Some(Color::Indexed(196)));
        assert_eq!(t.search.bg, Some(Color::Indexed(244)));
        assert_eq!(t.id.fg, Some(Color::Cyan), "named colours stay");
        let t = Theme::parse(text, ColorDepth::Ansi16).unwrap();
        assert!(matches!(t.search.fg, Some(Color::Red | Color::LightRed)));
        for depth in [ColorDepth::Indexed256, ColorDepth::Ansi16] {
            for name in Theme::builtin_names() {
                let t = Theme::load(name, None, depth).unwrap();
                for s in all_styles(&t) {
                    for c in s.fg.into_iter().chain(s.bg) {
                        let ok = match depth {
                            ColorDepth::Indexed256 => !matches!(c, Color::Rgb(..)),
                            _ => !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                        };
                        assert!(ok, "{name} at {depth:?} has {c:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn no_colour_keeps_modifiers_and_adds_the_needed_ones() {
        for name in Theme::builtin_names() {
            let full = Theme::load(name, None, ColorDepth::TrueColor).unwrap();
            let t = Theme::load(name, None, ColorDepth::None).unwrap();
            for (plain, coloured) in all_styles(&t).into_iter().zip(all_styles(&full)) {
                assert_eq!((plain.fg, plain.bg), (None, None), "{name}");
                assert!(plain.add_modifier.contains(coloured.add_modifier), "{name} keeps its modifiers");
            }
            assert!(t.selection.add_modifier.contains(Modifier::REVERSED));
            assert!(t.correlated.add_modifier.contains(Modifier::BOLD | Modifier::UNDERLINED));
            assert!(t.search.add_modifier.contains(Modifier::REVERSED));
            assert!(t.id.add_modifier.contains(Modifier::BOLD));
            assert!(t.status_5xx.add_modifier.contains(Modifier::BOLD));
            assert!(t.border_focus.add_modifier.contains(Modifier::BOLD));
            assert!(t.paused.add_modifier.contains(Modifier::REVERSED));
        }
    }
}
