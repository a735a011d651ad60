//! `version`: the plugin's version and build target, and where the project lives (its
//! repository and controller image, from `project.env`), as text or a JSON/YAML document (the
//! way `kubectl version -o json` reports itself).

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
    /// The project's repository (`KFO_REPOSITORY` in project.env).
    pub repository: &'static str,
    /// The controller image of this version (`KFO_IMAGE:v{version}`).
    pub image: String,
}

/// project.env at the repository root: the one place that says where the project lives.
const PROJECT: &str = include_str!("../../project.env");

/// A value of project.env (empty when the key is missing, which tests/packaging.rs rules out).
pub fn project_value(key: &str) -> &'static str {
    PROJECT
        .lines()
        .filter_map(|line| line.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map_or("", |(_, v)| v.trim())
}

/// This binary's version info.
pub fn info() -> VersionInfo {
    VersionInfo {
        version: env!("CARGO_PKG_VERSION"),
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        repository: project_value("KFO_REPOSITORY"),
        image: format!(
            "{}:v{}",
            project_value("KFO_IMAGE"),
            env!("CARGO_PKG_VERSION")
        ),
    }
}

/// Runs `version`.
pub fn run(args: VersionArgs) -> Result<(), Error> {
    let info = info();
    let mut out = std::io::stdout().lock();
    if !write_document(args.output, &mut out, &info)? {
        writeln!(
            out,
            "kubectl-failover {} ({}/{}) {} image {}",
            info.version, info.os, info.arch, info.repository, info.image
        )?;
    }
    out.flush()?;
    Ok(())
}
