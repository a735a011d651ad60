#!/usr/bin/env bash
# Installs the plugin the way a user without a published release does, with the real krew (the
# sigs.k8s.io/krew Go module, built once into the cache): `kubectl krew install
# --manifest=MANIFEST --archive=ARCHIVE` into a throw-away KREW_ROOT, then runs `kubectl
# failover version` through kubectl's plugin lookup, then `kubectl krew uninstall failover`.
#
#   scripts/krew-install-check.sh MANIFEST ARCHIVE
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
manifest="${1:?usage: krew-install-check.sh MANIFEST ARCHIVE}"
archive="${2:?usage: krew-install-check.sh MANIFEST ARCHIVE}"
KREW_MODULE='sigs.k8s.io/krew/cmd/krew@v0.4.3'
ensure_python_tools
if [ ! -x "$KFO_CACHE/bin/kubectl-krew" ]; then
  echo "==> building $KREW_MODULE" >&2
  GOBIN="$KFO_CACHE/bin" GOFLAGS=-mod=mod go install "$KREW_MODULE"
  mv "$KFO_CACHE/bin/krew" "$KFO_CACHE/bin/kubectl-krew"
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
export KREW_ROOT="$root/krew" HOME="$root/home"
mkdir -p "$HOME"
export PATH="$KREW_ROOT/bin:$KFO_CACHE/bin:$(dirname "$KFO_KUBECTL"):$PATH"
# krew wants its plugin index initialized (a git clone) for uninstall and upgrade; the public
# one is on GitHub, so serve a local index holding this manifest, as krew-index would.
index="$root/index"
mkdir -p "$index/plugins"
cp "$manifest" "$index/plugins/failover.yaml"
git -C "$index" init -q
git -C "$index" -c user.name=ci -c user.email=ci@localhost add plugins
git -C "$index" -c user.name=ci -c user.email=ci@localhost commit -q -m "failover"
export KREW_DEFAULT_INDEX_URI="$index"
kubectl krew update >/dev/null 2>"$root/update.log" \
  || { cat "$root/update.log" >&2; echo "FAIL kubectl krew update (local index)" >&2; exit 1; }
kubectl krew install --manifest="$manifest" --archive="$archive" >/dev/null 2>"$root/install.log" \
  || { cat "$root/install.log" >&2; echo "FAIL kubectl krew install" >&2; exit 1; }
[ -f "$KREW_ROOT/store/failover/"*/LICENSE ] || { echo "FAIL the installed plugin has no LICENSE" >&2; exit 1; }
version="$(kubectl failover version)"
case "$version" in
  "kubectl-failover "*) echo "PASS kubectl krew install, then kubectl failover version: $version" ;;
  *) echo "FAIL kubectl failover version printed: $version" >&2; exit 1 ;;
esac
kubectl krew uninstall failover >/dev/null 2>"$root/uninstall.log" \
  || { cat "$root/uninstall.log" >&2; echo "FAIL kubectl krew uninstall failover" >&2; exit 1; }
! command -v kubectl-failover >/dev/null 2>&1 || { echo "FAIL still installed after uninstall" >&2; exit 1; }
echo "PASS kubectl krew uninstall failover"
