#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs moto (the DynamoDB-compatible server the
# tests start on loopback) and kubectl into a venv under ~/.cache, and tmux from Debian, then runs
# every test, slow ones included, and builds the real Kubernetes control plane the tests start
# (scripts/k8s-control-plane.sh) and Prometheus's promtool (scripts/promtool.sh); both need Go
# 1.24+ and build once per machine.
#
# With arguments: plain `cargo test --no-fail-fast ARGS` (e.g. `--test store_contract`).
# Without: every test binary, in three lanes at once (see below), then the doc tests.
source "$(dirname "$0")/env.sh"
cd "$KFO_ROOT"
ensure_python_tools
ensure_system_tools
# The real Kubernetes control plane (kube-apiserver, kube-controller-manager, etcd, kwok) built
# from Go modules into a cache under ~/.cache, once per machine (tests/control_plane.rs,
# tests/e2e_real.rs).
KFO_K8S_BIN="$("$KFO_ROOT/scripts/k8s-control-plane.sh")"
export KFO_K8S_BIN
# promtool runs deploy/monitoring's alerts through Prometheus's rule engine (tests/monitoring.rs).
KFO_PROMTOOL="$("$KFO_ROOT/scripts/promtool.sh")"
export KFO_PROMTOOL
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
total() {
  awk '/^test result:/ { p += $4; f += $6 } END { printf "total: %d passed, %d failed\n", p, f }' "$@"
}

if [ "$#" -gt 0 ]; then
  set +e
  cargo test --no-fail-fast "$@" 2>&1 | tee "$logs/all"
  status=${PIPESTATUS[0]}
  set -e
  total "$logs/all"
  exit "$status"
fi

# Lanes. The chaos sample runs alone among the real-time binaries: its schedules (three
# clusters, six controllers each) keep both cores busy. Then the other end-to-end binaries, which
# wait on real time (1-second heartbeats, pods' grace periods) and use little CPU, run in two
# lanes side by side (a and b, each binary in turn). The CPU-bound rest (unit tests, the model
# check) runs throughout in lane c at the lowest priority: it gets the CPU the others leave idle
# and never delays their heartbeats, which is what broke a plain two-lane split
# (docs/testing.md, "Run time").
lane_solo=(chaos)
lane_a=(e2e_real controller_leader controller_groups controller_liveness controller_stream
  controller_binary cli_demo plugin_krew)
lane_b=(e2e_run multi_cluster bad_input control_plane admission_policy)

echo "==> building every test binary (debug) and the model check (optimized)"
# Cargo holds the build directory's lock while `cargo test` runs its binaries, so the lanes
# run the built executables themselves (from the package root, as cargo does).
cargo test --no-run --message-format=json-render-diagnostics >"$logs/artifacts.json"
cargo test --release --test model_check --no-run --message-format=json-render-diagnostics \
  >"$logs/model.json"
# The rest of the model check: optimized too, with debug assertions and overflow checks
# (Cargo.toml's model-check profile), instead of the unoptimized build's 11 minutes.
cargo test --profile model-check --test model_check --no-run \
  --message-format=json-render-diagnostics >"$logs/model-checked.json"
executables() {
  "$KFO_MOTO_PYTHON" -c 'import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        kind = m["target"]["kind"][0]
        name = m["target"]["name"] if kind == "test" else kind + ":" + m["target"]["name"]
        print(name + " " + m["executable"])' "$1"
}
declare -A exe
while read -r name path; do exe[$name]=$path; done < <(executables "$logs/artifacts.json")
model="$(executables "$logs/model.json" | awk '$1 == "model_check" { print $2 }')"
exe[model_check]="$(executables "$logs/model-checked.json" | awk '$1 == "model_check" { print $2 }')"

run_lane() { # run_lane NAME NICE BINARY... : runs each binary in turn; its output in the lane log
  local lane=$1 nice=$2 status=0 name start
  shift 2
  for name in "$@"; do
    start=$(date +%s)
    echo "     Running $name" >>"$logs/$lane"
    if [ "$name" = model_check_release ]; then
      # The model check's runs on Kubernetes clusters (tests/model_check/kubernetes.rs) explore
      # too many states for an unoptimized build: they run optimized.
      nice -n "$nice" "$model" kubernetes:: >>"$logs/$lane" 2>&1 || status=1
    else
      nice -n "$nice" "${exe[$name]}" >>"$logs/$lane" 2>&1 || status=1
    fi
    echo "lane $lane: $name $(($(date +%s) - start))s" | tee -a "$logs/times"
  done
  return $status
}

lane_c=()
for name in "${!exe[@]}"; do
  case " ${lane_solo[*]} ${lane_a[*]} ${lane_b[*]} " in
    *" $name "*) ;;
    *) lane_c+=("$name") ;;
  esac
done
lane_c+=(model_check_release)

for name in "${lane_solo[@]}" "${lane_a[@]}" "${lane_b[@]}"; do
  [ -n "${exe[$name]:-}" ] || { echo "scripts/test.sh: no test binary $name: update its lanes" >&2; exit 2; }
done

echo "==> running: alone: ${lane_solo[*]}; then lane a: ${lane_a[*]}"
echo "==> running: beside lane a: lane b: ${lane_b[*]}"
echo "==> running: throughout, lane c (nice 19): ${lane_c[*]}"
started=$(date +%s)
set +e
run_lane c 19 "${lane_c[@]}" &
pid_c=$!
status=0
run_lane solo 0 "${lane_solo[@]}" || status=1
run_lane a 0 "${lane_a[@]}" &
pid_a=$!
run_lane b 0 "${lane_b[@]}" &
pid_b=$!
for pid in $pid_a $pid_b $pid_c; do
  wait "$pid" || status=1
done
cat "$logs/solo" "$logs/a" "$logs/b" "$logs/c"
echo "==> doc tests"
cargo test --doc 2>&1 | tee "$logs/doc"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
set -e
echo "==> time per binary"
sort -t' ' -k4 -rn "$logs/times" | sed 's/^/     /'
echo "lanes took $(($(date +%s) - started))s"
total "$logs/solo" "$logs/a" "$logs/b" "$logs/c" "$logs/doc"
exit "$status"
