//! `version`: the plugin's version and build target, as text or a JSON/YAML document (the way
//! `kubectl version -o json` reports itself).

use crate::cli::output::{OutputFormat, write_document};
use crate::error::Error;
use clap::Args;
use serde::Serialize;
use std::io::Write;

const EXAMPLES: &str = "Examples:
  kubectl failover version
  kubectl failover version -o json";

/// Flags of `version`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct VersionArgs {
    /// Output format (table and wide print one line).
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// What `version` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    /// The crate version.
    pub version: &'static str,
    /// Operating system the binary was built for.
    pub os: &'static str,
    /// CPU architecture the binary was built for.
    pub arch: &'static str,
}

/// This binary's version info.
pub fn info() -> VersionInfo {
    VersionInfo {
        version: env!("CARGO_PKG_VERSION"),
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
    }
}

/// Runs `version`.
pub fn run(args: VersionArgs) -> Result<(), Error> {
    let info = info();
    let mut out = std::io::stdout().lock();
    if !write_document(args.output, &mut out, &info)? {
        writeln!(
            out,
            "kubectl-failover {} ({}/{})",
            info.version, info.os, info.arch
        )?;
    }
    out.flush()?;
    Ok(())
}
