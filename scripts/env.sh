# Sourced by netbed's scripts: puts the engine on PATH and keeps it off the internet.
# Usage: . scripts/env.sh
_nb_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_nb_bin=$(bash "$_nb_root/scripts/install-pulumi.sh" | tail -n 1) || return 1
export PATH="$_nb_bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_DISABLE_REGISTRY_RESOLVE=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=${PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK:-false}
export PULUMI_HOME=${PULUMI_HOME:-$HOME/.pulumi}
unset _nb_root _nb_bin
