#!/usr/bin/env bash
# Builds the real Kubernetes control plane the tests run against: kube-apiserver,
# kube-controller-manager and etcd from the Go module in tests/k8s-control-plane/ (pinned to one
# Kubernetes release), and kwok (simulated nodes and pods). The binaries go to a cache under the
# home directory keyed by version, so a machine builds them once; a second run prints the
# directory and returns at once.
#
#   scripts/k8s-control-plane.sh          build if missing, print the bin directory
#   scripts/k8s-control-plane.sh --check  exit 1 (and say what is missing) without building
source "$(dirname "$0")/env.sh"
KUBE_VERSION="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$KFO_ROOT/tests/k8s-control-plane/go.mod")"
KWOK_VERSION="v0.7.0"
MODULE_HASH="$(cat "$KFO_ROOT/tests/k8s-control-plane/go.mod" "$KFO_ROOT/tests/k8s-control-plane/go.sum" | sha256sum | cut -c1-12)"
BIN="${KFO_K8S_BIN:-$KFO_CACHE/k8s/$KUBE_VERSION-kwok-$KWOK_VERSION-$MODULE_HASH/bin}"
TOOLS=(etcd kube-apiserver kube-controller-manager kwok)

missing=()
for t in "${TOOLS[@]}"; do [ -x "$BIN/$t" ] || missing+=("$t"); done
if ((${#missing[@]} == 0)); then
  echo "$BIN"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "missing in $BIN: ${missing[*]}; run scripts/k8s-control-plane.sh to build them" >&2
  exit 1
fi
if ! command -v go >/dev/null 2>&1; then
  echo "error: no Go toolchain on PATH; the real control plane is built from Go modules." >&2
  echo "Install Go 1.24 or later (https://go.dev/dl/ or Debian's golang-go backport) and rerun." >&2
  exit 1
fi

mkdir -p "$BIN.partial"
start=$(date +%s)
echo "==> building Kubernetes $KUBE_VERSION control plane and kwok $KWOK_VERSION into $BIN (once per machine; about 15-25 min cold on 2 cores)" >&2
cd "$KFO_ROOT/tests/k8s-control-plane"
# -trimpath and no VCS stamping: the cache key is the module, not the checkout.
export CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
for spec in "etcd:go.etcd.io/etcd/server/v3" \
            "kube-apiserver:k8s.io/kubernetes/cmd/kube-apiserver" \
            "kube-controller-manager:k8s.io/kubernetes/cmd/kube-controller-manager"; do
  name="${spec%%:*}" pkg="${spec#*:}"
  [ -x "$BIN.partial/$name" ] && continue
  echo "    go build $pkg" >&2
  go build -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION" -o "$BIN.partial/$name" "$pkg"
done
if [ ! -x "$BIN.partial/kwok" ]; then
  echo "    go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
  GOBIN="$BIN.partial" go install -ldflags="-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi
rm -rf "$BIN"
mv "$BIN.partial" "$BIN"
echo "==> built in $(( $(date +%s) - start )) s; $(du -sh "$BIN" | cut -f1) of binaries, Go caches: $(du -sh "$(go env GOMODCACHE)" 2>/dev/null | cut -f1) modules, $(du -sh "$(go env GOCACHE)" 2>/dev/null | cut -f1) build cache" >&2
echo "$BIN"
