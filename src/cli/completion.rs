//! `completion bash|zsh|fish`: shell completion scripts generated from the command definition,
//! so every subcommand and flag is always covered.

use crate::error::Error;
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::io::Write;

const EXAMPLES: &str = "Examples:
  # bash: load now, or add to ~/.bashrc
  source <(kubectl-failover completion bash)

  # zsh
  kubectl-failover completion zsh > \"${fpath[1]}/_kubectl-failover\"

  # fish
  kubectl-failover completion fish > ~/.config/fish/completions/kubectl-failover.fish

These complete the kubectl-failover command (every subcommand and flag); kubectl's own
completion only completes the word `failover` after `kubectl`.";

/// The shells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShellArg {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

/// Flags of `completion`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CompletionArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    pub shell: ShellArg,
}

/// Writes the completion script for `shell` to `out`.
pub fn write_script(shell: ShellArg, out: &mut dyn Write) -> Result<(), Error> {
    let mut command = crate::cli::Cli::command();
    let shell = match shell {
        ShellArg::Bash => Shell::Bash,
        ShellArg::Zsh => Shell::Zsh,
        ShellArg::Fish => Shell::Fish,
    };
    // Generated into memory: clap_complete panics on a write error (a closed pipe), while
    // `out` reports it like every other command.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "kubectl-failover", &mut script);
    out.write_all(&script)?;
    Ok(())
}

/// Runs `completion`.
pub fn run(args: CompletionArgs) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    write_script(args.shell, &mut out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_script_names_the_plugin_commands() {
        for shell in [ShellArg::Bash, ShellArg::Zsh, ShellArg::Fish] {
            let mut out = Vec::new();
            write_script(shell, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            for word in ["promote", "suspend", "resume", "status", "all-from"] {
                assert!(text.contains(word), "{shell:?} lacks {word}");
            }
        }
    }
}
