#!/usr/bin/env bash
# Points deploy/ at a released image: sets newName (KFO_IMAGE of project.env) and newTag in
# deploy/base/kustomization.yaml, and the digest when given (kustomize then pins it).
#
#   scripts/set-image.sh v0.2.0 [sha256:...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="${1:?usage: set-image.sh TAG [DIGEST]}"
digest="${2:-}"
case "$tag" in v[0-9]*) ;; *) echo "set-image: the tag must look like v1.2.3, not $tag" >&2; exit 2 ;; esac
case "$digest" in ""|sha256:????????????????????????????????????????????????????????????????) ;;
  *) echo "set-image: the digest must be sha256:<64 hex digits>, not $digest" >&2; exit 2 ;;
esac
image="$(sed -n 's/^KFO_IMAGE=//p' "$root/project.env")"
file="$root/deploy/base/kustomization.yaml"
grep -q '^    newTag: ' "$file" || { echo "set-image: $file has no newTag line" >&2; exit 1; }
sed -i -e "s|^    newName: .*|    newName: $image|" -e "s|^    newTag: .*|    newTag: $tag|" -e '/^    digest: /d' "$file"
if [ -n "$digest" ]; then
  sed -i "s|^    newTag: .*|&\n    digest: $digest|" "$file"
fi
echo "deploy/base/kustomization.yaml -> $image:$tag${digest:+@$digest}"
