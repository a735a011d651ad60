#!/usr/bin/env bash
# Checks a controller image built by scripts/build-image.sh the way a kubelet would start it,
# without a container runtime: its config (user 65532, entrypoint, command `run`), then its root
# file system mounted and entered with chroot as user 65532: `version` runs, and `run` without a
# cluster fails with its clear message and exit code 5 (no Kubernetes API reachable).
#
#   scripts/check-image.sh IMAGE
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
image="${1:?usage: check-image.sh IMAGE}"
ensure_buildah

fail() { echo "FAIL $image: $*" >&2; exit 1; }
config() { buildah inspect --type image --format "$1" "$image"; }
[ "$(config '{{.OCIv1.Config.User}}')" = "65532:65532" ] || fail "user is $(config '{{.OCIv1.Config.User}}'), not 65532:65532"
[ "$(config '{{.OCIv1.Config.Entrypoint}}')" = '[/usr/local/bin/kubectl-failover]' ] || fail "entrypoint $(config '{{.OCIv1.Config.Entrypoint}}')"
[ "$(config '{{.OCIv1.Config.Cmd}}')" = '[run]' ] || fail "command $(config '{{.OCIv1.Config.Cmd}}')"
echo "PASS $image runs /usr/local/bin/kubectl-failover run as 65532:65532"

ctr="$(buildah from "$image")"
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
mnt="$(buildah mount "$ctr")"
chroot="$(command -v chroot)"
# in_image [NAME=value...] ARGS...: the entrypoint with ARGS, as user 65532, in a clean
# environment (the image's own plus NAME=value).
in_image() {
  local envs=(HOME=/home/nonroot SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt)
  while [[ "${1:-}" == *=* ]]; do envs+=("$1"); shift; done
  env -i "${envs[@]}" "$chroot" --userspec=65532:65532 "$mnt" /usr/local/bin/kubectl-failover "$@"
}

version="$(in_image version)" || fail "version failed in the image"
case "$version" in
  "kubectl-failover "*) echo "PASS version in the image: $version" ;;
  *) fail "version printed: $version" ;;
esac
set +e
message="$(in_image CLUSTER_NAME=east OPERATOR_ID=ci run 2>&1 </dev/null)"
code=$?
set -e
[ "$code" -eq 5 ] || fail "run without a cluster exited $code, not 5: $message"
case "$message" in
  *"no Kubernetes cluster reachable"*) echo "PASS run without a cluster exits 5: ${message:0:90}..." ;;
  *) fail "run without a cluster said: $message" ;;
esac
for file in /etc/ssl/certs/ca-certificates.crt /etc/passwd /usr/share/doc/libc6/copyright; do
  [ -s "$mnt$file" ] || fail "$file is missing"
done
echo "PASS CA certificates, users and licenses in place"
