#!/usr/bin/env bash
# The chaos campaign (docs/reliability.md): random fault schedules, each reproducible from its
# seed, against real `kubectl-failover run` processes (3 clusters x 2 replicas under leader
# election, moto behind a fault proxy per cluster), judged by an independent checker; then the
# record codec's property test with a million arbitrary attribute maps.
#
#   scripts/chaos.sh [SEEDS] [PARALLEL]     SEEDS: N, A-B or a list (default 1-500)
#   KFO_CHAOS_SEEDS=137 cargo test --test chaos -- --nocapture    one schedule again
#
# The figures (per fault kind: time to be served again after the last fault, median/p99/max)
# go to $KFO_CACHE/chaos/report-<date>.md; a failing schedule prints its seed and timeline and
# keeps its controllers' logs under the cargo target's tmp/e2e/chaos-<seed>-*/.
source "$(dirname "$0")/env.sh"
cd "$KFO_ROOT"
ensure_python_tools
seeds="${1:-1-500}"
parallel="${2:-2}"
mkdir -p "$KFO_CACHE/chaos"
report="$KFO_CACHE/chaos/report-$(date -u +%Y%m%dT%H%M%SZ).md"
echo "==> chaos: seeds $seeds, $parallel at a time, at $(git rev-parse --short HEAD 2>/dev/null || echo '?'); report: $report"
# The campaign runs copies of the test binary and of kubectl-failover, so that rebuilding the
# tree meanwhile changes nothing under it.
bin="$KFO_CACHE/chaos/bin-$$"
mkdir -p "$bin"
trap 'rm -rf "$bin"' EXIT
tests="$(cargo test --test chaos --no-run --message-format=json-render-diagnostics \
  | "$KFO_MOTO_PYTHON" -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "chaos":
        print(m["executable"])')"
cargo build --quiet
cp "$tests" "$bin/chaos"
cp "$CARGO_TARGET_DIR/debug/kubectl-failover" "$bin/kubectl-failover"
set +e
KFO_CHAOS_SEEDS="$seeds" KFO_CHAOS_PARALLEL="$parallel" KFO_CHAOS_REPORT="$report" \
  KFO_E2E_BINARY="$bin/kubectl-failover" "$bin/chaos" random_fault_schedules --nocapture
chaos=$?
echo "==> the record codec under 1,000,000 arbitrary attribute maps"
KFO_CODEC_CASES="${KFO_CODEC_CASES:-1000000}" cargo test --release --lib store::dynamodb::codec::props
codec=$?
set -e
cat "$report" 2>/dev/null
[ "$chaos" -eq 0 ] && [ "$codec" -eq 0 ]
