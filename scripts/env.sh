# Puts the Pulumi engine and a Node.js language host on PATH and keeps the engine off the internet,
# so the bare CLI works: `pulumi stack init`, `pulumi up`, `pulumi stack output`, ...
# Usage: . scripts/env.sh                    (in a netbed checkout)
#        . node_modules/netbed/scripts/env.sh (in a project that installed netbed)
# Stacks live in <checkout or project>/.netbed/state unless PULUMI_BACKEND_URL says otherwise (the
# same place `npm run netbed` / `npx netbed` use).
_nb_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_nb_bin=$(bash "$_nb_root/scripts/install-pulumi.sh" | tail -n 1) || return 1
case $_nb_root in
    */node_modules/netbed) _nb_home=${_nb_root%/node_modules/netbed} ;;
    *) _nb_home=$_nb_root ;;
esac
export PATH="$_nb_bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_DISABLE_REGISTRY_RESOLVE=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=${PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK:-false}
export PULUMI_HOME=${PULUMI_HOME:-$HOME/.pulumi}
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
    mkdir -p -m 700 "$_nb_home/.netbed/state"
    # No metadata sidecars: one left empty by a killed CLI makes the stack unloadable (scripts/engine.ts).
    export PULUMI_BACKEND_URL="file://$_nb_home/.netbed/state?metadata=skip"
fi
unset _nb_root _nb_bin _nb_home
