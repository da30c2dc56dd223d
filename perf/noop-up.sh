#!/usr/bin/env bash
# A no-op up of one cheap stack of the default program (two namespace hosts and a veth), timed
# three ways, interleaved: the bare `pulumi up` (Pulumi's runner type-checks the program), the
# same with PULUMI_NODEJS_TRANSPILE_ONLY=true, and `npm run netbed -- up` (the Automation API).
# Prints each run and the median of each (docs/engine-and-cli.md, "The Pulumi engine"). RUNS=5 by default.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${RUNS:-5}
state=$(mktemp -d)
export PULUMI_BACKEND_URL="file://$state" PULUMI_CONFIG_PASSPHRASE=bench
. scripts/env.sh
stack=noopbench
log=$(mktemp)
cleanup() {
    pulumi destroy --yes --stack "$stack" --non-interactive >/dev/null 2>&1 || true
    rm -rf "$state" "$log" "stacks/Pulumi.$stack.yaml"
}
trap cleanup EXIT
pulumi stack init "$stack" --non-interactive >/dev/null
pulumi config set-all --path --stack "$stack" \
    --plaintext hosts.a.kind=netns --plaintext hosts.a.namespace=nbnoop-a \
    --plaintext hosts.b.kind=netns --plaintext hosts.b.namespace=nbnoop-b \
    --plaintext fabric.wires.w.a.host=a --plaintext fabric.wires.w.a.name=eth0 --plaintext 'fabric.wires.w.a.addresses[0]=10.163.0.1/24' \
    --plaintext fabric.wires.w.b.host=b --plaintext fabric.wires.w.b.name=eth0 --plaintext 'fabric.wires.w.b.addresses[0]=10.163.0.2/24'
pulumi up --yes --stack "$stack" --non-interactive >"$log" 2>&1 || { cat "$log"; exit 1; }

declare -A times
timed() { # $1 = label, then the command; fails unless the run changed nothing
    local label=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }
    t1=$(date +%s.%N)
    grep -q "5 unchanged" "$log" || { echo "$label: not a no-op:"; cat "$log"; exit 1; }
    times[$label]+="$(echo "$t1 - $t0" | bc) "
    echo "$label $(echo "$t1 - $t0" | bc) s (load $(cut -d' ' -f1 /proc/loadavg))"
}
for _ in $(seq "$runs"); do
    timed bare pulumi up --yes --stack "$stack" --non-interactive
    timed bare-transpile-only env PULUMI_NODEJS_TRANSPILE_ONLY=true pulumi up --yes --stack "$stack" --non-interactive
    timed npm-run npm run --silent netbed -- up --stack "$stack"
done
for label in bare bare-transpile-only npm-run; do
    # shellcheck disable=SC2086
    echo "$label: median $(printf '%s\n' ${times[$label]} | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}') s of $runs"
done
