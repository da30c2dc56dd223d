#!/usr/bin/env bash
# Makes the Pulumi engine available to netbed without reaching the internet beyond the Go
# module proxy: the `pulumi` CLI, `pulumi-resource-pulumi-nodejs`, and (where the proxy serves
# them) `pulumi-language-nodejs` and the `command` provider plugin.
#
# The engine version is the version of @pulumi/pulumi pinned in package.json (devDependencies; users
# bring their own copy, a peer dependency): one place.
# Builds land in a cache outside the clone ($NETBED_CACHE, default ~/.cache/netbed) and are
# skipped when a binary of the right version is already there.
#
# Prints the bin directory to put on PATH as its last line. scripts/env.sh does that for you.
# `--engine-only` does step 1 alone (it needs neither npm's packages nor root): setup.sh runs it
# while apt and npm work.
set -euo pipefail
engine_only=false
[ "${1:-}" = --engine-only ] && engine_only=true

root=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p "require('$root/package.json').devDependencies['@pulumi/pulumi']")
cache=${NETBED_CACHE:-$HOME/.cache/netbed}
bindir="$cache/pulumi/v$version/bin"
mkdir -p "$bindir"

log() { printf 'install-pulumi: %s\n' "$*" >&2; }

have_version() { # $1 = binary; true when it reports v$version
    [ -x "$1" ] && [ "$("$1" version 2>/dev/null)" = "v$version" ]
}

# 1. The CLI: a matching `pulumi` on PATH, else the cached build, else build it now.
onpath=$(command -v pulumi 2>/dev/null || true)
if [ -n "$onpath" ] && [ "$onpath" != "$bindir/pulumi" ] && have_version "$onpath"; then
    log "using $onpath (v$version) from PATH"
    ln -sf "$onpath" "$bindir/pulumi"
elif have_version "$bindir/pulumi"; then
    log "using cached $bindir/pulumi (v$version)"
else
    if ! command -v go >/dev/null 2>&1; then
        log "ERROR: no pulumi v$version on PATH and no Go toolchain to build it."
        log "Install the Pulumi CLI v$version with Pulumi's official installer"
        log "(https://www.pulumi.com/docs/install/, e.g. 'curl -fsSL https://get.pulumi.com | sh -s -- --version $version')"
        log "or install Go >= 1.25 and run this script again."
        exit 1
    fi
    log "building pulumi v$version from the Go module proxy (cold: about 7 minutes on 2 cores)"
    mod="$cache/pulumi/v$version/src"
    mkdir -p "$mod"
    # pkg/go.mod replaces sdk/v3 with a relative path, so `go install pkg@version` refuses it;
    # a wrapper module that requires both at the same version builds it.
    cat > "$mod/go.mod" <<EOF
module netbed.local/pulumi-build

go 1.25

require (
	github.com/pulumi/pulumi/pkg/v3 v$version
	github.com/pulumi/pulumi/sdk/v3 v$version
)
EOF
    cat > "$mod/tools.go" <<'EOF'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
EOF
    # The checksum database does not answer for pulumi's modules through every proxy (it does
    # not on the project's machines); their hashes are then taken from the proxy itself.
    export GONOSUMDB=${GONOSUMDB:-github.com/pulumi}
    (cd "$mod" && go mod tidy)
    # -s -w: no symbol table or DWARF (Go's stack traces do not need them); the link then takes
    # about 30% less CPU and the binary is 112 MB instead of 156.
    (cd "$mod" && CGO_ENABLED=0 go build -trimpath -tags osusergo,grpcnotrace \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
        -o "$bindir/pulumi.new" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    mv "$bindir/pulumi.new" "$bindir/pulumi"
    log "built $bindir/pulumi"
fi
if $engine_only; then
    echo "$bindir"
    exit 0
fi

# 2. The dynamic-provider shim ships inside the @pulumi/pulumi npm package: scripts/engine.ts puts
#    the copy that runs the program on the engine's PATH. A link to it in the shared cache would point into
#    whichever clone ran setup last (and dangle once that clone is gone): remove one left by an
#    older setup.
sdk=$(cd "$root" && node -p 'require("path").dirname(require.resolve("@pulumi/pulumi/package.json"))' 2>/dev/null || echo "$root/node_modules/@pulumi/pulumi")
shim="$sdk/pulumi-resource-pulumi-nodejs"
if [ -L "$bindir/pulumi-resource-pulumi-nodejs" ]; then rm -f "$bindir/pulumi-resource-pulumi-nodejs"; fi
if [ ! -x "$shim" ]; then log "WARNING: $shim is missing: run 'npm ci' (or 'npm install' in your project) first"; fi

# 3. Go plugins that the proxy may or may not serve: the Node.js language host (a bare `pulumi up`
#    needs one; the Automation API path hosts the program in-process) and the command provider
#    (@pulumi/command resources; netbed's own provider is a Node.js plugin).
try_go_plugin() { # $1 = output name, $2 = module@version, $3 = package path
    local out=$1 modver=$2 pkg=$3
    [ -x "$bindir/$out" ] && return 0
    command -v go >/dev/null 2>&1 || return 1
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && go mod init netbed.local/plugin >/dev/null 2>&1 &&
        GONOSUMDB=${GONOSUMDB:-github.com/pulumi} go get "$modver" >/dev/null 2>"$tmp/err" &&
        CGO_ENABLED=0 go build -trimpath -o "$bindir/$out" "$pkg" 2>>"$tmp/err") || {
        log "NOTE: could not build $out from $modver: $(tail -n 2 "$tmp/err" | tr '\n' ' ')"
        rm -rf "$tmp"
        return 1
    }
    rm -rf "$tmp"
}

