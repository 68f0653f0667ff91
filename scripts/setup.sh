#!/bin/sh
# One-command set-up for a machine that has only Node 20 and npm.
# libp2p v3 needs Node >= 22, so we take Node 24 from the npm registry (the `node` package ships
# the real binary) as a devDependency: afterwards every `npm run …`/`npm test` in this repo runs on it,
# because npm puts node_modules/.bin first on PATH.
set -eu
cd "$(dirname "$0")/.."
PNPM_VERSION=10.34.8
echo "› installing dependencies (pnpm $PNPM_VERSION, Node 24 from the npm registry)"
npx --yes "pnpm@$PNPM_VERSION" install --frozen-lockfile
echo "› building"
PATH="$PWD/node_modules/.bin:$PATH" npm run --silent build
echo "› ready: $("$PWD/node_modules/.bin/node" --version). Try: npm run demo"
