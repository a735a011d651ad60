#!/usr/bin/env bash
# The main job with no AWS account and no cluster: a local DynamoDB-compatible server on loopback,
# the table created by `setup-dynamodb`, sample records written by another tool (boto3, the way a
# hand-made or third-party setup would), then `status` and `history` reading them.
source "$(dirname "$0")/env.sh"
cd "$KFO_ROOT"
ensure_python_tools
mkdir -p "$KFO_CACHE"
cargo build --quiet
BIN="$CARGO_TARGET_DIR/debug/kubectl-failover"
start_moto
export AWS_ENDPOINT="$MOTO_URL" AWS_USE_LOCAL_ENDPOINT=true AWS_REGION=us-west-2
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export DYNAMODB_TABLE_NAME=failover-operator OPERATOR_ID=failover-operator

run() { echo; echo "\$ kubectl failover $*"; "$BIN" "$@"; }
run setup-dynamodb
run setup-dynamodb
"$KFO_VENV/bin/python" scripts/seed_sample.py
run status -A
run status shop/web
run status -n shop checkout -o wide
run history shop/web
run history shop/web -o yaml --limit 1
echo
echo "\$ kubectl failover status shop/missing   # a mistake: exit code 4, and what to do"
"$BIN" status shop/missing || echo "(exit code $?)"
