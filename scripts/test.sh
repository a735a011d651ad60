#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs moto (the DynamoDB-compatible server the
# tests start on loopback) into a venv under ~/.cache, then runs every test, slow ones included.
source "$(dirname "$0")/env.sh"
cd "$KFO_ROOT"
ensure_python_tools
# Plain `cargo test`: lib, binary, integration and doc tests. Not --all-targets, which would also
# run the real-time benchmark (benches/failover.rs, harness = false) as if it were a test.
cargo test "$@"
