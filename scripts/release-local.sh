#!/usr/bin/env bash
# The release for linux/amd64 on this machine, every step the release workflow runs except the
# uploads: the glibc 2.28 binary (checked), its krew archive and manifest entry, `kubectl krew
# install` from them, the controller image from the same binary (checked), the image index and
# its digest, checksums, and actionlint over .github/workflows. .ci/run runs it on every change.
#
#   scripts/release-local.sh [--out DIR]      (default DIR: dist/)
#
# Leaves the committed plugin-manifest/ alone: the manifest goes to DIR/plugin-manifest/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
out="$KFO_ROOT/dist"
[ "${1:-}" = "--out" ] && out="${2:?--out needs a directory}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
ensure_packaging_tools
ensure_python_tools

echo "==> actionlint .github/workflows" >&2
(cd "$KFO_ROOT" && "$KFO_ACTIONLINT" -shellcheck= .github/workflows/*.yml)

echo "==> glibc 2.28 binary (scripts/build-portable.sh)" >&2
binary="$("$KFO_ROOT/scripts/build-portable.sh" --arch amd64 --out "$out" | tail -1)"

echo "==> krew archive and manifest (scripts/package-krew.sh)" >&2
manifest_dir="$out/plugin-manifest"
rm -rf "$manifest_dir"
mkdir -p "$manifest_dir"
cp "$KFO_ROOT/plugin-manifest/header.yaml" "$manifest_dir/"
read -r archive sha < <("$KFO_ROOT/scripts/package-krew.sh" --target x86_64-unknown-linux-gnu \
  --binary "$binary" --out "$out" --manifest-dir "$manifest_dir" | tail -1)

echo "==> kubectl krew install --manifest --archive (the local form)" >&2
"$KFO_ROOT/scripts/krew-install-check.sh" "$manifest_dir/failover.yaml" "$archive"

echo "==> image from the same binary (scripts/build-image.sh)" >&2
image_line="$("$KFO_ROOT/scripts/build-image.sh" --binary "$binary" --arch amd64 --out "$out" | tail -1)"
"$KFO_ROOT/scripts/publish-image.sh" "$out/kubectl-failover-image-linux-amd64.tar" >&2
"$KFO_ROOT/scripts/checksums.sh" "$out" >&2

binary_sha="$(sha256sum "$binary" | cut -d' ' -f1)"
inside="$(tar -xzOf "$archive" kubectl-failover | sha256sum | cut -d' ' -f1)"
[ "$inside" = "$binary_sha" ] || { echo "release-local: the krew archive holds another binary" >&2; exit 1; }
{
  echo "binary   $binary sha256:$binary_sha"
  echo "krew     $archive sha256:$sha (manifest entry $manifest_dir/platforms/linux-amd64.yaml)"
  echo "image    $image_line"
  echo "index    $(cat "$out/kubectl-failover-image.digest")"
} | tee "$out/RELEASE.txt"
