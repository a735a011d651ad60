//! Entry point: parse the command line, set up logging, run the command, map errors to exit codes.

use clap::Parser;
use kubectl_failover::cli::{Cli, run};
use kubectl_failover::error::ExitCode;
use std::io::IsTerminal;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let controller = matches!(cli.command, kubectl_failover::cli::Command::Run(_));
    init_tracing(cli.verbose, controller);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return std::process::ExitCode::from(ExitCode::Internal as u8);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let code = e.exit_code();
            if !is_broken_pipe(&e) {
                eprintln!("error: {e}");
            }
            std::process::ExitCode::from(code as u8)
        }
    }
}

fn is_broken_pipe(e: &kubectl_failover::error::Error) -> bool {
    matches!(e, kubectl_failover::error::Error::Output(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Human-readable logs on a terminal, JSON lines otherwise (in a pod); `-v` raises the level.
/// The plugin commands do not show kube's own request errors unless `-v`: each command says
/// itself what failed, and a cluster that does not answer is often only a fallback.
fn init_tracing(verbose: u8, controller: bool) {
    let default = match verbose {
        0 if !controller => "warn,aws_config=error,aws_smithy_runtime=error,kube_client=off",
        0 => "warn,aws_config=error,aws_smithy_runtime=error",
        1 => "info,aws_config=warn,aws_smithy_runtime=warn",
        2 => "debug,hyper=info,aws_smithy_runtime=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KUBECTL_FAILOVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().init();
    }
}
