#!/usr/bin/env bash
# Checks a Linux binary of kubectl-failover: the highest GLIBC symbol version it needs is at most
# --max-glibc (so it starts on distributions with that glibc), and, when it is built for this
# machine, that it runs (`version`) and refuses an unknown command with exit code 2.
#
#   scripts/check-binary.sh --max-glibc 2.28 dist/kubectl-failover-linux-amd64
set -euo pipefail
max=""
while [ $# -gt 1 ]; do
  case "$1" in
    --max-glibc) max="${2:?--max-glibc needs a version such as 2.28}"; shift 2 ;;
    *) echo "check-binary: unknown argument $1" >&2; exit 2 ;;
  esac
done
binary="${1:?usage: check-binary.sh --max-glibc 2.28 BINARY}"
[ -n "$max" ] || { echo "check-binary: --max-glibc is required" >&2; exit 2; }
[ -x "$binary" ] || { echo "check-binary: $binary is not an executable file" >&2; exit 2; }

# Every versioned symbol it imports, e.g. "memcpy@GLIBC_2.14": the highest version decides.
needed="$(objdump -T "$binary" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -u -V | tail -1)"
[ -n "$needed" ] || { echo "check-binary: $binary imports no GLIBC symbol (not a glibc binary?)" >&2; exit 1; }
highest="$(printf '%s\n%s\n' "$needed" "$max" | sort -V | tail -1)"
if [ "$highest" != "$max" ]; then
  echo "FAIL $binary needs GLIBC_$needed, above $max:" >&2
  objdump -T "$binary" | grep "GLIBC_$needed" | head -5 >&2
  exit 1
fi
echo "PASS $binary needs at most GLIBC_$needed (limit $max)"

machine="$(uname -m)"
file_arch="$(readelf -h "$binary" | sed -n 's/^ *Machine: *//p')"
case "$machine:$file_arch" in
  x86_64:*X86-64*|aarch64:*AArch64*) ;;
  *) echo "SKIP run: built for $file_arch, this machine is $machine"; exit 0 ;;
esac
version="$("$binary" version)"
case "$version" in
  "kubectl-failover "*) echo "PASS $binary version: $version" ;;
  *) echo "FAIL $binary version printed: $version" >&2; exit 1 ;;
esac
set +e
"$binary" no-such-command >/dev/null 2>&1
code=$?
set -e
[ "$code" -eq 2 ] || { echo "FAIL $binary no-such-command exited $code, not 2" >&2; exit 1; }
echo "PASS $binary refuses an unknown command with exit code 2"
