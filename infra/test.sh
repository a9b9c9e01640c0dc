#!/usr/bin/env bash
# The test command: every test of the workspace, unit, property, conformance (embedded
# and real engines) and end-to-end (the e2e tests start real `tidings` processes
# themselves). It starts the real engines the tests need, on loopback, and leaves them
# running for the next run (stop them with infra/*/stop.sh).
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
