//! `--color auto|always|never`: whether output gets ANSI colours. `auto` colours only a terminal
//! and honours `NO_COLOR` (https://no-color.org); `always` wins over both, as in kubectl and git.

use std::io::IsTerminal;

/// The `--color` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour stdout, given this process's environment.
    pub fn for_stdout(self) -> Palette {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        self.resolve(std::io::stdout().is_terminal(), no_color)
    }

    /// Whether to colour, given whether the output is a terminal and whether NO_COLOR is set.
    pub fn resolve(self, is_terminal: bool, no_color: bool) -> Palette {
        let on = match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color,
        };
        Palette { on }
    }
}

/// Paints text when colour is on; passes it through untouched when off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Palette {
    on: bool,
}

impl Palette {
    /// A palette that never colours (tests, documents).
    pub const PLAIN: Palette = Palette { on: false };

    /// True when colours are written.
    pub fn is_on(self) -> bool {
        self.on
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Good news: healthy, done.
    pub fn ok(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Worth a look: degraded, in progress, suspended.
    pub fn warn(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Bad news: error, stale, failed.
    pub fn bad(self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Emphasis: names, headings.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Less important: hints.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// Colours the health words of one rendered table line (`OK` green; `DEGRADED`, `UNKNOWN`,
/// `yes` under SUSPENDED-like words left alone; `ERROR`, `(stale)`, `never`, `(lapsed)` red).
/// Painting after the columns were padded keeps them aligned.
pub fn paint_health(line: &str, palette: Palette) -> String {
    if !palette.is_on() {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len() + 16);
    for (i, token) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let painted = match token {
            "OK" | "SUCCESS" => palette.ok(token),
            "DEGRADED" | "UNKNOWN" | "REQUESTED" | "SOURCE_DEACTIVATING" | "TARGET_ACTIVATING" => {
                palette.warn(token)
            }
            "ERROR" | "(stale)" | "never" | "(lapsed)" | "FAILED" | "ROLLED_BACK" => {
                palette.bad(token)
            }
            _ => token.to_string(),
        };
        out.push_str(&painted);
    }
    out
}

/// Removes ANSI colour sequences, for measuring how wide a painted cell looks.
pub fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // Skip `[`, the parameters and the final letter.
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_colours_a_terminal_unless_no_color_is_set() {
        assert!(ColorChoice::Auto.resolve(true, false).is_on());
        assert!(!ColorChoice::Auto.resolve(true, true).is_on());
        assert!(!ColorChoice::Auto.resolve(false, false).is_on());
    }

    #[test]
    fn always_and_never_ignore_the_terminal_and_no_color() {
        assert!(ColorChoice::Always.resolve(false, true).is_on());
        assert!(!ColorChoice::Never.resolve(true, false).is_on());
    }

    #[test]
    fn painted_text_strips_back_to_the_original_and_plain_text_is_untouched() {
        let p = ColorChoice::Always.resolve(false, false);
        let red = p.bad("ERROR");
        assert_ne!(red, "ERROR");
        assert_eq!(strip(&red), "ERROR");
        assert_eq!(Palette::PLAIN.bad("ERROR"), "ERROR");
    }

    #[test]
    fn health_words_are_painted_in_place_without_moving_the_columns() {
        let p = ColorChoice::Always.resolve(false, false);
        let line = "east   PRIMARY   ERROR   5s (stale)";
        let painted = paint_health(line, p);
        assert_ne!(painted, line);
        assert_eq!(strip(&painted), line);
        assert_eq!(paint_health(line, Palette::PLAIN), line);
    }
}
