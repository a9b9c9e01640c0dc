#!/usr/bin/env bash
# The rebuild rate against the live projector's, on the embedded engines: fills a data
# directory with `tidings-bench pipeline` (2000 users x 25 messages, 10 broadcasts; its
# projector row is the live rate), then `tidings replay rebuild` reads that log into fresh
# data directories with 1 and 4 partitions at once, and `tidings replay verify` compares.
#   infra/bench/rebuild.sh [extra pipeline flags, e.g. --users 4000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cargo build --release --locked -p tidings -p tidings-bench
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
target/release/tidings-bench pipeline --data-dir "$scratch/live" --pull-seconds 2 "$@"
for parallel in 1 4; do
    rm -rf "$scratch/rebuilt"
    target/release/tidings replay rebuild "$scratch/rebuilt" --parallel "$parallel" --data-dir "$scratch/live" 2>/dev/null \
        | sed -n "s/^rebuilt [^:]*: /rebuild, $parallel partition(s) at once: /p"
done
target/release/tidings replay verify "$scratch/rebuilt" --data-dir "$scratch/live" 2>/dev/null
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
