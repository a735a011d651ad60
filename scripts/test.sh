#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs moto (the DynamoDB-compatible server the
# tests start on loopback) and kubectl into a venv under ~/.cache, and tmux from Debian, then runs
# every test, slow ones included, and builds the real Kubernetes control plane the tests start
# (scripts/k8s-control-plane.sh; needs Go 1.24+).
#
# With no arguments, every test binary runs, in two lanes at once: the real-time end-to-end
# binaries (real processes waiting on real heartbeats: e2e_real, e2e_run, the chaos sample) in
# one, everything else in the other, then the doc tests. With arguments, plain
# `cargo test --no-fail-fast ARGS` (e.g. `scripts/test.sh --test chaos`).
source "$(dirname "$0")/env.sh"
cd "$KFO_ROOT"
ensure_python_tools
ensure_system_tools
# The real Kubernetes control plane (kube-apiserver, kube-controller-manager, etcd, kwok) built
# from Go modules into a cache under ~/.cache, once per machine (tests/control_plane.rs,
# tests/e2e_real.rs).
KFO_K8S_BIN="$("$KFO_ROOT/scripts/k8s-control-plane.sh")"
export KFO_K8S_BIN
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
total() {
  # One closing line for the whole suite: cargo's own last line counts only its last binary.
  cat "$@" | awk '/^test result:/ { p += $4; f += $6 } END { printf "total: %d passed, %d failed\n", p, f }'
}
if [ "$#" -gt 0 ]; then
  set +e
  cargo test --no-fail-fast "$@" 2>&1 | tee "$logs/all.log"
  status=${PIPESTATUS[0]}
  set -e
  total "$logs/all.log"
  exit "$status"
fi

# Build every test binary once (debug), and the model check optimized: its runs explore too many
# states for an unoptimized build (about 80 s to build incrementally).
echo "==> building the tests"
cargo test --no-run --message-format=json-render-diagnostics > "$logs/build.json"
cargo test --release --no-run --test model_check --message-format=json-render-diagnostics > "$logs/build-release.json"
# name<TAB>executable, for every test binary (lib and bin unit tests, integration tests).
binaries() {
  "$KFO_MOTO_PYTHON" - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        t = m["target"]
        name = t["name"] if "test" in t["kind"] else f'{t["name"]} ({t["kind"][0]} unit tests)'
        print(f'{name}\t{m["executable"]}')
PY
}
binaries "$logs/build.json" | sort -u > "$logs/binaries"
binaries "$logs/build-release.json" | grep '^model_check	' > "$logs/release-binaries"

# Runs the binaries listed in file $2 one after the other, logging each to $logs/$1-*.log.
lane() {
  local lane="$1" list="$2" status=0 n=0 name exe start
  while IFS=$'\t' read -r name exe; do
    n=$((n + 1))
    start=$(date +%s)
    if "$exe" > "$logs/$lane-$n.log" 2>&1; then
      echo "==> [$lane] $name: ok ($(( $(date +%s) - start )) s)"
    else
      status=1
      echo "==> [$lane] $name: FAILED ($(( $(date +%s) - start )) s); its output follows"
      cat "$logs/$lane-$n.log"
    fi
  done < "$list"
  return "$status"
}
realtime='^(e2e_real|e2e_run|chaos)	'
grep -E "$realtime" "$logs/binaries" | sort -r > "$logs/lane-realtime" || true
grep -vE "$realtime" "$logs/binaries" | grep -v '^model_check	' > "$logs/lane-rest" || true
cat "$logs/release-binaries" >> "$logs/lane-rest"
echo "==> running $(wc -l < "$logs/lane-realtime") real-time and $(wc -l < "$logs/lane-rest") other test binaries in two lanes"
set +e
lane realtime "$logs/lane-realtime" &
realtime_pid=$!
lane rest "$logs/lane-rest"
rest=$?
wait "$realtime_pid"
realtime_status=$?
cargo test --doc 2>&1 | tee "$logs/doc.log"
doc=${PIPESTATUS[0]}
set -e
total "$logs"/realtime-*.log "$logs"/rest-*.log "$logs/doc.log"
[ "$rest" -eq 0 ] && [ "$realtime_status" -eq 0 ] && [ "$doc" -eq 0 ]
