#!/usr/bin/env bash
# The test command: every test of the workspace, unit, property, fuzz (bounded), conformance
# (embedded and real engines) and end-to-end (the e2e tests start real `tidings` processes
# themselves), then the TypeScript SDK's tests (infra/sdk/test.sh: Node.js and npm, and
# Debian's Chromium, which it installs) and the operator console's browser test
# (infra/console/test.sh). It starts the real engines the tests need, on
# loopback, and leaves them running for the next run (stop them with infra/*/stop.sh).
# Usage: infra/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

infra/install-rust.sh
echo "==> starting Apache Kafka"
infra/kafka/start.sh
echo "==> starting Apache Cassandra (the CQL server)"
infra/cassandra/start.sh
echo "==> preparing the third-party checkers (Python: Avro reader, OpenAPI validator, schemathesis)"
infra/interop/setup.sh
echo "==> cargo test --workspace"
# The fuzz targets (services/tidings-fuzz) replay their corpus, then take random inputs for
# this long each: a bounded run, 11 targets on 2 test threads (infra/fuzz.sh is the long one).
export BOLERO_RANDOM_TEST_TIME_MS="${BOLERO_RANDOM_TEST_TIME_MS:-3000}"
cargo test --workspace --locked "$@"
echo "==> the TypeScript SDK (clients/typescript): unit, integration, and the demo in headless Chromium"
infra/sdk/test.sh
echo "==> the operator console in headless Chromium (tests/console)"
infra/console/test.sh
