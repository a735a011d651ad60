#!/usr/bin/env bash
# Builds the Linux release binary that runs on glibc 2.28 and later (RHEL 8, Ubuntu 20.04,
# Debian 10 and newer): cargo-zigbuild links it against zig's glibc 2.28 symbol stubs with the
# installed Rust toolchain, so no older distribution is needed. Then checks it
# (scripts/check-binary.sh).
#
#   scripts/build-portable.sh [--arch amd64|arm64] [--out DIR]
#
# Writes DIR/kubectl-failover-linux-ARCH (default DIR: dist/). Its own build cache
# ($KFO_CACHE/target-portable) keeps the test build's cache untouched.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

GLIBC=2.28
arch=amd64
out="$KFO_ROOT/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="${2:?--arch needs amd64 or arm64}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-portable: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$arch" in
  amd64) triple=x86_64-unknown-linux-gnu ;;
  arm64) triple=aarch64-unknown-linux-gnu ;;
  *) echo "build-portable: --arch must be amd64 or arm64, not $arch" >&2; exit 2 ;;
esac

ensure_packaging_tools
rustup target add "$triple" >/dev/null 2>&1 || true
export CARGO_TARGET_DIR="$KFO_CACHE/target-portable"
echo "==> cargo zigbuild --release --target $triple.$GLIBC" >&2
(cd "$KFO_ROOT" && cargo zigbuild --quiet --release --locked --target "$triple.$GLIBC" --bin kubectl-failover)
mkdir -p "$out"
binary="$out/kubectl-failover-linux-$arch"
install -m 0755 "$CARGO_TARGET_DIR/$triple/release/kubectl-failover" "$binary"
"$KFO_ROOT/scripts/check-binary.sh" --max-glibc "$GLIBC" "$binary" >&2
echo "$binary"
