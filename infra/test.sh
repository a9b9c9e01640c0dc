#!/usr/bin/env bash
# The test command: every test of the workspace, unit, property, conformance (embedded
# and real engines) and end-to-end (the e2e tests start real `tidings` processes
# themselves), then the TypeScript SDK's tests (infra/sdk/test.sh: Node.js and npm, and
# Debian's Chromium, which it installs). It starts the real engines the tests need, on
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
cargo test --workspace --locked "$@"
echo "==> the TypeScript SDK (clients/typescript): unit, integration, and the demo in headless Chromium"
infra/sdk/test.sh
