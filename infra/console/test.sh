#!/usr/bin/env bash
# The operator console's browser test (tests/console): its locked dependencies (npm ci:
# playwright-core, which downloads no browser), Debian's Chromium (infra/browser/install.sh),
# then the test, which starts a real `tidings all-in-one` on embedded engines. Needs the
# `tidings` binary (TIDINGS_BIN, else target/debug/tidings, which `cargo test` builds).
# CONSOLE_SCREENSHOT=<path.png> also saves the screenshot README shows.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../tests/console"
command -v npm >/dev/null || { echo "error: Node.js 20 and npm are needed for the console's browser test" >&2; exit 1; }
"$here/../browser/install.sh"
npm ci --no-audit --no-fund --loglevel=error
npm test
