#!/usr/bin/env bash
# Combines the per-architecture image archives of scripts/build-image.sh into one multi-arch
# image (an OCI image index) named KFO_IMAGE:vVERSION, writes its digest, and with --push pushes
# it (and every architecture's image) to a registry (buildah login first).
#
#   scripts/publish-image.sh [--push] dist/kubectl-failover-image-linux-*.tar
#
# Writes dist/kubectl-failover-image.digest (the index's digest, what deploy/ pins).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
push=false
archives=()
for arg in "$@"; do
  case "$arg" in
    --push) push=true ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) archives+=("$arg") ;;
  esac
done
((${#archives[@]})) || { echo "publish-image: name the image archives (scripts/build-image.sh)" >&2; exit 2; }
ensure_buildah
version="v$(sed -n 's/^version = "\(.*\)"/\1/p' "$KFO_ROOT/Cargo.toml" | head -1)"
image="$(sed -n 's/^KFO_IMAGE=//p' "$KFO_ROOT/project.env"):$version"
out="$KFO_ROOT/dist"
mkdir -p "$out"

list="$image-index"
buildah manifest rm "$list" >/dev/null 2>&1 || true
buildah manifest create "$list" >/dev/null
for archive in "${archives[@]}"; do
  [ -f "$archive" ] || { echo "publish-image: $archive does not exist" >&2; exit 2; }
  buildah manifest add "$list" "oci-archive:$archive" >/dev/null
  echo "==> added $archive" >&2
done
index="$out/kubectl-failover-image-index.tar"
rm -f "$index"
buildah manifest push --quiet --all --digestfile "$out/kubectl-failover-image.digest" "$list" "oci-archive:$index:$image"
echo "$image $(cat "$out/kubectl-failover-image.digest") (${#archives[@]} architectures) -> $index"
if $push; then
  buildah manifest push --all --digestfile "$out/kubectl-failover-image.digest" "$list" "docker://$image"
  echo "pushed $image@$(cat "$out/kubectl-failover-image.digest")"
fi
