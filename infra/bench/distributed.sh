#!/usr/bin/env bash
# Benchmarks distributed Tidings on this machine: starts Kafka and Cassandra (infra/),
# builds the release benchmark binary, then runs, on infra/bench/local-engines.toml,
#   - `tidings-bench pipeline --ceilings` with 1, then 2 projector instances in one group:
#     ingest -> Kafka, projection Kafka -> CQL, merged pulls from CQL, each beside the
#     engines' raw rates (Kafka's ProducerPerformance, a prepared-insert loop);
#   - `tidings-bench broadcast` for 10k and 100k users: fan-out on write against the
#     public mailbox, then pull storms with the public-mailbox cache on and off.
# Tables go to stdout, progress to stderr, JSON to infra/.run/bench/. Every run writes
# under names of its own (topic prefix, consumer group, keyspace), and drops its keyspace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

infra/kafka/start.sh
infra/cassandra/start.sh
cargo build --release --locked -p tidings-bench

out=infra/.run/bench
mkdir -p "$out"
bench=(target/release/tidings-bench --config infra/bench/local-engines.toml)
for projectors in 1 2; do
    "${bench[@]}" pipeline --users 4000 --ceilings --projectors "$projectors" \
        --json "$out/pipeline-$projectors-projectors.json"
done
"${bench[@]}" broadcast --users 10000,100000 --json "$out/broadcast.json"
