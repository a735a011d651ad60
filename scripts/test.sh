#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs moto (the DynamoDB-compatible server the
# tests start on loopback) and kubectl into a venv under ~/.cache, and tmux from Debian, then runs
# every test, slow ones included, and builds the real Kubernetes control plane the tests start
# (scripts/k8s-control-plane.sh; needs Go 1.24+).
source "$(dirname "$0")/env.sh"
cd "$KFO_ROOT"
ensure_python_tools
ensure_system_tools
# The real Kubernetes control plane (kube-apiserver, kube-controller-manager, etcd, kwok) built
# from Go modules into a cache under ~/.cache, once per machine (tests/control_plane.rs,
# tests/e2e_real.rs).
KFO_K8S_BIN="$("$KFO_ROOT/scripts/k8s-control-plane.sh")"
export KFO_K8S_BIN
# Plain `cargo test` (every binary even after a failure): lib, binary, integration and doc tests. Not --all-targets, which would also
# run the real-time benchmark (benches/failover.rs, harness = false) as if it were a test.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The model check's runs on Kubernetes clusters (tests/model_check/kubernetes.rs) explore too
# many states for an unoptimized build: they run here, optimized, when the whole suite is asked
# for (no arguments). About 80 s to build incrementally and 2 min to run on 2 cores.
if [ "$#" -eq 0 ]; then
  cargo test --release --test model_check -- kubernetes:: 2>&1 | tee -a "$log"
  model=${PIPESTATUS[0]}
  [ "$status" -ne 0 ] || status=$model
fi
set -e
# One closing line for the whole suite: cargo's own last line is the doc-test summary, which
# counts only doc tests.
awk '/^test result:/ { p += $4; f += $6 } END { printf "total: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
