#!/usr/bin/env bash
# The TypeScript SDK's tests (clients/typescript): its locked dependencies (npm ci), a check
# that its generated HTTP types are those of schemas/openapi.json, then unit tests (fake
# socket), integration tests against real `tidings` processes (all-in-one, and the
# distributed roles on the Kafka and Cassandra that infra/test.sh starts) and the demo page
# in headless Chromium. Needs the `tidings` binary (TIDINGS_BIN, else target/debug/tidings,
# which `cargo test` builds).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../clients/typescript"
command -v npm >/dev/null || { echo "error: Node.js 20 and npm are needed for the SDK's tests" >&2; exit 1; }
"$here/../browser/install.sh"
npm ci --no-audit --no-fund --loglevel=error
generated="$(mktemp --suffix=.ts)"
trap 'rm -f "$generated"' EXIT
npx --no-install openapi-typescript ../../schemas/openapi.json --output "$generated" >/dev/null
if ! diff -q "$generated" src/generated/openapi.ts >/dev/null; then
    echo "error: src/generated/openapi.ts is not generated from schemas/openapi.json: run npm run generate" >&2
    exit 1
fi
npm test
