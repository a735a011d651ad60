#!/usr/bin/env bash
# Lays out the controller image's root file system in ROOTFS from BINARY and Debian packages:
#
#   /usr/local/bin/kubectl-failover                 the binary (entrypoint; command `run`)
#   /lib/<multiarch>/*, the ELF interpreter         the shared libraries the binary names (readelf),
#                                                   from Debian's libc6 and libgcc-s1
#   /etc/ssl/certs/ca-certificates.crt              Debian's ca-certificates (Mozilla's bundle)
#   /etc/passwd, /etc/group                         root and nonroot (65532), as distroless has
#   /home/nonroot, /tmp                             writable home and scratch space
#   /usr/share/doc/*/copyright                      the packages' licenses
#
#   scripts/image-rootfs.sh BINARY ROOTFS [DEBIAN_ARCH]
#
# scripts/build-image.sh (buildah) and the Dockerfile both use it, so both give the same layout.
# Needs apt-get (Debian or Ubuntu) and readelf.
set -euo pipefail
binary="${1:?usage: image-rootfs.sh BINARY ROOTFS [DEBIAN_ARCH]}"
rootfs="${2:?usage: image-rootfs.sh BINARY ROOTFS [DEBIAN_ARCH]}"
arch="${3:-$(dpkg --print-architecture)}"
packages=(libc6 libgcc-s1 ca-certificates)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  qualified=("${packages[@]/%/:$arch}")
  # ca-certificates is Architecture: all.
  qualified[2]=ca-certificates
  if ! apt-get download -qq "${qualified[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get download -qq "${qualified[@]}" >/dev/null
  fi
  # libgcc-s1's documentation (its copyright) is gcc-N-base's: fetch that package too.
  base="$(dpkg-deb -f libgcc-s1_*.deb Depends | grep -o 'gcc-[0-9]*-base' | head -1)"
  [ -z "$base" ] || apt-get download -qq "$base:$arch" >/dev/null 2>&1 || apt-get download -qq "$base" >/dev/null
  for deb in *.deb; do dpkg-deb -x "$deb" "$work/deb"; done
)
deb="$work/deb"

mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/home/nonroot" "$rootfs/tmp"
install -m 0755 "$binary" "$rootfs/usr/local/bin/kubectl-failover"

# The libraries the binary names, each found in the packages (following their symlinks inside
# the extracted tree), at the same path as on Debian.
copy_from_deb() {
  local path="$1" dest="$rootfs$1" real="$deb$1"
  # Absolute symlinks point into the package tree, not at this machine.
  while [ -L "$real" ]; do
    local link
    link="$(readlink "$real")"
    case "$link" in
      /*) real="$deb$link" ;;
      *) real="$(dirname "$real")/$link" ;;
    esac
  done
  [ -f "$real" ] || { echo "image-rootfs: $path is not in ${packages[*]} ($arch)" >&2; exit 1; }
  mkdir -p "$(dirname "$dest")"
  install -m 0755 "$real" "$dest"
}
interpreter="$(readelf -l "$binary" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')"
[ -n "$interpreter" ] || { echo "image-rootfs: $binary has no ELF interpreter (static?)" >&2; exit 1; }
copy_from_deb "$interpreter"
for lib in $(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  found="$(cd "$deb" && find lib usr/lib -name "$lib" 2>/dev/null | head -1)"
  [ -n "$found" ] || { echo "image-rootfs: $binary needs $lib, which ${packages[*]} do not ship" >&2; exit 1; }
  copy_from_deb "/$found"
done

# The CA bundle update-ca-certificates would build: every certificate Debian ships, in order.
find "$deb/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | xargs cat > "$rootfs/etc/ssl/certs/ca-certificates.crt"
[ -s "$rootfs/etc/ssl/certs/ca-certificates.crt" ] || { echo "image-rootfs: no CA certificates" >&2; exit 1; }

printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
for p in "${packages[@]}"; do
  mkdir -p "$rootfs/usr/share/doc/$p"
  # Follows libgcc-s1 -> gcc-N-base inside the extracted tree.
  doc="$deb/usr/share/doc/$p"
  [ -L "$doc" ] && doc="$deb/usr/share/doc/$(readlink "$doc")"
  install -m 0644 "$doc/copyright" "$rootfs/usr/share/doc/$p/copyright"
done
chmod 1777 "$rootfs/tmp"
chown -R 65532:65532 "$rootfs/home/nonroot"
chmod 0755 "$rootfs/home/nonroot"
