#!/usr/bin/env bash
# Builds netbed's native helpers (native/netbed-confine) with the host's C compiler.
#
#   scripts/build-native.sh [OUTDIR]      (default: native/build/, git-ignored)
#
# Idempotent: the binary is rebuilt only when it is missing or older than its source or this
# script. Prints the binary's path as its last line.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/native/build}
src="$root/native/netbed-confine.c"
bin="$out/netbed-confine"
cc=${CC:-cc}

log() { printf 'build-native: %s\n' "$*" >&2; }

if [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$0" ]; then
    log "$bin is up to date"
    echo "$bin"
    exit 0
fi
if ! command -v "$cc" >/dev/null 2>&1; then
    log "no C compiler ('$cc' not found): install Debian's build-essential (apt-get install build-essential)"
    exit 1
fi

mkdir -p "$out"
# Build to a temporary name and rename, so a failed or concurrent build never leaves a
# half-written binary that looks up to date.
tmp=$(mktemp "$out/.netbed-confine.XXXXXX")
trap 'rm -f "$tmp"' EXIT
"$cc" -O2 -Wall -Wextra -Werror -o "$tmp" "$src"
chmod 755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
log "built $bin"
echo "$bin"