# The Node.js language host: Pulumi's pulumi-language-nodejs wherever it exists (on PATH, or next to
# the pulumi binary, where Pulumi's installer puts it); it has no tags of its own and is published
# at the pseudo-version of the commit behind tag pkg/v$version (pinned here). Where it exists
# nowhere and cannot be built (the module proxy refuses it on the project's machines), netbed's
# own host serves instead (langhost/): a small launcher next to the pulumi binary, where the engine
# looks for it without a warning, runs the netbed host of the project the engine starts it in.
langhost_pseudo=${NETBED_LANGHOST_PSEUDO:-v3.0.0-20260624180030-dc7edd58bc13}
launcher="$bindir/pulumi-language-nodejs"
netbed_launcher() { [ -f "$1" ] && grep -q "netbed-langhost-launcher" "$1"; }
official=$(command -v pulumi-language-nodejs 2>/dev/null || true)
if [ -z "$official" ] || netbed_launcher "$official"; then
    official=$(dirname "$(readlink -f "$bindir/pulumi")")/pulumi-language-nodejs
    { [ -x "$official" ] && ! netbed_launcher "$official"; } || official=""
fi
if [ -z "$official" ] && ! netbed_launcher "$launcher" && try_go_plugin pulumi-language-nodejs \
    "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@$langhost_pseudo" \
    github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3; then
    official=$launcher
fi
if [ -n "$official" ]; then
    log "Node.js language host: Pulumi's $official"
    if netbed_launcher "$launcher"; then rm -f "$launcher"; fi
else
    cat > "$launcher.new" <<'EOF2'
#!/bin/sh
# netbed-langhost-launcher: written by netbed's scripts/install-pulumi.sh because Pulumi's
# pulumi-language-nodejs is not installed. The engine starts the language host in the project's
# directory: run the netbed language host of that project (a netbed checkout, or a project with
# netbed in its node_modules).
dir=$PWD
while :; do
    if [ -x "$dir/node_modules/netbed/langhost/pulumi-language-nodejs" ]; then
        exec "$dir/node_modules/netbed/langhost/pulumi-language-nodejs" "$@"
    fi
    if [ -x "$dir/langhost/pulumi-language-nodejs" ] && grep -q '"name": "netbed"' "$dir/package.json" 2>/dev/null; then
        exec "$dir/langhost/pulumi-language-nodejs" "$@"
    fi
    [ "$dir" = / ] && break
    dir=$(dirname "$dir")
done
echo "pulumi-language-nodejs: Pulumi's Node.js language host is not installed, and netbed's (which stands in for it) is not installed in $PWD or above it: run 'npm install netbed' there, or install Pulumi's pulumi-language-nodejs" >&2
exit 1
EOF2
    chmod +x "$launcher.new"
    mv "$launcher.new" "$launcher"
    log "Node.js language host: netbed's (langhost/, through $launcher): Pulumi's pulumi-language-nodejs is not installed"
fi
command_version=$(node -p "require('$root/package.json').devDependencies['@pulumi/command']")
if ! "$bindir/pulumi" plugin ls 2>/dev/null | grep -q "^command *resource *$command_version"; then
    if try_go_plugin pulumi-resource-command \
        "github.com/pulumi/pulumi-command/provider@v$command_version" \
        github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command; then
        PULUMI_SKIP_UPDATE_CHECK=true "$bindir/pulumi" plugin install resource command "v$command_version" \
            --file "$bindir/pulumi-resource-command" >/dev/null
    else
        log "the command provider plugin v$command_version is unavailable: @pulumi/command resources will not run"
    fi
fi

echo "$bindir"
