#!/usr/bin/env bash
# Builds the controller image with buildah, without a Docker daemon: `from scratch`, the root
# file system of scripts/image-rootfs.sh (the binary, its libraries and CA certificates from
# Debian packages), user nonroot (65532), entrypoint `kubectl-failover`, command `run`. Writes an
# OCI archive and its manifest digest, then checks the image (scripts/check-image.sh).
#
#   scripts/build-image.sh --binary dist/kubectl-failover-linux-amd64 [--arch amd64] [--out DIR]
#
# Names it KFO_IMAGE:vVERSION (project.env, Cargo.toml). Writes DIR/kubectl-failover-image-linux-
# ARCH.tar (load it with `podman load` / `docker load`, or `kind load image-archive`) and
# DIR/kubectl-failover-image-linux-ARCH.digest. Default DIR: dist/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

binary=""
arch=amd64
out="$KFO_ROOT/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --arch) arch="${2:?--arch needs amd64 or arm64}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$binary" ] && [ -x "$binary" ] || { echo "build-image: --binary must name the built binary (scripts/build-portable.sh)" >&2; exit 2; }
ensure_buildah

project() { sed -n "s/^$1=//p" "$KFO_ROOT/project.env"; }
version="v$(sed -n 's/^version = "\(.*\)"/\1/p' "$KFO_ROOT/Cargo.toml" | head -1)"
image="$(project KFO_IMAGE):$version"
mkdir -p "$out"
archive="$out/kubectl-failover-image-linux-$arch.tar"
digestfile="$out/kubectl-failover-image-linux-$arch.digest"

rootfs="$(mktemp -d)"
ctr=""
cleanup() { [ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$rootfs"; }
trap cleanup EXIT
"$KFO_ROOT/scripts/image-rootfs.sh" "$binary" "$rootfs" "$arch"

echo "==> buildah: $image (linux/$arch)" >&2
ctr="$(buildah from --arch "$arch" scratch)"
mnt="$(buildah mount "$ctr")"
cp -a "$rootfs/." "$mnt/"
buildah umount "$ctr" >/dev/null
buildah config \
  --os linux --arch "$arch" \
  --user 65532:65532 \
  --workingdir /home/nonroot \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --port 8080 \
  --entrypoint '["/usr/local/bin/kubectl-failover"]' \
  --cmd run \
  --label "org.opencontainers.image.source=$(project KFO_REPOSITORY)" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.licenses=Apache-2.0" \
  "$ctr"
# A fixed timestamp: the same rootfs gives the same image, so digests can be compared.
buildah commit --quiet --timestamp 0 "$ctr" "$image" >/dev/null
rm -f "$archive"
buildah push --quiet --digestfile "$digestfile" "$image" "oci-archive:$archive:$image"
"$KFO_ROOT/scripts/check-image.sh" "$image" >&2
echo "$image $(cat "$digestfile") $archive"
