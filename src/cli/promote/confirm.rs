//! Asking before `promote` writes anything: `y` for a planned failover; for a forced one, the
//! group's name typed back (or the target cluster's, for several groups), because forcing skips
//! the old primary's acknowledgement. `--yes` skips the question.

use crate::error::{Error, ExitCode};
use std::io::{BufRead, Write};

/// What the person has to type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// `y` or `yes`.
    YesNo,
    /// Exactly this text.
    TypeBack(String),
}

/// Asks on `out` and reads one line from `input`. A closed input (no terminal, nothing piped)
/// or any other answer aborts with exit 3 and says how to proceed without a prompt.
pub fn ask(question: &Question, input: &mut dyn BufRead, out: &mut dyn Write) -> Result<(), Error> {
    match question {
        Question::YesNo => write!(out, "Proceed? [y/N] ")?,
        Question::TypeBack(text) => write!(out, "Type {text} to confirm: ")?,
    }
    out.flush()?;
    let mut line = String::new();
    let read = input.read_line(&mut line)?;
    let answer = line.trim();
    let accepted = match question {
        Question::YesNo => matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"),
        Question::TypeBack(text) => answer == text,
    };
    if accepted {
        return Ok(());
    }
    let why = if read == 0 {
        "no answer (standard input is closed)".to_string()
    } else {
        format!("the answer was {answer:?}")
    };
    Err(Error::Command {
        message: format!("aborted, nothing written: {why}; pass --yes to skip the question"),
        code: ExitCode::Conflict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(q: &Question, typed: &str) -> Result<String, Error> {
        let mut out = Vec::new();
        ask(q, &mut typed.as_bytes(), &mut out).map(|()| String::from_utf8(out).unwrap())
    }

    #[test]
    fn yes_in_any_case_proceeds_and_anything_else_aborts() {
        assert!(answer(&Question::YesNo, "Y\n").is_ok());
        assert!(answer(&Question::YesNo, "yes\n").is_ok());
        let err = answer(&Question::YesNo, "n\n").unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Conflict);
        assert!(err.to_string().contains("--yes"), "{err}");
    }

    #[test]
    fn a_forced_promotion_needs_the_exact_name_and_closed_input_aborts() {
        let q = Question::TypeBack("shop/web".into());
        assert!(answer(&q, "shop/web\n").is_ok());
        assert!(answer(&q, "y\n").is_err());
        let err = answer(&q, "").unwrap_err();
        assert!(
            err.to_string().contains("standard input is closed"),
            "{err}"
        );
    }
}
