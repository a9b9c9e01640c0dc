#!/usr/bin/env bash
# Runs Kafka's own producer benchmark (org.apache.kafka.tools.ProducerPerformance, from
# the kafka-tools jar of the broker's version) against the broker of infra/kafka/start.sh,
# with the producer settings Tidings enforces (acks=all, idempotence). Arguments go to the
# tool, e.g.
#   infra/kafka/producer-perf.sh --topic perf --num-records 100000 --record-size 200 --throughput -1
# Its last line sums up: "N records sent, R records/sec (M MB/sec), A ms avg latency, ...".
# `tidings-bench pipeline --ceilings` runs this to read ingest's rate against it.
set -euo pipefail
# shellcheck source=infra/kafka/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[[ $# -gt 0 ]] || fail "usage: $0 --topic T --num-records N --record-size S --throughput -1 (ProducerPerformance's arguments)"
mkdir -p "$RUN_DIR"
fetch_jars "$KAFKA_INFRA_DIR/tools/pom.xml" "$TOOLS_LIB_DIR" "kafka-tools-*.jar"
exec java -Xmx512m -cp "$TOOLS_LIB_DIR/*" \
    -Dlog4j2.configurationFile="$KAFKA_INFRA_DIR/log4j2.properties" -Dkafka.logs.dir="$RUN_DIR/logs" \
    org.apache.kafka.tools.ProducerPerformance "$@" \
    --command-property "bootstrap.servers=$KAFKA_HOST:$KAFKA_PORT" acks=all enable.idempotence=true
