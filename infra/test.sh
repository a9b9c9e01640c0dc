#!/usr/bin/env bash
# The test command: every test of the workspace, unit, property, conformance and
# end-to-end (the e2e tests start real `tidings all-in-one` processes themselves).
# Usage: infra/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

infra/install-rust.sh
echo "==> cargo test --workspace"
cargo test --workspace --locked "$@"
