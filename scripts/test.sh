#!/usr/bin/env bash
# The test suite (npm test, after tsc): lint and format (Biome), the pure tests of test/unit/ in one mocha
# process (.mocharc.json: no root, seconds), the tests of test/real/ that need root and real namespaces, links,
# guests and daemons in another (.mocharc.real.json), then each engine test file of test/engine/ (the real
# `pulumi` CLI through the Automation API) in a mocha process of its own. The Automation API runs a stack's
# program inside the calling process, and Pulumi's Node SDK keeps state there from one run to the next: a run
# that failed or was interrupted can disturb a later one (CI saw a program fail with the gRPC error of an
# engine long gone, and another register no resources at all). Users run one netbed process per operation.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
node_modules/.bin/biome ci --colors=off . || failed+=("lint or format (see biome.jsonc; npm run format fixes the format)")
node_modules/.bin/mocha || failed+=("the unit tests (test/unit)")
node_modules/.bin/mocha --config .mocharc.real.json || failed+=("the real-object tests (test/real)")
while IFS= read -r f; do
    node_modules/.bin/mocha --no-config -r ts-node/register/transpile-only --extension ts --timeout 120000 --exit "$f" || failed+=("$f")
done < <(find test/engine -name '*.engine.test.ts' | sort)
if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
