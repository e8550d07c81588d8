//! Drawing the token pane: it takes the pane's state, the theme and the keymap, not the whole console. Claims are
//! strangers' text: every line goes through [`display_text`].

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::display::display_text;
use super::keymap::{Action, Keymap};
use super::theme::Theme;
use super::token::{Asking, TokenView, key_label};
use crate::token::show::{Tone, lines};

/// What the token pane needs to be drawn.
pub struct TokenDraw<'a> {
    /// The pane.
    pub view: &'a TokenView,
    /// Whether it has the keys.
    pub focused: bool,
    /// Colours.
    pub theme: &'a Theme,
    /// For the key hints.
    pub keymap: &'a Keymap,
}

fn tone_style(t: &Theme, tone: Tone) -> Style {
    match tone {
        Tone::Title => t.title,
        Tone::Plain => t.base,
        Tone::Dim => t.dim,
        Tone::Good => t.status_2xx,
        Tone::Bad => t.alert,
    }
}

/// Draw the token pane in `r`.
pub fn draw_token(d: &TokenDraw<'_>, f: &mut Frame<'_>, r: Rect) {
    let (t, v) = (d.theme, d.view);
    f.render_widget(Clear, r);
    let k = |a| d.keymap.first_key(a);
    let hints = if v.asking != Asking::Nothing {
        " Enter uses it · Esc cancels ".to_string()
    } else {
        format!(
            " {} secret · {} key file, JWKS or discover · {} paste a token · {} scroll · Esc close ",
            k(Action::TokenSecret),
            k(Action::TokenKey),
            k(Action::TokenEdit),
            k(Action::Down)
        )
    };
    let title = format!(
        " tokens · {} · {} ",
        display_text(v.place.as_bytes()),
        display_text(key_label(v.key.as_ref()).as_bytes())
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if d.focused { t.border_focus } else { t.border })
        .title(Span::styled(title, t.title))
        .title_bottom(Line::from(Span::styled(hints, t.dim)))
        .style(t.base);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let asking = v.asking != Asking::Nothing;
    let [input_area, body] = Layout::vertical([Constraint::Length(asking as u16), Constraint::Min(0)]).areas(inner);
    if asking {
        let label = match v.asking {
            Asking::Token => "token> ",
            Asking::Secret => "secret> ",
            _ => "key file, JWKS file or URL, or discover> ",
        };
        let w = label.chars().count() as u16;
        f.render_widget(
            Paragraph::new(Span::styled(label, t.bar_key)),
            Rect { width: w.min(input_area.width), ..input_area },
        );
        let mut input = v.input.clone();
        input.set_style(t.base);
        input.set_cursor_line_style(Style::default());
        f.render_widget(&input, Rect { x: input_area.x + w, width: input_area.width.saturating_sub(w), ..input_area });
    }
    let mut out: Vec<Line<'static>> = Vec::new();
    if let Some((bad, m)) = &v.message {
        out.push(Line::from(Span::styled(display_text(m.as_bytes()), if *bad { t.alert } else { t.dim })));
    }
    match &v.results {
        Some(results) => {
            let n = results.len();
            for (i, inspection) in results.iter().enumerate() {
                if n > 1 {
                    out.push(Line::from(Span::styled(format!("── {} of {n}", i + 1), t.dim)));
                }
                for (tone, line) in lines(inspection) {
                    out.push(Line::from(Span::styled(display_text(line.as_bytes()), tone_style(t, tone))));
                }
            }
        }
        None if v.checking => out.push(Line::from(Span::styled("checking…", t.dim))),
        None => {}
    }
    f.render_widget(Paragraph::new(out).wrap(Wrap { trim: false }).scroll((v.scroll, 0)), body);
}
