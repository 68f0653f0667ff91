#!/bin/sh
# `npm test`: type-check everything (tests included), run the suite, then the tests that run
# alone (vitest.cross-check.config.ts: the simulation engines' cross-check and the NAT testbed,
# whose timings must not share the CPU with other test files).
# With IONET_TEST_REPORT=DIR, each run also writes vitest's JSON report into DIR (CI reads them).
set -e
PATH="$PWD/node_modules/.bin:$PATH"
npm run --silent build
tsc -p tsconfig.test.json
report () { [ -n "$IONET_TEST_REPORT" ] && echo "--reporter=default --reporter=json --outputFile=$IONET_TEST_REPORT/$1.json"; }
status=0
# shellcheck disable=SC2046
vitest run $(report main) "$@" || status=$?
# shellcheck disable=SC2046
vitest run --config vitest.cross-check.config.ts --passWithNoTests $(report cross-check) "$@" || status=$?
exit $status
