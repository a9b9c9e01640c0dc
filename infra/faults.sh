#!/usr/bin/env bash
# The fault-injection suite (issue 10) on this machine: starts Kafka and Cassandra
# (infra/kafka/start.sh, infra/cassandra/start.sh), builds tidings and tidings-bench, then
# runs `tidings-bench faults` against them: a projector kill -9'd every 5 s, the broker
# kill -9'd and started again on its data, Cassandra SIGSTOPped, latency and an outage
# between the projectors and Cassandra; a checker fails the run (exit 1) when anything
# acknowledged was lost, duplicated, skipped by a syncing client, or misordered.
#
#   infra/faults.sh             # 100,000 messages through the projector kills, a 30 s stall
#   infra/faults.sh --bounded   # the CI form: 20,000 messages, a 10 s stall
#   infra/faults.sh --bounded --faults kafka-kill,cassandra-stall   # more flags: tidings-bench faults --help
#
# The table goes to stdout, progress to stderr, JSON to infra/.run/faults/report.json, the
# Tidings processes' logs to infra/.run/faults/logs/<fault>/<role>.log. The engines are those of this checkout (their pid files
# under infra/.run), on the ports of TIDINGS_KAFKA_PORT, TIDINGS_KAFKA_CONTROLLER_PORT,
# TIDINGS_CQL_PORT and TIDINGS_CQL_STORAGE_PORT (defaults as in those scripts); they are
# left running. TIDINGS_FAULTS_PROFILE=debug runs a debug build (default: release).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

kafka_port="${TIDINGS_KAFKA_PORT:-9092}"
kafka_controller_port="${TIDINGS_KAFKA_CONTROLLER_PORT:-9093}"
cql_port="${TIDINGS_CQL_PORT:-9042}"
profile="${TIDINGS_FAULTS_PROFILE:-release}"
case "$profile" in
    release) build=(--release) ;;
    debug) build=() ;;
    *) echo "TIDINGS_FAULTS_PROFILE: release or debug, not $profile" >&2; exit 2 ;;
esac

infra/kafka/start.sh
infra/cassandra/start.sh
# Whatever becomes of the suite, Cassandra must not stay stopped.
trap 'pid="$(cat infra/.run/cassandra/cassandra.pid 2>/dev/null)" && kill -CONT "$pid" 2>/dev/null; true' EXIT
cargo build "${build[@]}" --locked -p tidings -p tidings-bench

out=infra/.run/faults
rm -rf "$out/logs"
mkdir -p "$out"
cat > "$out/engines.toml" <<TOML
# Written by infra/faults.sh: the engines infra/kafka/start.sh and infra/cassandra/start.sh run.
[log]
provider = "kafka"
bootstrap_servers = "127.0.0.1:$kafka_port"
partitions = 8

[store]
provider = "scylla"
nodes = ["127.0.0.1:$cql_port"]
keyspace = "tidings"
TOML
# The engines' and this script's own variables are no Tidings settings (TIDINGS_* configures Tidings).
unset TIDINGS_KAFKA_PORT TIDINGS_KAFKA_CONTROLLER_PORT TIDINGS_CQL_PORT TIDINGS_CQL_STORAGE_PORT TIDINGS_FAULTS_PROFILE
bin="target/$profile"
"$bin/tidings-bench" --config "$out/engines.toml" faults --server "$bin/tidings" --infra-dir infra \
    --kafka-controller-port "$kafka_controller_port" --logs "$out/logs" --json "$out/report.json" "$@"
