#!/usr/bin/env bash
# Sets up a fresh Debian machine for netbed: system packages, npm packages, the Pulumi engine,
# and the compiled provider. Safe to run again: each step is skipped when already done.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

log() { printf 'setup: %s\n' "$*" >&2; }

# The engine build (about 6 minutes of compiling, cold) needs only Go and the module proxy: it runs
# while apt and npm download and install. Its own session, so that a failed step ends all of it.
setsid bash scripts/install-pulumi.sh --engine-only >/dev/null &
engine_pid=$!
trap 'kill -- -"$engine_pid" 2>/dev/null || true' EXIT

# Tools netbed runs on the hosts it manages (here: this machine and its namespaces).
packages=(iproute2 openssh-server openssh-client iperf3 sockperf netperf ethtool iputils-ping procps kmod python3 nftables
    qemu-system-x86 busybox-static cpio xz-utils chromium
    linux-source-6.1 build-essential flex bison bc libelf-dev libssl-dev lz4)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -q '^installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        log "missing Debian packages: ${missing[*]}; run as root or install them with apt-get"
        exit 1
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # netperf is in Debian's non-free component.
    nonfree=/etc/apt/sources.list.d/netbed-non-free.sources
    if [[ " ${missing[*]} " == *" netperf "* ]] && [ ! -f "$nonfree" ] && ! grep -rqs "non-free" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$codename" > "$nonfree"
    fi
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi

if ! wait "$engine_pid"; then
    log "installing the Pulumi engine failed (above)"
    exit 1
fi
bash scripts/install-pulumi.sh >/dev/null

log "building (tsc)"
npx tsc -p tsconfig.json
log "ready"
