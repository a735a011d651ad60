#!/usr/bin/env bash
# The demo with no AWS account and no cluster: simulated clusters, one real agent each, failing
# applications over in real time. Arguments go to `kubectl failover demo` (try --help). With
# `--store dynamodb` and no AWS_ENDPOINT set, a local DynamoDB-compatible server (moto) is
# started on loopback for the run and stopped afterwards.
source "$(dirname "$0")/env.sh"
cd "$KFO_ROOT"
cargo build --quiet
BIN="$CARGO_TARGET_DIR/debug/kubectl-failover"
if [[ " $* " == *" --store dynamodb "* || " $* " == *" --store=dynamodb "* ]] \
   && [ -z "${AWS_ENDPOINT:-}" ]; then
  ensure_python_tools
  mkdir -p "$KFO_CACHE"
  start_moto
  export AWS_ENDPOINT="$MOTO_URL" AWS_USE_LOCAL_ENDPOINT=true AWS_REGION="${AWS_REGION:-us-west-2}"
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
fi
# Not exec: the EXIT trap of start_moto must run after the demo ends.
"$BIN" demo "$@"
