#!/usr/bin/env bash
# Writes DIR/SHA256SUMS over every release file in DIR (archives, image archives, digests), in
# `sha256sum --check` format.
#
#   scripts/checksums.sh [DIR]     (default: dist/)
set -euo pipefail
dir="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/dist}"
cd "$dir"
files=$(find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort)
[ -n "$files" ] || { echo "checksums: nothing to sum in $dir" >&2; exit 2; }
# shellcheck disable=SC2086
sha256sum $files > SHA256SUMS
sha256sum --check --quiet SHA256SUMS
echo "$dir/SHA256SUMS: $(wc -l < SHA256SUMS) files"
