#!/usr/bin/env bash
# Builds Prometheus's promtool from the Go module in tests/promtool/ (pinned to one Prometheus
# release), for `cargo test --test monitoring`: `promtool check rules` and `promtool test rules`
# run deploy/monitoring's alerts through Prometheus's own rule engine. The binary goes to a cache
# under the home directory keyed by the module, so a machine builds it once; a second run prints
# its path and returns at once.
#
#   scripts/promtool.sh          build if missing, print the binary's path
#   scripts/promtool.sh --check  exit 1 (and say what is missing) without building
source "$(dirname "$0")/env.sh"
MOD="$KFO_ROOT/tests/promtool"
VERSION="$(awk '$1 == "github.com/prometheus/prometheus" && $2 ~ /^v/ {print $2; exit}' "$MOD/go.mod")"
HASH="$(cat "$MOD/go.mod" "$MOD/go.sum" | sha256sum | cut -c1-12)"
BIN="${KFO_PROMTOOL:-$KFO_CACHE/promtool/$VERSION-$HASH/promtool}"
if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "missing: $BIN; run scripts/promtool.sh to build it" >&2
  exit 1
fi
if ! command -v go >/dev/null 2>&1; then
  echo "error: no Go toolchain on PATH; promtool is built from Go modules." >&2
  echo "Install Go 1.24 or later (https://go.dev/dl/ or Debian's golang-go backport) and rerun." >&2
  exit 1
fi
start=$(date +%s)
echo "==> building promtool (Prometheus $VERSION) into $BIN (once per machine; about 5-10 min cold on 2 cores)" >&2
mkdir -p "$(dirname "$BIN")"
cd "$MOD"
CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" \
  go build -ldflags="-s -w" -o "$BIN.partial" github.com/prometheus/prometheus/cmd/promtool
mv "$BIN.partial" "$BIN"
echo "==> built in $(( $(date +%s) - start )) s" >&2
echo "$BIN"
